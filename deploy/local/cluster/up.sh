#!/usr/bin/env bash
# Start the local cluster stack for integration tests, beside the single-node stack of
# deploy/local/up.sh and on ports of its own:
#   Apache Kafka, 3 KRaft nodes (broker+controller)  127.0.0.1:19092,19093,19094
#   ZooKeeper, standalone                            127.0.0.1:12181
#   ClickHouse 18.16, cluster `cdrpipe`: one shard, replicas r1 (native 19000, HTTP 18123)
#   and r2 (native 19001, HTTP 18124)
#
# Everything it writes, apart from apt packages and Maven's ~/.m2 cache, lives in
# <repo>/.stack/cluster/ (logs in .stack/logs/cluster-*); the Kafka jars are the single
# node's, .stack/kafka/libs. Safe to run again: running services are left alone.
# Works on a clean Debian 12 machine. See "Cluster stack" in deploy/local/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source-path=SCRIPTDIR source=services.sh
source "$CLUSTER_SRC/services.sh"

START_TS=$SECONDS

mkdir -p "$STACK" "$LOG_DIR" "$CL"
# .stack/ ignores itself, so it stays out of git even without a root .gitignore entry.
[[ -f "$STACK/.gitignore" ]] || printf '*\n' >"$STACK/.gitignore"

cluster_lock

ensure_tools
ensure_clickhouse_installed
# Both Maven downloads before anything starts, so a failure leaves nothing half up.
kafka_libs
zk_libs

# Check every port we are about to bind before starting anything.
busy=0
for svc in "${CL_SERVICES[@]}"; do
  if ! svc_alive "$svc"; then
    svc_ports_free "$svc" || busy=1
  fi
done
((busy == 0)) || die "free the port(s) above, then run up.sh again"

# Format the Kafka nodes before starting any: one shared cluster id, then the three
# formats (a JVM each) side by side.
fmt_pids=()
for n in "${KC_NODES[@]}"; do
  if ! svc_alive "kafka$n" && [[ ! -f "$(kc_dir "$n")/data/meta.properties" ]]; then
    kc_cluster_id >/dev/null
    kc_config "$n"
    kc_format "$n" &
    fmt_pids+=($!)
  fi
done
for p in "${fmt_pids[@]}"; do
  wait "$p" || die "kafka storage format failed"
done

# Start all, then wait for all: the Kafka nodes need each other for a quorum, and the
# ClickHouse servers start without ZooKeeper (their replicated tables wait for it).
started=""
# ZooKeeper first, serving before anything else starts: a ClickHouse 18.16 replica that
# cannot reach it at start gives up its distributed DDL worker for good, and every
# ON CLUSTER statement then waits for that replica until it times out.
svc_start zookeeper
((SVC_STARTED)) && started+=" zookeeper"
svc_wait zookeeper || die "zookeeper did not come up (logs in $LOG_DIR/cluster-zookeeper-*)"
for svc in "${CL_SERVICES[@]}"; do
  [[ $svc == zookeeper ]] && continue
  svc_start "$svc"
  ((SVC_STARTED)) && started+=" $svc"
done

fail=0
for svc in ch1 ch2; do
  svc_wait "$svc" || fail=1
done
# One check for the three nodes: each registered and answering.
deadline=$((SECONDS + WAIT_SECS))
until kc_registered "${KC_NODES[@]}"; do
  for n in "${KC_NODES[@]}"; do
    if ! svc_alive "kafka$n"; then
      log "kafka$n: process exited"
      show_logs "$(kc_log "$n")" "$(kc_stdout "$n")"
      fail=1
    fi
  done
  if ((fail == 0 && SECONDS >= deadline)); then
    log "kafka: the three nodes are not all registered after ${WAIT_SECS}s"
    for n in "${KC_NODES[@]}"; do show_logs "$(kc_log "$n")"; done
    fail=1
  fi
  ((fail == 0)) || break
  sleep 1
done
((fail == 0)) || die "cluster stack did not come up (logs in $LOG_DIR/cluster-*; stop with deploy/local/cluster/down.sh)"

# Both replicas see ZooKeeper and the two-replica cluster (a wrong config shows here, not
# in the first test).
for n in "${CHR_REPLICAS[@]}"; do
  port="$(chr_tcp_port "$n")"
  deadline=$((SECONDS + 30))
  until clickhouse-client --port "$port" -q "SELECT count() FROM system.zookeeper WHERE path = '/'" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { show_logs "$(chr_errlog "$n")"; die "ch$n: cannot reach ZooKeeper at 127.0.0.1:$ZK_PORT"; }
    sleep 0.5
  done
  replicas="$(clickhouse-client --port "$port" -q "SELECT count() FROM system.clusters WHERE cluster = '$CHR_CLUSTER'")"
  [[ "$replicas" == 2 ]] || die "ch$n: cluster $CHR_CLUSTER has $replicas replicas in system.clusters, want 2"
done
# Both replicas run ON CLUSTER statements (their distributed DDL workers are alive).
clickhouse-client --port "$(chr_tcp_port "${CHR_REPLICAS[0]}")" --distributed_ddl_task_timeout=60 \
  -q "CREATE DATABASE IF NOT EXISTS cdrpipe_up_check ON CLUSTER $CHR_CLUSTER" >/dev/null &&
  clickhouse-client --port "$(chr_tcp_port "${CHR_REPLICAS[0]}")" --distributed_ddl_task_timeout=60 \
    -q "DROP DATABASE IF EXISTS cdrpipe_up_check ON CLUSTER $CHR_CLUSTER" >/dev/null ||
  die "the replicas do not all run ON CLUSTER statements (logs in $LOG_DIR/cluster-ch*; restart with deploy/local/cluster/down.sh and up.sh)"

ch_version="$(clickhouse-client --port "$(chr_tcp_port 1)" -q 'SELECT version()' 2>/dev/null || echo '?')"
cat <<EOF
cluster stack is up ($((SECONDS - START_TS))s; started:${started:- nothing, already running})
  kafka      $KAFKA_VERSION, 3 KRaft nodes (broker+controller)  bootstrap $KC_BOOTSTRAP
             controllers $KC_VOTERS  pids $(pid_of "$(kc_pid 1)") $(pid_of "$(kc_pid 2)") $(pid_of "$(kc_pid 3)")
             RF 3, min.insync.replicas 2, 6 partitions per new topic
  zookeeper  $ZK_VERSION standalone  127.0.0.1:$ZK_PORT  pid $(pid_of "$ZK_PID")
  clickhouse $ch_version  cluster $CHR_CLUSTER, shard 01, user default (no password)
             r1 native 127.0.0.1:$(chr_tcp_port 1)  http $(chr_http_port 1)  pid $(pid_of "$(chr_pid 1)")
             r2 native 127.0.0.1:$(chr_tcp_port 2)  http $(chr_http_port 2)  pid $(pid_of "$(chr_pid 2)")
  state      $CL  (logs: $LOG_DIR/cluster-*)
  one node   bash deploy/local/cluster/ctl.sh stop|start|kill|status kafka1|kafka2|kafka3|zookeeper|ch1|ch2
  stop       bash deploy/local/cluster/down.sh   (--purge also deletes the data)
EOF
