#!/usr/bin/env bash
# Start the local service stack: Apache Kafka (KRaft, single node) on 127.0.0.1:9092,
# ClickHouse 18.16 on 127.0.0.1:9000 (native) / 8123 (HTTP), and a current ClickHouse
# release (chdb-core from PyPI) on 127.0.0.1:9100 (native) for the tests.
#
# Everything it installs or writes, apart from apt packages and Maven's ~/.m2 cache,
# lives in <repo>/.stack/. Safe to run again: running services are left alone.
# Works on a clean Debian 12 machine (installs what it needs with apt and Maven).
# See deploy/local/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

WAIT_SECS="${STACK_WAIT_SECS:-120}"
START_TS=$SECONDS

mkdir -p "$STACK" "$LOG_DIR"
# .stack/ ignores itself, so it stays out of git even without a root .gitignore entry.
[[ -f "$STACK/.gitignore" ]] || printf '*\n' >"$STACK/.gitignore"

# One up.sh at a time.
exec 9>"$STACK/.up.lock"
flock -w 600 9 || die "another up.sh holds $STACK/.up.lock"

# ---------------------------------------------------------------- prerequisites

# Wait for a concurrent apt/dpkg run instead of failing on its lock.
APT_GET=(apt-get -o DPkg::Lock::Timeout=300 -y -q)

apt_install() {
  # apt_install PKG...: install Debian packages; refresh the lists once if that fails
  # (a fresh machine may have empty or stale lists).
  log "apt-get install $*"
  if ! DEBIAN_FRONTEND=noninteractive "${APT_GET[@]}" install --no-install-recommends "$@" \
      >"$LOG_DIR/apt.log" 2>&1; then
    log "install failed; running apt-get update and retrying"
    DEBIAN_FRONTEND=noninteractive "${APT_GET[@]}" update >>"$LOG_DIR/apt.log" 2>&1 \
      || { tail -n 40 "$LOG_DIR/apt.log" >&2; die "apt-get update failed"; }
    DEBIAN_FRONTEND=noninteractive "${APT_GET[@]}" install --no-install-recommends "$@" \
      >>"$LOG_DIR/apt.log" 2>&1 \
      || { tail -n 40 "$LOG_DIR/apt.log" >&2; die "apt-get install $* failed"; }
  fi
}

apt_install_no_service() {
  # apt_install_no_service PKG...: apt_install, with no system service of theirs started by the
  # packages' postinst: a policy-rc.d that answers 101 forbids that; we only add one if none exists.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from cdrpipe deploy/local/up.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=1
  fi
  local rc=0
  ( apt_install "$@" ) || rc=$?
  if ((added_policy)); then rm -f "$policy"; fi
  ((rc == 0)) || exit "$rc"
}

if [[ $EUID -ne 0 ]]; then
  SUDO_NEEDED=1
else
  SUDO_NEEDED=0
fi

