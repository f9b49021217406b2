# Shared helpers for deploy/local/{up,down,status}.sh. Source it; do not run it.
# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this

LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$LOCAL_DIR/../.." && pwd)"
STACK="$REPO_ROOT/.stack"
LOG_DIR="$STACK/logs"

# The Kafka version is the one in kafka/pom.xml (the single place to change it).
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$LOCAL_DIR/kafka/pom.xml")"
KAFKA_HOME="$STACK/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_CONF="$KAFKA_HOME/server.properties"
KAFKA_PID="$STACK/kafka.pid"
KAFKA_LOG="$LOG_DIR/kafka-server.log"
KAFKA_STDOUT="$LOG_DIR/kafka-stdout.log"
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_SASL_PORT=9094 # SASL_SSL: TLS and a user (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)
KAFKA_MTLS_PORT=9095 # SSL with a required client certificate
# The Kafka user of the secured listeners: local test credentials.
KAFKA_USER=cdrpipe
KAFKA_PASSWORD=cdrpipe-kafka-secret

CH_DIR="$STACK/clickhouse"
CH_CONF="$CH_DIR/config.xml"
CH_PID="$STACK/clickhouse.pid"
CH_LOG="$LOG_DIR/clickhouse-server.log"
CH_ERRLOG="$LOG_DIR/clickhouse-server.err.log"
CH_STDOUT="$LOG_DIR/clickhouse-stdout.log"
CH_TCP_PORT=9000
CH_HTTP_PORT=8123

# TLS material for the secure listeners (ClickHouse 9440, Kafka SASL_SSL): a test
# certificate authority that up.sh creates once, a server certificate for localhost and
# 127.0.0.1, and a client certificate.
TLS_DIR="$STACK/tls"
CH_TLS_PORT=9440

# Users of the local ClickHouse besides `default`: a writer and a read-only analyst.
# Local test credentials, documented in deploy/local/README.md.
CH_WRITER=cdrpipe
CH_WRITER_PASSWORD=cdrpipe-local-secret
CH_ANALYST=analyst
CH_ANALYST_PASSWORD=analyst-local-secret

# A current ClickHouse release (PyPI's chdb-core, served by chcurrent/serve.py) for
# the integration tests to run against beside Debian's 18.16.
CHDB_VERSION=26.9.0
CHC_DIR="$STACK/chcurrent"
CHC_VENV="$CHC_DIR/venv"
CHC_CONF="$CHC_DIR/config.xml"
CHC_PID="$STACK/chcurrent.pid"
CHC_STDOUT="$LOG_DIR/chcurrent-stdout.log"
CHC_TCP_PORT=9100

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# pid_of FILE: prints the pid stored in FILE (if the file holds a number).
pid_of() {
  local p
  [[ -f "$1" ]] || return 1
  p="$(tr -dc '0-9' <"$1")"
  [[ -n "$p" ]] || return 1
  printf '%s\n' "$p"
}

# pid_ours PID MARKER: true if PID is alive and its command line contains MARKER
# (guards against a recycled pid belonging to some unrelated process).
pid_ours() {
  local pid="$1" marker="$2"
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

# Markers that identify our processes: both carry a path inside .stack on their command line.
KAFKA_MARKER="$KAFKA_CONF"
CH_MARKER="$CH_CONF"
CHC_MARKER="$CHC_DIR/data"
