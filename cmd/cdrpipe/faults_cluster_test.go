//go:build faults

package main

// Fault tests on the cluster stack (`make up-cluster`): three Kafka nodes
// with topics replicated three times, and two ClickHouse 18.16 replicas
// of one shard, written through clickhouse.cluster. A replica stopped
// while the pipeline writes, or a broker killed while it reads, changes
// nothing in what the replicas end up holding.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/internal/e2e"
)

// clusterRig is a faultRig on the cluster stack, with a connection to
// each replica.
type clusterRig struct {
	*faultRig
	cluster  e2e.Cluster
	replicas []driver.Conn
}

// newClusterRig generates traffic into a topic of the cluster's brokers,
// replicated on all three, for runs that write through every replica.
func newClusterRig(t *testing.T, subscribers, hours int) *clusterRig {
	t.Helper()
	c := e2e.RequireCluster(t)
	f := newRig(t, c.Brokers, strings.Join(c.Replicas, ","), "cdrs_cluster", "CDRPIPE_CLICKHOUSE_CLUSTER="+c.Name)
	r := &clusterRig{faultRig: f, cluster: c}
	for i := range c.Replicas {
		r.replicas = append(r.replicas, c.Replica(t, i))
	}
	f.conn = r.replicas[1] // the replica the tests do not stop
	createReplicatedTopic(t, c.Brokers, f.topic)
	f.generate(subscribers, hours)
	return r
}

// createReplicatedTopic creates topic with 6 partitions on all three
// brokers, before `cdrpipe produce` would create it with one replica.
func createReplicatedTopic(t *testing.T, brokers []string, topic string) {
	t.Helper()
	conn, err := kafka.Dial("tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := kafka.Dial("tcp", fmt.Sprintf("%s:%d", ctrl.Host, ctrl.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if err := cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 6, ReplicationFactor: 3}); err != nil {
		t.Fatal(err)
	}
}

// outcomes reads the outcome on every replica once each has fetched what
// the others wrote.
func (r *clusterRig) outcomes(db string) []map[string][]string {
	r.t.Helper()
	var out []map[string][]string
	for i, conn := range r.replicas {
		e2e.SyncReplica(r.t, conn, db)
		r.conn = conn
		out = append(out, r.outcome(db))
		r.t.Logf("replica %d: %s", i+1, out[i]["plain counts"][0])
	}
	r.conn = r.replicas[1]
	return out
}

// TestFaultClusterReplicaStopped stops one ClickHouse replica while a
// bounded run writes through clickhouse.cluster, and starts it again
// later: the run carries on on the other replica, and once the stopped
// one has caught up both hold exactly what an undisturbed run writes.
func TestFaultClusterReplicaStopped(t *testing.T) {
	r := newClusterRig(t, 60000, 3)
	want := r.reference()
	group, db := e2e.Name("g_rs"), e2e.Name("cdrpipe_rs")
	r.drop(db)
	p := r.runBounded(group, db)
	r.written(db, uint64(r.truth.UniqueValid/4), time.Minute)
	e2e.ControlCluster(t, "stop", "ch1")
	stopped := e2e.Count(t, r.conn, "SELECT count() FROM "+db+".cdrs")
	// Inserts go on to the other replica meanwhile.
	r.written(db, stopped+uint64(r.truth.UniqueValid/10), time.Minute)
	e2e.ControlCluster(t, "start", "ch1")
	r.finish(p, 3*time.Minute)
	t.Logf("ch1 stopped with %d calls written, started again with %d", stopped, e2e.Count(t, r.conn, "SELECT count() FROM "+db+".cdrs"))
	for i, got := range r.outcomes(db) {
		same(t, fmt.Sprintf("replica stopped, replica %d", i+1), want, got)
	}
}

// TestFaultClusterBrokerKilled kills one of the three brokers while a
// bounded run reads: the run carries on with the two others, and nothing
// is lost or counted twice.
func TestFaultClusterBrokerKilled(t *testing.T) {
	r := newClusterRig(t, 60000, 3)
	want := r.reference()
	group, db := e2e.Name("g_bk"), e2e.Name("cdrpipe_bk")
	r.drop(db)
	p := r.runBounded(group, db)
	r.written(db, uint64(r.truth.UniqueValid/4), time.Minute)
	e2e.ControlCluster(t, "kill", "kafka2")
	t.Cleanup(func() { e2e.ControlCluster(t, "start", "kafka2") })
	r.finish(p, 4*time.Minute)
	for i, got := range r.outcomes(db) {
		same(t, fmt.Sprintf("broker killed, replica %d", i+1), want, got)
	}
}
