#!/usr/bin/env bash
# Report whether the local stack (deploy/local/up.sh) is up: for each service, is the
# process in its pid file alive and does its port answer. Exit 0 if all are up, else 1.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

all_up=0

# check NAME PIDFILE MARKER PORT...
check() {
  local name="$1" pidfile="$2" marker="$3" pid proc port ports="" ok=1
  shift 3
  if pid="$(pid_of "$pidfile")" && pid_ours "$pid" "$marker"; then
    proc="pid $pid alive"
  else
    proc="not running${pid:+ (stale pid $pid)}"
    ok=0
  fi
  for port in "$@"; do
    if port_open "$port"; then
      ports+=" $port:open"
    else
      ports+=" $port:closed"
      ok=0
    fi
  done
  printf '%-10s %-4s %-22s ports%s\n' "$name" "$( ((ok)) && echo UP || echo DOWN)" "$proc" "$ports"
  ((ok)) || all_up=1
}

check kafka "$KAFKA_PID" "$KAFKA_MARKER" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
check clickhouse "$CH_PID" "$CH_MARKER" "$CH_TCP_PORT" "$CH_HTTP_PORT"
check ch-current "$CHC_PID" "$CHC_MARKER" "$CHC_TCP_PORT"
if ((all_up == 0)) && [[ "$(curl -fsS --max-time 3 "http://127.0.0.1:$CH_HTTP_PORT/ping" 2>/dev/null)" != "Ok." ]]; then
  echo "clickhouse HTTP /ping does not answer Ok."
  all_up=1
fi
echo "state: $STACK"
exit "$all_up"
