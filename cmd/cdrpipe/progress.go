package main

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// countingReader counts bytes read, for progress against a file's size.
// It may be read on one goroutine and counted on another.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress draws a one-line progress bar on a terminal-like writer.
type progress struct {
	w     io.Writer
	total int64
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, total int64) *progress {
	return &progress{w: w, total: total, start: time.Now()}
}

func (p *progress) update(sent, bytes int64) {
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw(sent, bytes, "\r")
}

func (p *progress) done(sent, bytes int64) { p.draw(sent, bytes, "\r"); fmt.Fprintln(p.w) }

func (p *progress) draw(sent, bytes int64, prefix string) {
	rate := float64(sent) / max(time.Since(p.start).Seconds(), 1e-3)
	if p.total <= 0 {
		fmt.Fprintf(p.w, "%ssent %d messages (%.0f/s)", prefix, sent, rate)
		return
	}
	frac := min(float64(bytes)/float64(p.total), 1)
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(p.w, "%s[%s%s] %3.0f%%  %d messages (%.0f/s)", prefix, strings.Repeat("#", n), strings.Repeat(".", width-n), 100*frac, sent, rate)
}
