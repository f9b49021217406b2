package decode

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/schemas"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// mixLines generates a realistic feed with the traffic package: every
// number form, time form and optional field it writes, plus its
// duplicates, malformed lines and far-future records. It also returns a
// wall clock at which the far-future records are already valid.
func mixLines(tb testing.TB) (lines [][]byte, now time.Time) {
	tb.Helper()
	lines, now, err := traffic.SampleLines(context.Background(), 20000)
	if err != nil {
		tb.Fatalf("generate traffic: %v", err)
	}
	return lines, now
}

// mixOptions are the options the pipeline decodes the generated feed with.
func mixOptions() Options {
	c := config.Default()
	traffic.Configure(&c)
	return OptionsFrom(c)
}

// maxAllocsPerRecord is the allocation budget of the steady path: only
// a new arena chunk every few hundred records.
const maxAllocsPerRecord = 0.05

// TestDecodeAllocs fails when decoding a typical record allocates again.
func TestDecodeAllocs(t *testing.T) {
	lines := [][]byte{
		[]byte(`{"call_id":"c-000123456","caller":"+8613912345678","callee":"13800000001","start_time":"2026-11-29T07:00:03Z",` +
			`"duration":42.5,"ring_duration":5,"disposition":"answered","cause":16,"switch_id":"sw-bj-01","trunk_id":"t9","cell_id":"46000-1234"}`),
		[]byte(`{"caller":"008613912345678","callee":"075512345678","start_time":1795935603123,"answer_time":1795935610000,` +
			`"end_time":1795935620500,"cause":16,"imsi":"460001234567890","imei":"3512345678901234","attestation":"A"}`),
		[]byte(`{"call_id":"a\u00e95","caller":"+86 139 1234 5678","callee":"13800000003","start_time":"2026-11-29T15:00:03.250+08:00",` +
			`"end_time":"2026-11-29 07:00:09","disposition":"no_answer","ring_duration":"6","cell_id":1234}`),
	}
	d := NewDecoder(chinaOptions(time.Hour))
	const perRun = 1000
	allocs := testing.AllocsPerRun(20, func() {
		for i := range perRun {
			if _, err := d.Decode(lines[i%len(lines)], now); err != nil {
				t.Fatal(err)
			}
		}
	})
	if per := allocs / perRun; per > maxAllocsPerRecord {
		t.Errorf("decoding allocates %.3f times per record, want at most %v", per, maxAllocsPerRecord)
	}
}

// TestDecodeMixAllocs checks the same over every valid line of a
// generated feed, so no number, time or field form falls off the
// allocation-free path unnoticed.
func TestDecodeMixAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("generates traffic")
	}
	all, now := mixLines(t)
	d := NewDecoder(mixOptions())
	var valid [][]byte
	for _, l := range all {
		if _, err := d.Decode(l, now); err == nil {
			valid = append(valid, l)
		}
	}
	if len(valid) < len(all)*9/10 {
		t.Fatalf("only %d of %d generated lines decode", len(valid), len(all))
	}
	allocs := testing.AllocsPerRun(3, func() {
		for _, l := range valid {
			d.Decode(l, now) //nolint:errcheck // all valid, checked above
		}
	})
	if per := allocs / float64(len(valid)); per > maxAllocsPerRecord {
		t.Errorf("decoding the mix allocates %.3f times per record, want at most %v", per, maxAllocsPerRecord)
	}
}

// TestDecodedStringsStay keeps every record of a long run (many arena
// chunks, rejects in between, escaped strings) and checks that none of
// their strings changed afterwards.
func TestDecodedStringsStay(t *testing.T) {
	d := NewDecoder(chinaOptions(time.Hour))
	type kept struct {
		c    schemas.CDR
		want string
	}
	var all []kept
	for i := range 5 * chunkSize / 64 {
		in := fmt.Sprintf(`{"call_id":"id-\u00e9%d","caller":"+86139%08d","callee":"0755%08d","start_time":%d,"duration":%d,`+
			`"switch_id":"sw-%d","imsi":"4600%d","cell_id":%d}`, i, i, i*7, 1795935603+i, i%60, i%9, i, i)
		if i%5 == 0 {
			// Rejected after numbers and call_id reached the arena.
			in = fmt.Sprintf(`{"call_id":"bad-%d","caller":"+86139%08d","callee":"13800000001","start_time":1795935603,"cause":999}`, i, i)
		}
		if i%7 == 0 {
			in = fmt.Sprintf(`{"caller":"+86139%08d","callee":"13800000001","start_time":%d}`, i, 1795935603+i)
		}
		c, err := d.Decode([]byte(in), now)
		if err != nil {
			continue
		}
		all = append(all, kept{c, fmt.Sprint(c)})
	}
	if len(all) < 1000 {
		t.Fatalf("only %d records decoded", len(all))
	}
	for _, k := range all {
		if got := fmt.Sprint(k.c); got != k.want {
			t.Fatalf("a kept record changed:\n %s\nwas\n %s", got, k.want)
		}
	}
}

// TestContentKeyStable pins content keys: they are stored in ClickHouse
// (call_key), so a replay after an upgrade must produce the same ones.
// The values were produced by the hash/fnv implementation.
func TestContentKeyStable(t *testing.T) {
	d := NewDecoder(chinaOptions(time.Hour))
	f := func(in, want string) {
		t.Helper()
		c, err := d.Decode([]byte(in), now)
		if err != nil {
			t.Fatalf("Decode(%s): %v", in, err)
		}
		if c.Key != want {
			t.Errorf("Decode(%s).Key = %q, want %q", in, c.Key, want)
		}
	}
	f(`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"duration":3,"disposition":"answered"}`,
		"h:d8beaad514a7b354")
	f(`{"caller":"+14155550100","callee":"075512345678","start_time":"2026-11-29T07:00:03.250Z","duration":42.5,"disposition":"answered"}`,
		"h:e48680354a6ebc11")
	f(`{"caller":"13912345678","callee":"13800000001","start_time":1795935603123,"cause":17}`,
		"h:8f9e37517e5f4610")
}
