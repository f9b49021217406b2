#!/usr/bin/env bash
# Report whether the cluster stack (deploy/local/cluster/up.sh) is up: for each service, is
# the process in its pid file alive and do its ports answer; then ZooKeeper's mode and,
# per ClickHouse replica, whether it reaches ZooKeeper. Exit 0 if all are up, else 1.
# Quick (no JVM is started): Kafka's quorum is `ctl.sh status kafkaN` or
#   java -cp '.stack/kafka/libs/*' org.apache.kafka.tools.MetadataQuorumCommand \
#     --bootstrap-server 127.0.0.1:19092 describe --status
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source-path=SCRIPTDIR source=services.sh
source "$CLUSTER_SRC/services.sh"

rc=0
for svc in "${CL_SERVICES[@]}"; do
  svc_line "$svc" || rc=1
done
if mode="$(zk_4lw srvr 2>/dev/null | sed -n 's/^Mode: //p')" && [[ -n "$mode" ]]; then
  echo "zookeeper mode: $mode"
else
  echo "zookeeper: srvr does not answer"
  rc=1
fi
for n in "${CHR_REPLICAS[@]}"; do
  if svc_alive "ch$n"; then
    if clickhouse-client --port "$(chr_tcp_port "$n")" -q "SELECT count() FROM system.zookeeper WHERE path = '/'" >/dev/null 2>&1; then
      echo "ch$n (replica r$n): reaches zookeeper"
    else
      echo "ch$n (replica r$n): does NOT reach zookeeper (replicated tables read-only)"
      rc=1
    fi
  fi
done
echo "state: $CL"
exit "$rc"
