#!/usr/bin/env bash
# Stop the local stack started by deploy/local/up.sh: only the processes named in
# .stack/*.pid (and only if they still are ours), SIGTERM then SIGKILL after 30 s.
# Data is kept. `down.sh --purge` also deletes .stack/ except the downloaded Kafka
# jars in .stack/kafka/libs (so the next up.sh needs no Maven run); `--purge-all`
# deletes .stack/ entirely.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

PURGE=none
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=data ;;
    --purge-all) PURGE=all ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg (use --purge or --purge-all)" ;;
  esac
done

# stop NAME PIDFILE MARKER
stop() {
  local name="$1" pidfile="$2" marker="$3" pid i
  if ! pid="$(pid_of "$pidfile")"; then
    log "$name: not running (no pid file)"
    rm -f "$pidfile"
    return 0
  fi
  if ! pid_ours "$pid" "$marker"; then
    log "$name: pid $pid is gone; removing stale pid file"
    rm -f "$pidfile"
    return 0
  fi
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    pid_ours "$pid" "$marker" || break
    sleep 0.1
  done
  if pid_ours "$pid" "$marker"; then
    log "$name: still alive after 30 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      pid_ours "$pid" "$marker" || break
      sleep 0.1
    done
  fi
  pid_ours "$pid" "$marker" && die "$name: pid $pid would not die"
  rm -f "$pidfile"
  log "$name: stopped"
}

[[ -d "$STACK" ]] || { log "nothing to stop ($STACK does not exist)"; exit 0; }

# The services do not depend on each other: stop them in parallel.
stop kafka "$KAFKA_PID" "$KAFKA_MARKER" &
k=$!
stop clickhouse "$CH_PID" "$CH_MARKER" &
c=$!
stop current-clickhouse "$CHC_PID" "$CHC_MARKER" &
cc=$!
rc=0
wait "$k" || rc=1
wait "$c" || rc=1
wait "$cc" || rc=1
((rc == 0)) || die "could not stop everything"

case "$PURGE" in
  data)
    log "purging $STACK (keeping downloaded Kafka jars in $KAFKA_LIBS and chdb-core in $CHC_VENV)"
    find "$STACK" -mindepth 1 -maxdepth 1 ! -name kafka ! -name chcurrent ! -name .gitignore -exec rm -rf {} +
    if [[ -d "$KAFKA_HOME" ]]; then
      find "$KAFKA_HOME" -mindepth 1 -maxdepth 1 ! -name libs -exec rm -rf {} +
    fi
    if [[ -d "$CHC_DIR" ]]; then
      find "$CHC_DIR" -mindepth 1 -maxdepth 1 ! -name venv -exec rm -rf {} +
    fi
    ;;
  all)
    log "purging $STACK entirely"
    rm -rf "$STACK"
    ;;
esac
