package repartition

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/pipeline/engine"
	"github.com/cdrpipe/cdrpipe/schemas"
)

func sampleCopies(n int) []Copy {
	at := time.Date(2026, 11, 29, 7, 0, 3, 250e6, time.UTC)
	out := make([]Copy, n)
	for i := range out {
		c := schemas.CDR{CallID: fmt.Sprint("c", i), Key: fmt.Sprint("sw1/c", i), Caller: "+8613900000001",
			Callee: fmt.Sprintf("+86138%08d", i), StartTime: at.Add(time.Duration(i) * time.Second),
			Duration: float64(i % 90), RingDuration: 4.5, Disposition: schemas.Answered, Cause: 16,
			SwitchID: "sw1", TrunkID: "t", IMSI: "460001234567890", IMEI: "35", CellID: "cell", Attestation: "A"}
		if i%3 == 0 {
			c.AnswerTime, c.EndTime = c.StartTime.Add(5*time.Second), c.StartTime.Add(95*time.Second)
		}
		if i%7 == 0 {
			c.Caller, c.Withheld, c.Disposition = "", true, schemas.NoAnswer
		}
		out[i] = Copy{CDR: c, Side: engine.Side(1 + i%2), Late: i%5 == 0, Partition: i % 4, Offset: int64(1000 + i)}
	}
	return out
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	enc := NewEncoder()
	for _, n := range []int{0, 1, 100} {
		want := sampleCopies(n)
		b, err := enc.Encode(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(nil, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n || n > 0 && !reflect.DeepEqual(got, want) {
			t.Fatalf("%d copies: decoded %d, first %+v, want %+v", n, len(got), got[:min(1, len(got))], want[:min(1, n)])
		}
	}
}

func TestDecodeRefusesWhatEncodeDidNotWrite(t *testing.T) {
	b, err := NewEncoder().Encode(sampleCopies(10))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{
		"empty":     nil,
		"json":      []byte(`{"call_id":"x"}`),
		"truncated": b[:len(b)/2],
		"flipped":   append(append([]byte{}, b[:20]...), append([]byte{b[20] ^ 1}, b[21:]...)...),
	} {
		if _, err := Decode(nil, in); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}

func TestMarksRoundTrip(t *testing.T) {
	want := []Mark{{Partition: 0, Frontier: 1764400000}, {Partition: 3, Frontier: -5, Idle: true}, {Partition: 11, Frontier: 7, Done: true, Idle: true}}
	got, err := ParseMarks(FormatMarks(want))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseMarks(FormatMarks) = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"x", "1", "a:1", "1:b", "1:2:z", "-1:2"} {
		if _, err := ParseMarks(bad); err == nil {
			t.Errorf("ParseMarks(%q) accepted", bad)
		}
	}
}

func TestPartitionOfSpreadsNumbers(t *testing.T) {
	counts := make([]int, 12)
	for i := range 12000 {
		counts[PartitionOf(fmt.Sprintf("+86139%08d", i), 12)]++
	}
	for p, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("partition %d got %d of 12000 numbers", p, n)
		}
	}
}

func FuzzDecode(f *testing.F) {
	b, err := NewEncoder().Encode(sampleCopies(3))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		Decode(nil, in) // must not panic
	})
}

func BenchmarkEncode(b *testing.B) {
	copies := sampleCopies(1000)
	enc := NewEncoder()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := enc.Encode(copies); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(copies)), "ns/copy")
}

func BenchmarkDecode(b *testing.B) {
	copies := sampleCopies(1000)
	msg, err := NewEncoder().Encode(copies)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var dst []Copy
	for b.Loop() {
		if dst, err = Decode(dst[:0], msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(copies)), "ns/copy")
	b.ReportMetric(float64(len(msg))/float64(len(copies)), "bytes/copy")
}
