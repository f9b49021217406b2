package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's CPU
// times: 100 on every Linux this runs on.
const clockTicks = 100

// service is a process of the local stack whose CPU a run is charged
// for: the ClickHouse server storing the rows, the broker serving them.
type service struct {
	name string
	pid  int
}

// stackServices finds the local stack's ClickHouse server and broker by
// the pid files `make up` writes under dir (.stack); a service it cannot
// find is left out, and said so.
func stackServices(dir string) []service {
	var out []service
	for _, s := range []struct{ name, file string }{{"clickhouse", "clickhouse.pid"}, {"kafka", "kafka.pid"}} {
		b, err := os.ReadFile(filepath.Join(dir, s.file))
		pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || perr != nil {
			progress("warning: no %s pid in %s: its CPU is not measured", s.name, dir)
			continue
		}
		out = append(out, service{s.name, pid})
	}
	return out
}

// cpu reads the service's user and system CPU so far.
func (s service) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.name, err)
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields after its closing one. utime and stime are fields 14
	// and 15.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: short /proc stat", s.name)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: unreadable /proc stat", s.name)
	}
	return time.Duration(u+st) * time.Second / clockTicks, nil
}

// serviceMeter measures the services' CPU between start and stop.
type serviceMeter struct {
	services []service
	before   []time.Duration
}

func startMeter(services []service) *serviceMeter {
	m := &serviceMeter{services: services}
	for _, s := range services {
		c, _ := s.cpu()
		m.before = append(m.before, c)
	}
	return m
}

// stop returns each service's CPU since start.
func (m *serviceMeter) stop() map[string]time.Duration {
	out := map[string]time.Duration{}
	for i, s := range m.services {
		if c, err := s.cpu(); err == nil {
			out[s.name] = c - m.before[i]
		}
	}
	return out
}