ensure_tools() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  command -v curl >/dev/null || missing+=(curl)
  command -v flock >/dev/null || missing+=(util-linux)
  command -v timeout >/dev/null || missing+=(coreutils)
  if ((${#missing[@]})); then
    ((SUDO_NEEDED == 0)) || die "missing ${missing[*]}; run as root or install them"
    apt_install "${missing[@]}"
  fi
}

ensure_clickhouse_installed() {
  if command -v clickhouse-server >/dev/null && command -v clickhouse-client >/dev/null; then
    return 0
  fi
  ((SUDO_NEEDED == 0)) || die "clickhouse-server missing; run as root or apt-get install clickhouse-server clickhouse-client"
  # The package's postinst runs `invoke-rc.d clickhouse-server start`, which would start a
  # system server on the same ports (as user clickhouse, data in /var/lib/clickhouse).
  apt_install_no_service clickhouse-server clickhouse-client
  # Belt and braces: if a system service got started anyway, stop it (it is not ours).
  if [[ -x /etc/init.d/clickhouse-server ]] && pgrep -u clickhouse -x clickhouse-serv >/dev/null 2>&1; then
    log "stopping the Debian clickhouse-server service started by apt"
    /etc/init.d/clickhouse-server stop >/dev/null 2>&1 || true
  fi
  command -v clickhouse-server >/dev/null || die "clickhouse-server still missing after apt-get install"
}

# ---------------------------------------------------------------- helpers

# wait_until SECS DESCRIPTION PIDFILE MARKER CMD...: retry CMD every second until it
# succeeds; fail if the process dies or SECS pass.
wait_until() {
  local secs="$1" what="$2" pidfile="$3" marker="$4"
  shift 4
  local deadline=$((SECONDS + secs)) pid
  pid="$(pid_of "$pidfile" || true)"
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$pid" ]] && ! pid_ours "$pid" "$marker"; then
      log "$what: process $pid exited"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$what: not ready after ${secs}s"
      return 1
    fi
    sleep 1
  done
}

show_logs() {
  local f
  for f in "$@"; do
    [[ -s "$f" ]] || continue
    printf '\n----- last 40 lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

# port_owner PORT: describes who listens on PORT (for error messages).
port_owner() {
  ss -ltnpH "sport = :$1" 2>/dev/null | head -n 3 || true
}

# running PIDFILE MARKER: true if the pid in PIDFILE is alive and is ours; removes a stale file.
running() {
  local pid
  pid="$(pid_of "$1")" || return 1
  if pid_ours "$pid" "$2"; then
    return 0
  fi
  log "removing stale pid file $1 (pid $pid is gone)"
  rm -f "$1"
  return 1
}

# Prefix to run a Kafka command-line class from .stack/kafka/libs: "${KAFKA_JAVA[@]}" CLASS ARGS...
KAFKA_JAVA=(java -Xmx512m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$LOCAL_DIR/kafka/tools-log4j2.properties" -cp "$KAFKA_LIBS/*")

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

# ---------------------------------------------------------------- kafka

kafka_libs() {
  local pom="$LOCAL_DIR/kafka/pom.xml" marker="$KAFKA_LIBS/.complete" want
  want="$(sha256sum "$pom" | cut -d' ' -f1)"
  if [[ -f "$marker" && "$(cat "$marker")" == "$want" ]]; then
    return 0
  fi
  log "assembling Kafka $KAFKA_VERSION from Maven Central into $KAFKA_LIBS"
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS"
  if ! mvn -B -q -f "$pom" dependency:copy-dependencies \
      -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime >"$LOG_DIR/mvn.log" 2>&1; then
    tail -n 40 "$LOG_DIR/mvn.log" >&2
    die "mvn dependency:copy-dependencies failed (log: $LOG_DIR/mvn.log)"
  fi
  [[ -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" && -f "$KAFKA_LIBS/kafka-tools-$KAFKA_VERSION.jar" ]] \
    || die "Kafka jars missing from $KAFKA_LIBS after mvn"
  printf '%s\n' "$want" >"$marker"
}

kafka_config() {
  mkdir -p "$KAFKA_DATA"
  sed -e "s|@KAFKA_DATA_DIR@|$KAFKA_DATA|g" -e "s|@TLS_DIR@|$TLS_DIR|g" \
    -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@KAFKA_SASL_PORT@|$KAFKA_SASL_PORT|g" -e "s|@KAFKA_MTLS_PORT@|$KAFKA_MTLS_PORT|g" \
    -e "s|@KAFKA_USER@|$KAFKA_USER|g" -e "s|@KAFKA_PASSWORD@|$KAFKA_PASSWORD|g" \
    "$LOCAL_DIR/kafka/server.properties" >"$KAFKA_CONF.tmp"
  mv "$KAFKA_CONF.tmp" "$KAFKA_CONF"
}

# kafka_scram: the SCRAM credentials of the Kafka user, stored in the cluster's
# metadata; once per data directory.
kafka_scram() {
  local marker="$KAFKA_DATA/.scram-$KAFKA_USER"
  [[ -f "$marker" ]] && return 0
  log "adding SCRAM-SHA-256 and SCRAM-SHA-512 credentials for kafka user $KAFKA_USER"
  local mech
  # One mechanism a request: the broker refuses to alter a user twice in one.
  for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
    if ! timeout 60 "${KAFKA_JAVA[@]}" org.apache.kafka.tools.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
        --alter --entity-type users --entity-name "$KAFKA_USER" --add-config "$mech=[password=$KAFKA_PASSWORD]" \
        >>"$LOG_DIR/kafka-scram.log" 2>&1; then
      tail -n 20 "$LOG_DIR/kafka-scram.log" >&2
      die "could not add the $mech credentials (log: $LOG_DIR/kafka-scram.log)"
    fi
  done
  : >"$marker"
}

kafka_format() {
  [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
  local cid
  if [[ -s "$KAFKA_HOME/cluster.id" ]]; then
    cid="$(cat "$KAFKA_HOME/cluster.id")"
  else
    cid="$("${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid 2>>"$LOG_DIR/kafka-format.log" | tail -n 1)"
    [[ "$cid" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "could not generate a Kafka cluster id (got '$cid')"
    printf '%s\n' "$cid" >"$KAFKA_HOME/cluster.id"
  fi
  log "formatting Kafka storage in $KAFKA_DATA (cluster id $cid)"
  if ! "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --standalone -t "$cid" -c "$KAFKA_CONF" \
      >>"$LOG_DIR/kafka-format.log" 2>&1; then
    tail -n 40 "$LOG_DIR/kafka-format.log" >&2
    die "kafka storage format failed"
  fi
}

kafka_ready() {
  port_open "$KAFKA_PORT" || return 1
  timeout 30 "${KAFKA_JAVA[@]}" org.apache.kafka.tools.BrokerApiVersionsCommand \
    --bootstrap-server "127.0.0.1:$KAFKA_PORT" 2>/dev/null | grep -q "(id: 1 rack"
}

start_kafka() {
  if ((KAFKA_RUNNING)); then
    log "kafka already running (pid $(pid_of "$KAFKA_PID"))"
    KAFKA_STARTED=0
  else
    kafka_libs
    kafka_config
    kafka_format
    log "starting kafka"
    : >>"$KAFKA_STDOUT"
    setsid nohup java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true \
      -Dkafka.logs.dir="$LOG_DIR" \
      -Dlog4j2.configurationFile="$LOCAL_DIR/kafka/log4j2.properties" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF" \
      >>"$KAFKA_STDOUT" 2>&1 </dev/null 9>&- &
    record_pid $! "$KAFKA_PID" "$KAFKA_MARKER"
    KAFKA_STARTED=1
  fi
}

# ---------------------------------------------------------------- tls

# tls_material: a test CA, a server certificate (localhost, 127.0.0.1) and a client
# certificate, all PEM, in $TLS_DIR; created once. Kafka reads them as PEM too.
tls_material() {
  [[ -f "$TLS_DIR/.complete" ]] && return 0
  log "creating a test certificate authority and certificates in $TLS_DIR"
  rm -rf "$TLS_DIR"
  mkdir -p "$TLS_DIR"
  (
    cd "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=cdrpipe local test CA" \
      -keyout ca.key -out ca.crt
    for who in server client; do
      local cn=localhost
      [[ $who == client ]] && cn=cdrpipe
      openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$who.key" -out "$who.csr"
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$who.ext"
      openssl x509 -req -in "$who.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$who.ext" -out "$who.crt"
    done
    chmod 600 ./*.key
    # Kafka's PEM keystore: the PKCS#8 key and its certificate in one file.
    cat server.key server.crt >server.pem
    chmod 600 server.pem
  ) >"$LOG_DIR/tls.log" 2>&1 || { tail -n 20 "$LOG_DIR/tls.log" >&2; die "openssl failed (log: $LOG_DIR/tls.log)"; }
  : >"$TLS_DIR/.complete"
}

# ---------------------------------------------------------------- clickhouse

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

clickhouse_config() {
  mkdir -p "$CH_DIR"/{data,tmp,user_files,format_schemas}
  sed -e "s|@CH_DIR@|$CH_DIR|g" -e "s|@LOG_DIR@|$LOG_DIR|g" -e "s|@TLS_DIR@|$TLS_DIR|g" \
    -e "s|@CH_TLS_PORT@|$CH_TLS_PORT|g" \
    "$LOCAL_DIR/clickhouse/config.xml" >"$CH_CONF.tmp"
  mv "$CH_CONF.tmp" "$CH_CONF"
  sed -e "s|@CH_WRITER@|$CH_WRITER|g" -e "s|@CH_WRITER_SHA256@|$(sha256 "$CH_WRITER_PASSWORD")|g" \
    -e "s|@CH_ANALYST@|$CH_ANALYST|g" -e "s|@CH_ANALYST_SHA256@|$(sha256 "$CH_ANALYST_PASSWORD")|g" \
    "$LOCAL_DIR/clickhouse/users.xml" >"$CH_DIR/users.xml"
}

clickhouse_ready() {
  clickhouse-client --host 127.0.0.1 --port "$CH_TCP_PORT" -q 'SELECT 1' 2>/dev/null | grep -qx 1 \
    && [[ "$(curl -fsS --max-time 3 "http://127.0.0.1:$CH_HTTP_PORT/ping" 2>/dev/null)" == "Ok." ]]
}

start_clickhouse() {
  if ((CH_RUNNING)); then
    log "clickhouse already running (pid $(pid_of "$CH_PID"))"
    CH_STARTED=0
  else
    clickhouse_config
    log "starting clickhouse"
    : >>"$CH_STDOUT"
    # Run in the foreground of its own session (not --daemon) so $! is the server's pid.
    ( cd "$CH_DIR" && exec setsid nohup clickhouse-server --config-file="$CH_CONF" \
        >>"$CH_STDOUT" 2>&1 </dev/null 9>&- ) &
    record_pid $! "$CH_PID" "$CH_MARKER"
    CH_STARTED=1
  fi
}

# ---------------------------------------------------------------- current clickhouse

# chcurrent_install: a virtual environment with chdb-core (a 180 MB wheel, once).
chcurrent_install() {
  local marker="$CHC_VENV/.chdb-$CHDB_VERSION"
  [[ -f "$marker" ]] && return 0
  command -v python3 >/dev/null || { ((SUDO_NEEDED == 0)) || die "python3 missing"; apt_install python3 python3-venv; }
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    ((SUDO_NEEDED == 0)) || die "python3 venv missing; apt-get install python3-venv"
    apt_install python3-venv
  fi
  log "installing chdb-core $CHDB_VERSION (ClickHouse, current release) into $CHC_VENV"
  rm -rf "$CHC_VENV"
  python3 -m venv "$CHC_VENV" >"$LOG_DIR/chcurrent-pip.log" 2>&1 || { tail -n 20 "$LOG_DIR/chcurrent-pip.log" >&2; die "python3 -m venv failed"; }
  if ! "$CHC_VENV/bin/pip" install -q --disable-pip-version-check "chdb-core==$CHDB_VERSION" >>"$LOG_DIR/chcurrent-pip.log" 2>&1; then
    tail -n 40 "$LOG_DIR/chcurrent-pip.log" >&2
    die "pip install chdb-core==$CHDB_VERSION failed (log: $LOG_DIR/chcurrent-pip.log)"
  fi
  : >"$marker"
}

chcurrent_ready() {
  clickhouse-client --host 127.0.0.1 --port "$CHC_TCP_PORT" -q 'SELECT 1' 2>/dev/null | grep -qx 1
}

start_chcurrent() {
  if ((CHC_RUNNING)); then
    log "current clickhouse already running (pid $(pid_of "$CHC_PID"))"
    CHC_STARTED=0
    return 0
  fi
  chcurrent_install
  mkdir -p "$CHC_DIR/data"
  sed -e "s|@CHC_TCP_PORT@|$CHC_TCP_PORT|g" -e "s|@LOG_DIR@|$LOG_DIR|g"     "$LOCAL_DIR/chcurrent/config.xml" >"$CHC_CONF.tmp"
  mv "$CHC_CONF.tmp" "$CHC_CONF"
  log "starting current clickhouse (chdb-core $CHDB_VERSION)"
  : >>"$CHC_STDOUT"
  # serve.py runs from the directory of its config.xml, which clickhouse-local reads.
  ( cd "$CHC_DIR" && exec setsid nohup "$CHC_VENV/bin/python" "$LOCAL_DIR/chcurrent/serve.py" "$CHC_DIR/data" \
      >>"$CHC_STDOUT" 2>&1 </dev/null 9>&- ) &
  record_pid $! "$CHC_PID" "$CHC_MARKER"
  CHC_STARTED=1
}

ensure_sip_tools() {
  # Debian's Kamailio (a real SIP proxy with userblocklist and db_text) and SIPp: the
  # test that proves the kamailio export starts its own proxy on loopback ports.
  # kamailio-utils-modules brings http_client, for the lookup against `blocklist serve`.
  if command -v kamailio >/dev/null && command -v kamcmd >/dev/null && command -v sipp >/dev/null \
      && compgen -G "/usr/lib/*/kamailio/modules/http_client.so" >/dev/null; then
    return 0
  fi
  ((SUDO_NEEDED == 0)) || die "kamailio or sipp missing; run as root or apt-get install kamailio kamailio-utils-modules sip-tester"
  apt_install_no_service kamailio kamailio-utils-modules sip-tester
  command -v kamailio >/dev/null && command -v sipp >/dev/null || die "kamailio or sipp still missing after apt-get install"
}

# ---------------------------------------------------------------- main

ensure_tools
ensure_clickhouse_installed
ensure_sip_tools

# Check every port we are about to bind before starting anything.
KAFKA_RUNNING=0; CH_RUNNING=0; CHC_RUNNING=0
running "$KAFKA_PID" "$KAFKA_MARKER" && KAFKA_RUNNING=1
running "$CH_PID" "$CH_MARKER" && CH_RUNNING=1
running "$CHC_PID" "$CHC_MARKER" && CHC_RUNNING=1
busy=0
check_free() {
  # check_free PORT HINT: complain if PORT is taken by someone else.
  if port_open "$1"; then
    log "port $1 is taken by a process that is not ours$2:"
    port_owner "$1" >&2
    busy=1
  fi
}
if ((!KAFKA_RUNNING)); then
  check_free "$KAFKA_PORT" ""
  check_free "$KAFKA_CONTROLLER_PORT" ""
  check_free "$KAFKA_SASL_PORT" ""
  check_free "$KAFKA_MTLS_PORT" ""
fi
if ((!CH_RUNNING)); then
  hint=""
  [[ -x /etc/init.d/clickhouse-server ]] && hint=" (the Debian clickhouse-server service? /etc/init.d/clickhouse-server stop)"
  check_free "$CH_TCP_PORT" "$hint"
  check_free "$CH_HTTP_PORT" "$hint"
fi
((CHC_RUNNING)) || check_free "$CHC_TCP_PORT" ""
((busy == 0)) || die "free the port(s) above, then run up.sh again"

tls_material
start_kafka
start_clickhouse
start_chcurrent

fail=0
if ! wait_until "$WAIT_SECS" clickhouse "$CH_PID" "$CH_MARKER" clickhouse_ready; then
  show_logs "$CH_ERRLOG" "$CH_LOG" "$CH_STDOUT"
  fail=1
fi
if ! wait_until "$WAIT_SECS" kafka "$KAFKA_PID" "$KAFKA_MARKER" kafka_ready; then
  show_logs "$KAFKA_LOG" "$KAFKA_STDOUT"
  fail=1
else
  kafka_scram
fi
if ! wait_until "$WAIT_SECS" "current clickhouse" "$CHC_PID" "$CHC_MARKER" chcurrent_ready; then
  show_logs "$LOG_DIR/chcurrent.err.log" "$CHC_STDOUT"
  fail=1
fi
((fail == 0)) || die "stack did not come up (logs in $LOG_DIR; stop with deploy/local/down.sh)"

ch_version="$(clickhouse-client --host 127.0.0.1 --port "$CH_TCP_PORT" -q 'SELECT version()' 2>/dev/null || echo '?')"
chc_version="$(clickhouse-client --host 127.0.0.1 --port "$CHC_TCP_PORT" -q 'SELECT version()' 2>/dev/null || echo '?')"
started=""
((KAFKA_STARTED)) && started+=" kafka"
((CH_STARTED)) && started+=" clickhouse"
((CHC_STARTED)) && started+=" current-clickhouse"
cat <<EOF
local stack is up ($((SECONDS - START_TS))s; started:${started:- nothing, already running})
  kafka      $KAFKA_VERSION (KRaft)  bootstrap 127.0.0.1:$KAFKA_PORT  controller 127.0.0.1:$KAFKA_CONTROLLER_PORT  pid $(pid_of "$KAFKA_PID")
             SASL_SSL 127.0.0.1:$KAFKA_SASL_PORT (user $KAFKA_USER: PLAIN, SCRAM-SHA-256/512)  SSL with client certificate 127.0.0.1:$KAFKA_MTLS_PORT
  clickhouse $ch_version  native 127.0.0.1:$CH_TCP_PORT  http 127.0.0.1:$CH_HTTP_PORT  user default (no password)  pid $(pid_of "$CH_PID")
             TLS native 127.0.0.1:$CH_TLS_PORT (CA $TLS_DIR/ca.crt)  users $CH_WRITER (writer), $CH_ANALYST (read-only)
  clickhouse $chc_version (current, chdb-core $CHDB_VERSION)  native 127.0.0.1:$CHC_TCP_PORT  user default  pid $(pid_of "$CHC_PID")
  state      $STACK  (logs: $LOG_DIR)
  stop       bash deploy/local/down.sh   (--purge also deletes the data)
EOF
