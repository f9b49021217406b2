#!/usr/bin/env bash
# Stop the cluster stack started by deploy/local/cluster/up.sh: only the processes named in
# .stack/cluster/*.pid (and only if they still are ours), SIGTERM, then SIGKILL after 60 s
# (CLUSTER_STOP_SECS). Data is kept. `down.sh --purge` also deletes .stack/cluster/ except
# the ZooKeeper jars (so the next up.sh needs no Maven run); `--purge-all` deletes
# .stack/cluster/ entirely. The single-node stack and its Kafka jars are never touched.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source-path=SCRIPTDIR source=services.sh
source "$CLUSTER_SRC/services.sh"

PURGE=none
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=data ;;
    --purge-all) PURGE=all ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg (use --purge or --purge-all)" ;;
  esac
done

[[ -d "$CL" ]] || { log "nothing to stop ($CL does not exist)"; exit 0; }
T0=$SECONDS
cluster_lock

# The ClickHouse servers and the Kafka nodes in parallel; ZooKeeper last, so the servers
# shut down with their ZooKeeper session still open instead of retrying to reconnect.
pids=()
for svc in ch1 ch2 kafka1 kafka2 kafka3; do
  svc_stop "$svc" &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do
  wait "$p" || rc=1
done
svc_stop zookeeper || rc=1
((rc == 0)) || die "could not stop everything"
log "cluster stack stopped ($((SECONDS - T0))s)"

case "$PURGE" in
  data)
    log "purging $CL (keeping the ZooKeeper jars in $ZK_LIBS)"
    find "$CL" -mindepth 1 -maxdepth 1 ! -name zookeeper ! -name .lock -exec rm -rf {} +
    if [[ -d "$ZK_HOME" ]]; then
      find "$ZK_HOME" -mindepth 1 -maxdepth 1 ! -name libs -exec rm -rf {} +
    fi
    rm -f "$LOG_DIR"/cluster-*
    ;;
  all)
    log "purging $CL entirely"
    rm -rf "$CL"
    rm -f "$LOG_DIR"/cluster-*
    ;;
esac
