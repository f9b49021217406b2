# Shared helpers for deploy/local/cluster/{up,down,status,ctl}.sh. Source it; do not run it.
#
# The cluster stack runs beside the single-node stack of deploy/local/up.sh, on ports of
# its own, with its state in <repo>/.stack/cluster/. It reuses the single node's Kafka jars
# (.stack/kafka/libs, assembled from deploy/local/kafka/pom.xml) and its helpers in
# deploy/local/lib.sh; what up.sh keeps to itself (kafka_libs, apt_install, wait_until, ...)
# is repeated here, since sourcing up.sh would run it.
# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this

CLUSTER_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$CLUSTER_SRC/../lib.sh"

# Our own prefix, so that a log line says which stack it is about.
log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] ERROR: %s\n' "$*" >&2; exit 1; }

CL="$STACK/cluster"
CL_LOCK="$CL/.lock"
WAIT_SECS="${STACK_WAIT_SECS:-120}"
# How long a graceful stop may take before SIGKILL.
STOP_SECS="${CLUSTER_STOP_SECS:-60}"

# Every service of the cluster, in start order (ctl.sh accepts these names).
CL_SERVICES=(zookeeper kafka1 kafka2 kafka3 ch1 ch2)

# ---------------------------------------------------------------- kafka: 3 KRaft nodes

# Node N (1..3): client port 1909(N+1), controller port 1919(N+1).
KC_NODES=(1 2 3)
kc_port() { echo $((19091 + $1)); }
kc_controller_port() { echo $((19191 + $1)); }
KC_VOTERS="1@127.0.0.1:19192,2@127.0.0.1:19193,3@127.0.0.1:19194"
KC_BOOTSTRAP="127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"
KC_CLUSTER_ID_FILE="$CL/kafka-cluster.id"
kc_dir() { echo "$CL/kafka$1"; }
kc_conf() { echo "$CL/kafka$1/server.properties"; }
kc_pid() { echo "$CL/kafka$1.pid"; }
kc_log() { echo "$LOG_DIR/cluster-kafka$1-server.log"; }
kc_stdout() { echo "$LOG_DIR/cluster-kafka$1-stdout.log"; }
# The marker (see pid_ours) is the node's config path: unique per node and per stack.
kc_marker() { kc_conf "$1"; }

# ---------------------------------------------------------------- zookeeper

# Keep in step with zookeeper/pom.xml.
ZK_VERSION="$(sed -n 's:.*<zookeeper.version>\(.*\)</zookeeper.version>.*:\1:p' "$CLUSTER_SRC/zookeeper/pom.xml")"
ZK_PORT=12181
ZK_HOME="$CL/zookeeper"
ZK_LIBS="$ZK_HOME/libs"
ZK_DATA="$ZK_HOME/data"
ZK_CONF="$ZK_HOME/zoo.cfg"
ZK_PID="$CL/zookeeper.pid"
ZK_LOG="$LOG_DIR/cluster-zookeeper-server.log"
ZK_STDOUT="$LOG_DIR/cluster-zookeeper-stdout.log"
ZK_MARKER="$ZK_CONF"

# ---------------------------------------------------------------- clickhouse: 1 shard, 2 replicas

CHR_CLUSTER=cdrpipe
CHR_REPLICAS=(1 2)
chr_tcp_port() { echo $((18999 + $1)); }          # 19000, 19001
chr_http_port() { echo $((18122 + $1)); }         # 18123, 18124
chr_interserver_port() { echo $((19008 + $1)); }  # 19009, 19010
chr_dir() { echo "$CL/ch$1"; }
chr_conf() { echo "$CL/ch$1/config.xml"; }
chr_pid() { echo "$CL/ch$1.pid"; }
chr_log() { echo "$LOG_DIR/cluster-ch$1-server.log"; }
chr_errlog() { echo "$LOG_DIR/cluster-ch$1-server.err.log"; }
chr_stdout() { echo "$LOG_DIR/cluster-ch$1-stdout.log"; }
chr_marker() { chr_conf "$1"; }

# ---------------------------------------------------------------- services by name

# svc_pid/svc_marker/svc_ports/svc_logs NAME: the pid file, marker, ports and log files
# of one service (kafka1..3, zookeeper, ch1, ch2).
svc_check() {
  case "$1" in
    kafka[123]|zookeeper|ch[12]) return 0 ;;
    *) die "unknown service '$1' (one of: ${CL_SERVICES[*]})" ;;
  esac
}
svc_pid() {
  case "$1" in
    kafka*) kc_pid "${1#kafka}" ;;
    zookeeper) echo "$ZK_PID" ;;
    ch*) chr_pid "${1#ch}" ;;
  esac
}
svc_marker() {
  case "$1" in
    kafka*) kc_marker "${1#kafka}" ;;
    zookeeper) echo "$ZK_MARKER" ;;
    ch*) chr_marker "${1#ch}" ;;
  esac
}
svc_ports() {
  case "$1" in
    kafka*) echo "$(kc_port "${1#kafka}") $(kc_controller_port "${1#kafka}")" ;;
    zookeeper) echo "$ZK_PORT" ;;
    ch*) echo "$(chr_tcp_port "${1#ch}") $(chr_http_port "${1#ch}") $(chr_interserver_port "${1#ch}")" ;;
  esac
}
svc_logs() {
  case "$1" in
    kafka*) echo "$(kc_log "${1#kafka}") $(kc_stdout "${1#kafka}")" ;;
    zookeeper) echo "$ZK_LOG $ZK_STDOUT" ;;
    ch*) echo "$(chr_errlog "${1#ch}") $(chr_log "${1#ch}") $(chr_stdout "${1#ch}")" ;;
  esac
}

# svc_alive NAME: true if the pid in the service's pid file is alive and is ours.
svc_alive() {
  local pid
  pid="$(pid_of "$(svc_pid "$1")")" || return 1
  pid_ours "$pid" "$(svc_marker "$1")"
}

# ---------------------------------------------------------------- helpers (as in ../up.sh)

show_logs() {
  local f
  for f in "$@"; do
    [[ -s "$f" ]] || continue
    printf '\n----- last 40 lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

port_owner() {
  ss -ltnpH "sport = :$1" 2>/dev/null | head -n 3 || true
}

# record_pid PID PIDFILE MARKER: store the server's pid. setsid normally execs in place, so
# $! is the server; if it had to fork instead, look the server up by its command line.
record_pid() {
  local pid="$1"
  for _ in 1 2 3 4 5; do
    pid_ours "$pid" "$3" && break
    sleep 0.2
    pid="$(pgrep -n -f -- "$3" || true)"
    [[ -n "$pid" ]] || pid="$1"
  done
  echo "$pid" >"$2"
}

# cluster_lock: one up/down/ctl start|stop at a time (ctl.sh kill does not wait for it).
# Servers started while it is held get `9>&-` so they do not keep it.
cluster_lock() {
  mkdir -p "$CL" "$LOG_DIR"
  exec 9>"$CL_LOCK"
  flock -w 600 9 || die "another cluster script holds $CL_LOCK"
}

# Prefix to run a Kafka command-line class against the cluster: "${KC_JAVA[@]}" CLASS ARGS...
# Client JVMs: small, quick to start (C1 only, serial GC).
KC_JAVA=(java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$LOCAL_DIR/kafka/tools-log4j2.properties" -cp "$KAFKA_LIBS/*")
