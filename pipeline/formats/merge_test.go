package formats_test

import (
	"testing"

	"github.com/cdrpipe/cdrpipe/pipeline/formats"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// TestAttempts: the answered row of an attempt wins wherever it comes,
// the order of attempts is kept, and rows further apart than the window
// are left to downstream de-duplication.
func TestAttempts(t *testing.T) {
	row := func(key string, d schemas.Disposition) schemas.CDR {
		return schemas.CDR{Key: key, Callee: key, Disposition: d}
	}
	in := []schemas.CDR{
		row("a", schemas.NoAnswer), row("b", schemas.Answered), row("a", schemas.Answered), row("a", schemas.NoAnswer),
		row("c", schemas.Busy), row("d", schemas.Failed), row("e", schemas.Failed), row("f", schemas.Failed),
		row("c", schemas.Answered),
	}
	m := formats.NewAttempts(3)
	var got []string
	emit := func(c *schemas.CDR) error {
		got = append(got, c.Key+":"+c.Disposition.String())
		return nil
	}
	for _, c := range in {
		if err := m.Add(c, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Flush(emit); err != nil {
		t.Fatal(err)
	}
	// c's answered row comes after three other attempts: out of a window
	// of three, so both rows go on.
	want := []string{"a:answered", "b:answered", "c:busy", "d:failed", "e:failed", "f:failed", "c:answered"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if m.Merged != 2 {
		t.Errorf("merged %d, want 2", m.Merged)
	}
}
