package formats

import "github.com/cdrpipe/cdrpipe/schemas"

// Attempts merges the rows a switch writes for one call attempt (the same
// call key): Asterisk writes a row per leg of a parallel dial and per
// Local channel, FreeSWITCH logs some failed calls twice. Downstream, the
// first row of a key wins; reading a file, Attempts can do better and keep
// the answered row, wherever it comes among the attempt's rows. It looks
// back over the last Window records, which a switch writes close
// together; the output keeps the input's order and is a function of it.
type Attempts struct {
	window  int
	pending []schemas.CDR
	at      map[string]int // call key → index in pending, offset by base
	base    int
	// Merged counts the rows folded into an earlier row of their attempt.
	Merged int
}

// NewAttempts returns a merger looking back over window records.
func NewAttempts(window int) *Attempts {
	return &Attempts{window: max(window, 1), at: map[string]int{}}
}

// Add takes the next record; emit gets the records that left the window.
func (a *Attempts) Add(c schemas.CDR, emit func(*schemas.CDR) error) error {
	if i, ok := a.at[c.Key]; ok {
		a.Merged++
		if kept := &a.pending[i-a.base]; c.Answered() && !kept.Answered() {
			*kept = c
		}
		return nil
	}
	a.at[c.Key] = a.base + len(a.pending)
	a.pending = append(a.pending, c)
	if len(a.pending) > a.window {
		return a.emit(1, emit)
	}
	return nil
}

// Flush emits every record still held.
func (a *Attempts) Flush(emit func(*schemas.CDR) error) error {
	return a.emit(len(a.pending), emit)
}

func (a *Attempts) emit(n int, emit func(*schemas.CDR) error) error {
	for i := range n {
		c := &a.pending[i]
		delete(a.at, c.Key)
		if err := emit(c); err != nil {
			return err
		}
	}
	a.pending = append(a.pending[:0], a.pending[n:]...)
	a.base += n
	return nil
}
