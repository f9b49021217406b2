package traffic

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestCallerKey(t *testing.T) {
	f := func(line, want string) {
		t.Helper()
		got := callerKey([]byte(line))
		if string(got) != want || (want == "" && got != nil) {
			t.Errorf("callerKey(%s) = %q, want %q", line, got, want)
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

// TestSlicerBindsAfterGrowth checks messages point at their own line even
// when the arena was reallocated while the slice filled.
func TestSlicerBindsAfterGrowth(t *testing.T) {
	s := newSlicer(3)
	lines := []string{`{"caller":"+861"}`, "  ", strings.Repeat("x", 5000), `{"caller":"2"}`}
	full := false
	for _, l := range lines {
		full = s.add([]byte(l))
	}
	if !full || len(s.msgs) != 3 {
		t.Fatalf("full=%v msgs=%d, want a full slice of 3", full, len(s.msgs))
	}
	s.bind()
	want := []kafka.Message{
		{Key: []byte("+861"), Value: []byte(lines[0])},
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

// FuzzCallerKey checks the key is always a quote- and escape-free piece of
// the line, whatever the line holds.
func FuzzCallerKey(f *testing.F) {
	f.Add([]byte(`{"caller":"+8613912345678"}`))
	f.Add([]byte(`{"caller" :"a\"b","caller":"x"}`))
	f.Add([]byte(`"caller":`))
	f.Fuzz(func(t *testing.T, line []byte) {
		k := callerKey(line)
		if k == nil {
			return
		}
		if len(k) == 0 || bytes.ContainsAny(k, "\"\\") || !bytes.Contains(line, k) {
			t.Fatalf("callerKey(%q) = %q", line, k)
		}
	})
}
