package traffic

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestCallerValue checks the scan for the caller's string.
func TestCallerValue(t *testing.T) {
	callerValue := newKeyScanner(keyFields[KeyCaller]).value
	f := func(line, want string) {
		t.Helper()
		got := callerValue([]byte(line))
		if string(got) != want || (want == "" && got != nil) {
			t.Errorf("callerValue(%s) = %q, want %q", line, got, want)
		}
	}
	f(`{"call_id":"a","caller":"+8613912345678","callee":"1"}`, "+8613912345678")
	f(`{"caller":"13912345678"}`, "13912345678")
	f(`{"caller" : "008613912345678"}`, "008613912345678")
	f(`{"trunk_id":"caller","caller":"075512345678"}`, "075512345678")
	f(`{"callee":"+8613912345678"}`, "")
	f(`{"caller":{"number":"+8613912345678"}}`, "")
	f(`{"caller":"+86139123`, "")
	f(`{"caller":""}`, "")
	f(`{"caller":"a\"b"}`, "")
	f(`{"caller":13912345678}`, "")
	f(``, "")
}

// TestKeyOfEachField checks each --key reads its own field of a line the
// generator writes, and lines without it get no key.
func TestKeyOfEachField(t *testing.T) {
	line := `{"call_id":"1717000000.42","switch_id":"SW-BJ-01","caller":"+8613912345678","caller_noa":"international",` +
		`"callee":"13800000001","callee_noa":"national","start_time":"2026-11-29 15:00:03"}`
	noCallID := `{"switch_id":"SW-SH","caller":"02112345678","callee":"+8613800000002"}`
	noSwitch := `{"call_id":"9","caller":"02112345678","callee":"13800000002"}`
	tests := []struct {
		name       string
		key        Key
		line, want string
	}{
		{"caller's last digits", KeyCaller, line, "45678"},
		{"callee's last digits", KeyCallee, line, "00001"},
		{"switch reads switch_id", KeySwitch, line, "SW-BJ-01"},
		{"call_id", KeyCallID, line, "1717000000.42"},
		{"none", KeyNone, line, ""},
		{"no call_id", KeyCallID, noCallID, ""},
		{"no switch_id", KeySwitch, noSwitch, ""},
		{"callee_noa is not callee", KeyCallee, `{"caller":"1","callee_noa":"national"}`, ""},
		{"caller after caller_noa", KeyCaller, `{"caller_noa":"national","caller":"2"}`, "2"},
		{"withheld caller, its own key", KeyCaller, `{"caller":"anonymous","callee":"1"}`, "anonymous"},
		{"switch_id not switch", KeySwitch, `{"switch":"SW-X","switch_id":"SW-Y"}`, "SW-Y"},
		{"name without a value", KeyCallee, `not json "callee" at all`, ""},
		{"number, not string", KeyCallID, `{"call_id":17}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newKeyScanner(keyFields[tt.key]).key([]byte(tt.line))
			if string(got) != tt.want || (tt.want == "" && got != nil) {
				t.Errorf("key %s of %s = %q, want %q", tt.key, tt.line, got, tt.want)
			}
		})
	}
}

// TestNumberKey checks every form the traffic model writes a number in
// gets the key of its E.164 form.
func TestNumberKey(t *testing.T) {
	tests := []struct {
		forms []string
		want  string
	}{
		{[]string{"+8613912345678", "8613912345678", "008613912345678", "13912345678", "+86 139-1234-5678", "(0086) 139 1234 5678"}, "45678"},
		{[]string{"+8675512345678", "8675512345678", "008675512345678", "075512345678", "75512345678"}, "45678"},
		{[]string{"+442079460000", "00442079460000", "442079460000"}, "60000"},
		{[]string{"+8695588", "95588", "008695588"}, "95588"},
		{[]string{"110", "+110"}, "110"},
		{[]string{"anonymous"}, "anonymous"},
		{[]string{"+"}, "+"},
		{[]string{""}, ""},
	}
	for _, tt := range tests {
		for _, form := range tt.forms {
			got := numberKey([]byte(form))
			if string(got) != tt.want || (tt.want == "" && got != nil) {
				t.Errorf("numberKey(%q) = %q, want %q", form, got, tt.want)
			}
		}
	}
}

// TestKeyFlag checks the names --key accepts, and that the zero Key is
// the caller.
func TestKeyFlag(t *testing.T) {
	var k Key
	if k.String() != "caller" {
		t.Errorf("zero Key = %s, want caller", k)
	}
	for _, name := range []string{"caller", "callee", "switch", "call_id", "none"} {
		if err := k.Set(name); err != nil || k.String() != name {
			t.Errorf("Set(%q) = %v, key %s", name, err, k)
		}
	}
	for _, name := range []string{"", "switch_id", "Caller", "imsi"} {
		if err := k.Set(name); err == nil || !strings.Contains(err.Error(), "want caller, callee") {
			t.Errorf("Set(%q) = %v, want an error naming the keys", name, err)
		}
	}
}

// TestSlicerBindsAfterGrowth checks messages point at their own line even
// when the arena was reallocated while the slice filled.
func TestSlicerBindsAfterGrowth(t *testing.T) {
	s := newSlicer(3, KeyCaller)
	lines := []string{`{"caller":"+8613912345678"}`, "  ", strings.Repeat("x", 5000), `{"caller":"2"}`}
	full := false
	for _, l := range lines {
		full = s.add([]byte(l))
	}
	if !full || len(s.msgs) != 3 {
		t.Fatalf("full=%v msgs=%d, want a full slice of 3", full, len(s.msgs))
	}
	s.bind()
	want := []kafka.Message{
		{Key: []byte("45678"), Value: []byte(lines[0])},
		{Value: []byte(lines[2])},
		{Key: []byte("2"), Value: []byte(lines[3])},
	}
	for i, m := range s.msgs {
		if !bytes.Equal(m.Key, want[i].Key) || !bytes.Equal(m.Value, want[i].Value) {
			t.Errorf("msg %d = %q/%q", i, m.Key, m.Value)
		}
	}
}

func TestProduceConfigErrors(t *testing.T) {
	f := func(cfg ProduceConfig, want string) {
		t.Helper()
		_, err := Produce(context.Background(), cfg, strings.NewReader(""), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Produce(%+v) err = %v, want %q", cfg, err, want)
		}
	}
	f(ProduceConfig{Topic: "cdr"}, "no Kafka brokers")
	f(ProduceConfig{Brokers: []string{"127.0.0.1:9092"}}, "no Kafka topic")
	f(ProduceConfig{Brokers: []string{"127.0.0.1:9092"}, Topic: "cdr", BatchSize: -1}, "negative")
	f(ProduceConfig{Brokers: []string{"127.0.0.1:9092"}, Topic: "cdr", Key: "imsi"}, `key "imsi"`)
}

// TestUnreachableBroker checks Produce gives up with a wrapped error
// when nothing listens, instead of hanging past the context.
func TestUnreachableBroker(t *testing.T) {
	brokers := []string{"127.0.0.1:1"}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	n, err := Produce(ctx, ProduceConfig{Brokers: brokers, Topic: "cdr"}, strings.NewReader("{\"caller\":\"1\"}\n\n"), nil)
	if err == nil || n != 0 || !strings.Contains(err.Error(), "write 1 messages") {
		t.Errorf("Produce = %d, %v", n, err)
	}
}

// FuzzCallerKey checks the caller's value is always a quote- and
// escape-free piece of the line, and its key the value's last digits,
// whatever the line holds.
func FuzzCallerKey(f *testing.F) {
	keys := newKeyScanner(keyFields[KeyCaller])
	f.Add([]byte(`{"caller":"+8613912345678"}`))
	f.Add([]byte(`{"caller" :"a\"b","caller":"x"}`))
	f.Add([]byte(`"caller":`))
	f.Fuzz(func(t *testing.T, line []byte) {
		v, k := keys.value(line), keys.key(line)
		if v == nil {
			if k != nil {
				t.Fatalf("line %q: no value, key %q", line, k)
			}
			return
		}
		if len(v) == 0 || bytes.ContainsAny(v, "\"\\") || !bytes.Contains(line, v) {
			t.Fatalf("value of %q = %q", line, v)
		}
		var digits []byte
		for _, c := range v {
			if c >= '0' && c <= '9' {
				digits = append(digits, c)
			}
		}
		want := digits[max(len(digits)-NumberKeyDigits, 0):]
		if len(digits) == 0 {
			want = v // no number: the value is its own key
		}
		if !bytes.Equal(k, want) {
			t.Fatalf("key of %q = %q, want %q", line, k, want)
		}
	})
}
