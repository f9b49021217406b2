#!/usr/bin/env bash
# Stop, start, kill or check ONE service of the cluster stack, for fault injection in tests:
#   bash deploy/local/cluster/ctl.sh stop|start|kill|status kafka1|kafka2|kafka3|zookeeper|ch1|ch2
#   stop    SIGTERM (a graceful shutdown) and wait until the process is gone; SIGKILL after
#           60 s (CLUSTER_STOP_SECS)
#   kill    SIGKILL (a crash) and wait until the process is gone; never waits for a lock
#   start   start it (unless it runs) and wait until it is ready, up to 120 s (STACK_WAIT_SECS):
#           zookeeper serving; a Kafka node registered and unfenced; ClickHouse answering
#   status  one line; exit 0 if up. For a Kafka node also asks the cluster (a JVM, ~2 s)
# Exit 0 on success; on a failed start the last log lines go to stderr and the exit is 1.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source-path=SCRIPTDIR source=services.sh
source "$CLUSTER_SRC/services.sh"

[[ $# -eq 2 ]] || { sed -n '2,10p' "$0" >&2; exit 2; }
action="$1"
name="$2"
svc_check "$name"

case "$action" in
  kill)
    svc_kill "$name"
    ;;
  stop)
    cluster_lock
    svc_stop "$name"
    ;;
  start)
    cluster_lock
    t0=$SECONDS
    svc_start "$name"
    svc_wait "$name" || die "$name: did not become ready (logs above; $LOG_DIR/cluster-$name-*)"
    log "$name: ready ($((SECONDS - t0))s)"
    ;;
  status)
    svc_line "$name" || exit 1
    if [[ $name == kafka* ]]; then
      if kc_registered "${name#kafka}"; then
        echo "$name: registered and unfenced"
      else
        echo "$name: not registered (fenced, or no quorum)"
        exit 1
      fi
    fi
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
