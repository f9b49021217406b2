#!/usr/bin/env bash
# Stop, kill or start one service of the local stack, for fault tests:
#   bash deploy/local/ctl.sh stop  kafka|clickhouse|ch-current   # SIGTERM, wait until gone
#   bash deploy/local/ctl.sh kill  kafka|clickhouse|ch-current   # SIGKILL, as a crash does
#   bash deploy/local/ctl.sh start kafka|clickhouse|ch-current   # start what is down, wait until ready
# `start` runs up.sh, which leaves running services alone, so it starts
# whichever of them is down.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

[[ $# -eq 2 ]] || { sed -n '2,7p' "$0"; exit 2; }
action="$1" service="$2"
case "$service" in
  kafka) pidfile="$KAFKA_PID" marker="$KAFKA_MARKER" ;;
  clickhouse) pidfile="$CH_PID" marker="$CH_MARKER" ;;
  ch-current) pidfile="$CHC_PID" marker="$CHC_MARKER" ;;
  *) die "unknown service $service (kafka, clickhouse, ch-current)" ;;
esac

# signal SIG: send SIG to the service and wait up to 30 s for it to go.
signal() {
  local pid
  pid="$(pid_of "$pidfile")" || { log "$service: not running"; return 0; }
  pid_ours "$pid" "$marker" || { log "$service: pid $pid is gone"; rm -f "$pidfile"; return 0; }
  kill "-$1" "$pid" 2>/dev/null || true
  for _ in $(seq 300); do
    pid_ours "$pid" "$marker" || { rm -f "$pidfile"; log "$service: gone (SIG$1)"; return 0; }
    sleep 0.1
  done
  die "$service: pid $pid still alive 30 s after SIG$1"
}

case "$action" in
  stop) signal TERM ;;
  kill) signal KILL ;;
  start) exec bash "$LOCAL_DIR/up.sh" ;;
  *) die "unknown action $action (stop, kill, start)" ;;
esac
