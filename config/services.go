package config

import (
	"strings"
	"time"
)

// Metrics controls the Prometheus endpoint of `run`.
type Metrics struct {
	// Addr is host:port for /metrics, /livez and /readyz; empty turns it
	// off.
	Addr string `mapstructure:"addr"`
	// Pprof also serves Go's profiles at /debug/pprof/ on Addr: they show
	// memory and goroutines, so only when asked for.
	Pprof bool `mapstructure:"pprof"`
}

// Kafka says where CDRs come from.
type Kafka struct {
	Brokers []string `mapstructure:"brokers"`
	Topic   string   `mapstructure:"topic"`
	Group   string   `mapstructure:"group"`
	// Format is how the topic's messages are written, one record each:
	// json (the contract), csv, asterisk-csv, freeswitch-csv,
	// freeswitch-json or 3gpp-ber (pipeline/formats).
	Format string `mapstructure:"format"`
	// MaxWait is how long a fetch waits for data before returning less.
	MaxWait time.Duration `mapstructure:"max_wait"`
	// MaxBytes caps one fetch response per partition.
	MaxBytes int `mapstructure:"max_bytes"`
	// TLS encrypts the connections to the brokers (and proves who we are
	// with a client certificate, if the brokers ask for one).
	TLS TLS `mapstructure:"tls"`
	// SASL authenticates to the brokers with a user and password.
	SASL SASL `mapstructure:"sasl"`
	// SessionTimeout is how long the group waits for a silent member
	// before giving its partitions to the others.
	SessionTimeout time.Duration `mapstructure:"session_timeout"`
	// RebalanceTimeout is how long a rebalance waits for the members to
	// write and commit what they processed and rejoin.
	RebalanceTimeout time.Duration `mapstructure:"rebalance_timeout"`
	// StateDir holds the member slots (one small file per process of a
	// group), so a process restarted after a crash makes its dead
	// member leave the group at once; empty is the system's temporary
	// directory.
	StateDir string `mapstructure:"state_dir"`
	// Repartition runs detection in two stages through an internal topic
	// partitioned by number, so that any number of instances gives one
	// instance's flags whatever the producers key their messages by.
	Repartition Repartition `mapstructure:"repartition"`
}

// Repartition configures the internal topic of two-stage detection.
type Repartition struct {
	// Enabled switches two stages on: needed as soon as more than one
	// instance reads a topic not keyed by caller, or callee-side traits
	// (no_callback, call_bombing) matter with more than one instance.
	Enabled bool `mapstructure:"enabled"`
	// Topic is the internal topic; empty means <group>-<topic>-repartition.
	Topic string `mapstructure:"topic"`
	// Partitions of the internal topic, when cdrpipe creates it: the most
	// instances that share the detection.
	Partitions int `mapstructure:"partitions"`
	// Replication of the internal topic, when cdrpipe creates it.
	Replication int `mapstructure:"replication"`
	// Retention of the internal topic, when cdrpipe creates it: longer
	// than a restart may need to re-read (windows, lateness, callback
	// grace).
	Retention time.Duration `mapstructure:"retention"`
}

// InternalTopic is the internal topic of two-stage detection.
func (k Kafka) InternalTopic() string {
	if k.Repartition.Topic != "" {
		return k.Repartition.Topic
	}
	return k.Group + "-" + k.Topic + "-repartition"
}

// DetectGroup is the consumer group of the second stage, which reads the
// internal topic.
func (k Kafka) DetectGroup() string { return k.Group + "-detect" }

// SASL is how to authenticate to Kafka.
type SASL struct {
	// Mechanism is none, plain, scram-sha-256 or scram-sha-512.
	Mechanism string `mapstructure:"mechanism"`
	Username  string `mapstructure:"username"`
	Password  string `mapstructure:"password"`
	// PasswordFile names a file holding the password, instead of Password.
	PasswordFile string `mapstructure:"password_file"`
}

// SASLMechanisms are the values kafka.sasl.mechanism takes.
var SASLMechanisms = []string{"none", "plain", "scram-sha-256", "scram-sha-512"}

// ClickHouse says where results go.
type ClickHouse struct {
	// Addr is host:port of the server, or of a cluster's replicas
	// separated by commas: connections go to the first that answers, so
	// writes carry on while a replica is down.
	Addr string `mapstructure:"addr"`
	// Cluster names the cluster (remote_servers) the database lives on:
	// migrations run ON CLUSTER, tables are Replicated*MergeTree, and a
	// Distributed table <name>_all reads each one over the cluster. Empty
	// for a single server.
	Cluster  string `mapstructure:"cluster"`
	Database string `mapstructure:"database"`
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
	// PasswordFile names a file holding the password (a mounted secret),
	// instead of Password.
	PasswordFile string `mapstructure:"password_file"`
	// TLS talks to the secure native port (9440) over TLS; the files
	// below choose whom to trust and how to prove who we are.
	TLS TLS `mapstructure:"tls"`
	// DialTimeout bounds connecting, so a dead server shows up as a retry.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// DDLTimeout is how long a schema change on a cluster waits for the
	// slowest replica (distributed_ddl_task_timeout), and after an ALTER
	// of a replicated table, for every replica to apply it.
	DDLTimeout time.Duration `mapstructure:"ddl_timeout"`
	// Compression of inserted blocks: lz4, zstd or none. Compressing
	// costs CPU on both ends; it pays only when the network, not the
	// CPU, is what limits (see benchmarks/README.md).
	Compression string `mapstructure:"compression"`
}

// TLS is a TLS client's settings.
type TLS struct {
	// Enabled switches TLS on.
	Enabled bool `mapstructure:"enabled"`
	// CAFile is a PEM file of the authorities to trust instead of the
	// system's.
	CAFile string `mapstructure:"ca_file"`
	// CertFile and KeyFile are a client certificate and its key (PEM), for
	// servers that ask for one.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// ServerName is the name checked in the server's certificate, when it
	// is not the host of the address.
	ServerName string `mapstructure:"server_name"`
}

// Addrs returns the server addresses of Addr.
func (c ClickHouse) Addrs() []string {
	var out []string
	for _, a := range strings.Split(c.Addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
