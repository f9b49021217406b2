package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pollEvery is how often flagged_numbers is polled: the resolution of
// the measured latency.
const pollEvery = 50 * time.Millisecond

// watcher polls flagged_numbers and notes when each planted abuser first
// shows up.
type watcher struct {
	wh     *warehouse
	db     string
	index  map[string]int // planted number → abuser
	mu     sync.Mutex
	seen   []time.Time // per abuser; zero until visible
	nseen  int
	others map[string]bool // flagged fan_out but not planted
	polls  []time.Duration // how long each poll took
	err    error           // what stopped polling early
}

func newWatcher(wh *warehouse, db string, abusers int) *watcher {
	w := &watcher{wh: wh, db: db, index: make(map[string]int, abusers), seen: make([]time.Time, abusers), others: map[string]bool{}}
	for a := range abusers {
		w.index[abuserNumber(a)] = a
	}
	return w
}

// start polls in the background until the returned stop is called;
// stop returns the error that ended polling early, if any.
func (w *watcher) start(ctx context.Context) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.run(ctx); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
	}()
	return func() error {
		cancel()
		<-done
		return w.failed()
	}
}

// failed returns the error that stopped polling, if any.
func (w *watcher) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// run polls until ctx ends. A number's visible time is when the poll that
// first returned it came back: the row may have landed at any moment
// since the poll before, so this errs by up to one poll interval plus the
// query time, on the side of a longer latency.
func (w *watcher) run(ctx context.Context) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		t0 := time.Now()
		nums, err := w.wh.flaggedNumbers(ctx, w.db, "fan_out")
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		w.record(nums, time.Now(), time.Since(t0))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (w *watcher) record(nums []string, at time.Time, took time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.polls = append(w.polls, took)
	for _, n := range nums {
		a, ok := w.index[n]
		switch {
		case !ok:
			w.others[n] = true
		case w.seen[a].IsZero():
			w.seen[a] = at
			w.nseen++
		}
	}
}

// seenCount is how many abusers have shown up so far.
func (w *watcher) seenCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nseen
}

// sightings returns a copy of what was seen, once polling has stopped.
func (w *watcher) sightings() (seen []time.Time, others int, polls []time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.seen...), len(w.others), append([]time.Duration(nil), w.polls...)
}

// monitor reads the child's /healthz and /metrics (metrics.addr).
type monitor struct {
	base   string
	client *http.Client
}

func newMonitor(addr string) *monitor {
	return &monitor{base: "http://" + addr, client: &http.Client{Timeout: 2 * time.Second}}
}

// get fetches path and returns the body.
func (m *monitor) get(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.base+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return b.String(), sc.Err()
}

// metric reads one counter or gauge.
func (m *monitor) metric(ctx context.Context, name string) (int64, error) {
	text, err := m.get(ctx, "/metrics")
	if err != nil {
		return 0, fmt.Errorf("read cdrpipe metrics: %w", err)
	}
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("cdrpipe metrics have no %s", name)
}

// waitFor polls cond until it holds, failing if the child exits or
// timeout passes first.
func waitFor(ctx context.Context, c *child, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not within %s; last lines of %s:\n%s", what, timeout, c.logPath, tail(c.logPath, 15))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.exited():
			return fmt.Errorf("while waiting for %s: %w", what, unexpectedExit(c))
		case <-time.After(pollEvery):
		}
	}
	return nil
}

// unexpectedExit describes a child that exited before it was told to.
func unexpectedExit(c *child) error {
	_, err := c.wait()
	if err == nil {
		err = fmt.Errorf("%s exited with status 0 on its own; last lines of %s:\n%s", c.name, c.logPath, tail(c.logPath, 15))
	}
	return fmt.Errorf("exited before SIGTERM: %w", err)
}

// freeAddr finds a local port for the child's metrics endpoint.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port for metrics.addr: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// settings is the child's effective configuration, key → value, as
// `cdrpipe config` prints it.
type settings map[string]string

// effectiveSettings asks the binary itself what configuration the same
// environment and flags give, so the report states what was measured
// even when CDRPIPE_* variables are set around the harness.
func effectiveSettings(ctx context.Context, bin string, env, flags []string) (settings, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"config"}, flags...)...)
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("%s config: %w: %s", bin, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("%s config: %w", bin, err)
	}
	s := settings{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			s[k] = v
		}
	}
	return s, nil
}

// intValue reads an integer setting.
func (s settings) intValue(key string) (int, error) {
	v, ok := s[key]
	if !ok {
		return 0, fmt.Errorf("cdrpipe config does not print %s", key)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("cdrpipe config: %s is %q, not a whole number", key, v)
	}
	return n, nil
}
