package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// child is a process under measurement: a benchmark runs what it times in
// a process of its own so that the kernel's accounting (peak RSS, CPU
// time) covers exactly that work and nothing of the harness.
type child struct {
	name    string
	cmd     *exec.Cmd
	stdout  bytes.Buffer
	logPath string
	start   time.Time
	done    chan struct{}
	err     error // from Wait; read after done is closed
	wall    time.Duration
	hwm     atomic.Int64 // peak RSS in bytes, from /proc while it runs
}

// usage is what a finished child cost.
type usage struct {
	Wall   time.Duration
	CPU    time.Duration // user + system
	MaxRSS int64         // bytes
}

// stopGrace is how long a child may take to exit after SIGTERM (cdrpipe
// drains for up to 30 s by default) before it is killed.
const stopGrace = 45 * time.Second

// startChild starts path with args, its stderr going to logPath and its
// stdout kept in memory. env is added to the harness's environment. If ctx
// ends, the child gets SIGTERM, then SIGKILL after stopGrace.
func startChild(ctx context.Context, name, logPath string, env []string, path string, args ...string) (*child, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	defer log.Close() // the child has its own descriptor once started
	c := &child{name: name, logPath: logPath, done: make(chan struct{})}
	c.cmd = exec.CommandContext(ctx, path, args...)
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout = &c.stdout
	c.cmd.Stderr = log
	c.cmd.Cancel = func() error { return c.cmd.Process.Signal(syscall.SIGTERM) }
	c.cmd.WaitDelay = stopGrace
	c.start = time.Now()
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, path, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		c.wall = time.Since(c.start)
		close(c.done)
	}()
	go c.watchRSS()
	return c, nil
}

// watchRSS follows the child's peak RSS (VmHWM) until it exits. The
// kernel's rusage figure cannot be used: a forked child starts out
// sharing the harness's pages, so its ru_maxrss is at least the harness's
// own RSS at the fork (1.5 GiB with 20M CDRs of traffic planned), while
// VmHWM counts from the exec. The last poll misses at most its interval.
func (c *child) watchRSS() {
	path := fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if kb, ok := vmHWM(path); ok && kb*1024 > c.hwm.Load() {
			c.hwm.Store(kb * 1024)
		}
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
	}
}

// vmHWM reads the VmHWM line (KiB) of a /proc/PID/status file.
func vmHWM(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

// exited is closed when the child has exited.
func (c *child) exited() <-chan struct{} { return c.done }

// terminate asks the child to stop as an operator would.
func (c *child) terminate() error {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal %s: %w", c.name, err)
	}
	return nil
}

// wait waits for the child and returns its cost. A non-zero exit is an
// error that quotes the end of the child's log.
func (c *child) wait() (usage, error) {
	<-c.done
	u := c.usage()
	if c.err != nil {
		return u, fmt.Errorf("%s failed after %s: %w; last lines of %s:\n%s",
			c.name, c.wall.Round(time.Millisecond), c.err, c.logPath, tail(c.logPath, 15))
	}
	return u, nil
}

// usage reads the kernel's accounting of the finished child.
func (c *child) usage() usage {
	ps := c.cmd.ProcessState
	u := usage{Wall: c.wall}
	if ps == nil {
		return u
	}
	u.CPU = ps.UserTime() + ps.SystemTime()
	u.MaxRSS = c.hwm.Load()
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && u.MaxRSS == 0 {
		u.MaxRSS = ru.Maxrss * 1024 // Linux reports KiB; see watchRSS
	}
	return u
}

// output is what the child wrote to stdout.
func (c *child) output() string { return c.stdout.String() }

// tail returns the last n lines of the file at path, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
