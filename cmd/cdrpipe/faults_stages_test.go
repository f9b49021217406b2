//go:build faults

package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/internal/e2e"
)

// TestFaultTwoStagesThreeInstancesOneKilled runs three instances in two
// stages (kafka.repartition) over a topic its producer did not key, kills
// one with SIGKILL mid-stream and starts it again; once every call is
// stored the three are stopped and one bounded run finishes, as an
// operator's last run would: the flags, the blocklist, the caller stats
// and the plain counts equal those of one instance reading the topic
// whole in one stage, callee-side traits (no_callback, call_bombing)
// included.
func TestFaultTwoStagesThreeInstancesOneKilled(t *testing.T) {
	f := newFaultRig(t, 60000, 3, "--key", "none")
	want := f.reference()
	f.env = append(f.env, "CDRPIPE_KAFKA_REPARTITION_ENABLED=true", "CDRPIPE_KAFKA_REPARTITION_PARTITIONS=6")
	group, db := e2e.Name("g_two"), e2e.Name("cdrpipe_two")
	f.drop(db)
	ps := []*process{f.start(group, db), f.start(group, db), f.start(group, db)}
	f.written(db, uint64(f.truth.UniqueValid/3), 2*time.Minute)
	kill(t, ps[1])
	t.Logf("instance 2 killed after %s", time.Since(ps[1].start).Round(time.Millisecond))
	ps[1] = f.start(group, db)
	f.written(db, uint64(f.truth.UniqueValid), 3*time.Minute)
	for _, p := range ps {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range ps {
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("instance after SIGTERM: %v\n%s", err, p.stderr.String())
		}
		t.Logf("instance stopped: %s", summaryLine(p.stderr.String()))
	}
	f.caughtUp(group, db)
	same(t, "two stages, three instances, one killed", want, f.outcome(db))
}
