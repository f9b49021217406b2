# Install, configure, start, check and stop the services of the cluster stack, one at a
# time; up.sh, down.sh and ctl.sh are loops and single calls over these. Source it (after
# lib.sh); do not run it.
# shellcheck shell=bash

# ---------------------------------------------------------------- prerequisites (as in ../up.sh)

# Wait for a concurrent apt/dpkg run instead of failing on its lock.
APT_GET=(apt-get -o DPkg::Lock::Timeout=300 -y -q)

apt_install() {
  # apt_install PKG...: install Debian packages; refresh the lists once if that fails
  # (a fresh machine may have empty or stale lists).
  log "apt-get install $*"
  if ! DEBIAN_FRONTEND=noninteractive "${APT_GET[@]}" install --no-install-recommends "$@" \
      >"$LOG_DIR/cluster-apt.log" 2>&1; then
    log "install failed; running apt-get update and retrying"
    DEBIAN_FRONTEND=noninteractive "${APT_GET[@]}" update >>"$LOG_DIR/cluster-apt.log" 2>&1 \
      || { tail -n 40 "$LOG_DIR/cluster-apt.log" >&2; die "apt-get update failed"; }
    DEBIAN_FRONTEND=noninteractive "${APT_GET[@]}" install --no-install-recommends "$@" \
      >>"$LOG_DIR/cluster-apt.log" 2>&1 \
      || { tail -n 40 "$LOG_DIR/cluster-apt.log" >&2; die "apt-get install $* failed"; }
  fi
}

ensure_tools() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  command -v curl >/dev/null || missing+=(curl)
  command -v flock >/dev/null || missing+=(util-linux)
  command -v timeout >/dev/null || missing+=(coreutils)
  command -v ss >/dev/null || missing+=(iproute2)
  if ((${#missing[@]})); then
    ((EUID == 0)) || die "missing ${missing[*]}; run as root or install them"
    apt_install "${missing[@]}"
  fi
}

ensure_clickhouse_installed() {
  if command -v clickhouse-server >/dev/null && command -v clickhouse-client >/dev/null; then
    return 0
  fi
  ((EUID == 0)) || die "clickhouse-server missing; run as root or apt-get install clickhouse-server clickhouse-client"
  # The package's postinst would start the Debian system service (ports 9000/8123, the
  # single-node stack's): a policy-rc.d that answers 101 forbids that, as in ../up.sh.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from cdrpipe deploy/local/cluster/up.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=1
  fi
  local rc=0
  ( apt_install clickhouse-server clickhouse-client ) || rc=$?
  if ((added_policy)); then rm -f "$policy"; fi
  ((rc == 0)) || exit "$rc"
  if [[ -x /etc/init.d/clickhouse-server ]] && pgrep -u clickhouse -x clickhouse-serv >/dev/null 2>&1; then
    log "stopping the Debian clickhouse-server service started by apt"
    /etc/init.d/clickhouse-server stop >/dev/null 2>&1 || true
  fi
  command -v clickhouse-server >/dev/null || die "clickhouse-server still missing after apt-get install"
}

# mvn_copy POM DIR MARKER_FILE CHECK_JAR...: assemble the runtime dependencies of POM into
# DIR with Maven, unless MARKER_FILE holds the pom's hash (re-assembled when the pom changes).
mvn_copy() {
  local pom="$1" dir="$2" marker="$3" want jar
  shift 3
  want="$(sha256sum "$pom" | cut -d' ' -f1)"
  [[ -f "$marker" && "$(cat "$marker")" == "$want" ]] && return 0
  log "assembling $(basename "$(dirname "$pom")") from Maven Central into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  if ! mvn -B -q -f "$pom" dependency:copy-dependencies \
      -DoutputDirectory="$dir" -DincludeScope=runtime >"$LOG_DIR/cluster-mvn.log" 2>&1; then
    tail -n 40 "$LOG_DIR/cluster-mvn.log" >&2
    die "mvn dependency:copy-dependencies failed for $pom (log: $LOG_DIR/cluster-mvn.log)"
  fi
  for jar in "$@"; do
    [[ -f "$dir/$jar" ]] || die "$jar missing from $dir after mvn"
  done
  printf '%s\n' "$want" >"$marker"
}

# kafka_libs: the single-node stack's jars in .stack/kafka/libs (../up.sh's kafka_libs,
# same pom, same marker), so the cluster also comes up where `make up` never ran. Under
# ../up.sh's lock, so the two never assemble the directory at the same time.
kafka_libs() {
  local pom="$LOCAL_DIR/kafka/pom.xml" marker="$KAFKA_LIBS/.complete"
  [[ -f "$marker" && "$(cat "$marker")" == "$(sha256sum "$pom" | cut -d' ' -f1)" ]] && return 0
  mkdir -p "$STACK" "$KAFKA_HOME"
  [[ -f "$STACK/.gitignore" ]] || printf '*\n' >"$STACK/.gitignore"
  (
    exec 8>"$STACK/.up.lock"
    flock -w 600 8 || die "../up.sh holds $STACK/.up.lock for too long"
    mvn_copy "$pom" "$KAFKA_LIBS" "$marker" "kafka_2.13-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar"
  ) || exit 1
}

zk_libs() {
  mvn_copy "$CLUSTER_SRC/zookeeper/pom.xml" "$ZK_LIBS" "$ZK_LIBS/.complete" \
    "zookeeper-$ZK_VERSION.jar" "zookeeper-jute-$ZK_VERSION.jar"
}

# ---------------------------------------------------------------- zookeeper

zk_config() {
  mkdir -p "$ZK_DATA"
  sed -e "s|@ZK_DATA@|$ZK_DATA|g" -e "s|@ZK_PORT@|$ZK_PORT|g" "$CLUSTER_SRC/zoo.cfg" >"$ZK_CONF.tmp"
  mv "$ZK_CONF.tmp" "$ZK_CONF"
}

# zk_4lw WORD: send a four-letter word to ZooKeeper and print the answer.
zk_4lw() {
  # shellcheck disable=SC2016  # $1 and $2 are the inner shell's arguments
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "%s" "$2" >&3 && cat <&3' _ "$ZK_PORT" "$1"
}

# ruok answers imok while the server is still loading; srvr reports a mode only once
# it serves.
zk_ready() {
  zk_4lw srvr 2>/dev/null | grep -q '^Mode: standalone'
}

zk_start() {
  zk_libs
  zk_config
  : >>"$ZK_STDOUT"
  # From its own directory (a JVM crash file lands there, not in the caller's directory).
  ( cd "$ZK_HOME" && exec setsid nohup java -Xms64m -Xmx256m -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Dcdrpipe.logs.dir="$LOG_DIR" -Dcdrpipe.log.name=cluster-zookeeper \
      -Dlog4j2.configurationFile="$CLUSTER_SRC/log4j2.properties" \
      -cp "$ZK_LIBS/*" org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZK_CONF" \
      >>"$ZK_STDOUT" 2>&1 </dev/null 9>&- ) &
  record_pid $! "$ZK_PID" "$ZK_MARKER"
}

# ---------------------------------------------------------------- kafka nodes

kc_config() {
  local n="$1" dir
  dir="$(kc_dir "$n")"
  mkdir -p "$dir/data"
  sed -e "s|@NODE_ID@|$n|g" -e "s|@VOTERS@|$KC_VOTERS|g" -e "s|@DATA_DIR@|$dir/data|g" \
    -e "s|@PORT@|$(kc_port "$n")|g" -e "s|@CONTROLLER_PORT@|$(kc_controller_port "$n")|g" \
    "$CLUSTER_SRC/kafka-server.properties" >"$dir/server.properties.tmp"
  mv "$dir/server.properties.tmp" "$dir/server.properties"
}

# kc_cluster_id: one cluster id for the three nodes, made once.
kc_cluster_id() {
  local cid
  if [[ ! -s "$KC_CLUSTER_ID_FILE" ]]; then
    cid="$("${KC_JAVA[@]}" kafka.tools.StorageTool random-uuid 2>>"$LOG_DIR/cluster-kafka-format.log" | tail -n 1)"
    [[ "$cid" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "could not generate a Kafka cluster id (got '$cid')"
    printf '%s\n' "$cid" >"$KC_CLUSTER_ID_FILE"
  fi
  cat "$KC_CLUSTER_ID_FILE"
}

# kc_format N: format node N's storage with the shared cluster id, once. With a static
# quorum (controller.quorum.voters) no --standalone or --initial-controllers is needed.
kc_format() {
  local n="$1" data cid
  data="$(kc_dir "$n")/data"
  [[ -f "$data/meta.properties" ]] && return 0
  cid="$(kc_cluster_id)"
  log "kafka$n: formatting storage in $data (cluster id $cid)"
  if ! "${KC_JAVA[@]}" kafka.tools.StorageTool format -t "$cid" -c "$(kc_conf "$n")" \
      >>"$LOG_DIR/cluster-kafka-format.log" 2>&1; then
    tail -n 40 "$LOG_DIR/cluster-kafka-format.log" >&2
    die "kafka$n: storage format failed"
  fi
}

kc_start() {
  local n="$1" stdout
  stdout="$(kc_stdout "$n")"
  kafka_libs
  kc_config "$n"
  kc_format "$n"
  : >>"$stdout"
  # From the node's directory (a JVM crash file lands there, not in the caller's directory).
  ( cd "$(kc_dir "$n")" && exec setsid nohup java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dcdrpipe.logs.dir="$LOG_DIR" -Dcdrpipe.log.name="cluster-kafka$n" \
      -Dlog4j2.configurationFile="$CLUSTER_SRC/log4j2.properties" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$(kc_conf "$n")" \
      >>"$stdout" 2>&1 </dev/null 9>&- ) &
  record_pid $! "$(kc_pid "$n")" "$(kc_marker "$n")"
}

# kc_registered N...: true if each node N answers an ApiVersions request and is in the
# cluster's metadata (so registered with the controllers and unfenced). Asks the first
# node given. A client JVM costs about a second of CPU, so only once the ports are open.
kc_registered() {
  local n out
  for n in "$@"; do port_open "$(kc_port "$n")" || return 1; done
  [[ -f "$CL/kafka-tools.properties" ]] || kc_tools_config
  out="$(timeout 30 "${KC_JAVA[@]}" org.apache.kafka.tools.BrokerApiVersionsCommand \
    --bootstrap-server "127.0.0.1:$(kc_port "$1")" --command-config "$CL/kafka-tools.properties" 2>/dev/null)" || return 1
  for n in "$@"; do
    grep -qF "127.0.0.1:$(kc_port "$n") (id: $n rack" <<<"$out" || return 1
  done
}

# Client settings of the readiness check: give up on an unreachable node within seconds.
kc_tools_config() {
  printf 'request.timeout.ms=5000\ndefault.api.timeout.ms=10000\nsocket.connection.setup.timeout.max.ms=2000\n' \
    >"$CL/kafka-tools.properties"
}

# ---------------------------------------------------------------- clickhouse replicas

chr_config() {
  local n="$1" dir
  dir="$(chr_dir "$n")"
  mkdir -p "$dir"/{data,tmp,user_files,format_schemas}
  sed -e "s|@N@|$n|g" -e "s|@CH_DIR@|$dir|g" -e "s|@LOG_DIR@|$LOG_DIR|g" \
    -e "s|@TCP_PORT@|$(chr_tcp_port "$n")|g" -e "s|@HTTP_PORT@|$(chr_http_port "$n")|g" \
    -e "s|@INTERSERVER_PORT@|$(chr_interserver_port "$n")|g" -e "s|@ZK_PORT@|$ZK_PORT|g" \
    -e "s|@CLUSTER@|$CHR_CLUSTER|g" \
    -e "s|@R1_TCP_PORT@|$(chr_tcp_port 1)|g" -e "s|@R2_TCP_PORT@|$(chr_tcp_port 2)|g" \
    "$CLUSTER_SRC/clickhouse-config.xml" >"$dir/config.xml.tmp"
  mv "$dir/config.xml.tmp" "$dir/config.xml"
  cp "$CLUSTER_SRC/users.xml" "$dir/users.xml.tmp"
  mv "$dir/users.xml.tmp" "$dir/users.xml"
}

chr_ready() {
  local n="$1"
  clickhouse-client --host 127.0.0.1 --port "$(chr_tcp_port "$n")" -q 'SELECT 1' 2>/dev/null | grep -qx 1 \
    && [[ "$(curl -fsS --max-time 3 "http://127.0.0.1:$(chr_http_port "$n")/ping" 2>/dev/null)" == "Ok." ]]
}

chr_start() {
  local n="$1" dir stdout
  dir="$(chr_dir "$n")"
  stdout="$(chr_stdout "$n")"
  chr_config "$n"
  : >>"$stdout"
  # In the foreground of its own session (not --daemon) so $! is the server's pid.
  ( cd "$dir" && exec setsid nohup clickhouse-server --config-file="$dir/config.xml" \
      >>"$stdout" 2>&1 </dev/null 9>&- ) &
  record_pid $! "$(chr_pid "$n")" "$(chr_marker "$n")"
}

# ---------------------------------------------------------------- one service by name

# svc_ready NAME: one readiness probe (no waiting).
svc_ready() {
  case "$1" in
    zookeeper) zk_ready ;;
    kafka*) kc_registered "${1#kafka}" ;;
    ch*) chr_ready "${1#ch}" ;;
  esac
}

# svc_ports_free NAME: complain about each port of NAME that someone else holds.
svc_ports_free() {
  local port busy=0
  for port in $(svc_ports "$1"); do
    if port_open "$port"; then
      log "$1: port $port is taken by a process that is not ours:"
      port_owner "$port" >&2
      busy=1
    fi
  done
  ((busy == 0))
}

# svc_start NAME: start NAME unless it runs (no waiting). Sets SVC_STARTED=1 if it did.
# shellcheck disable=SC2034  # SVC_STARTED is read by up.sh
svc_start() {
  local name="$1" pidfile
  pidfile="$(svc_pid "$name")"
  SVC_STARTED=0
  if svc_alive "$name"; then
    log "$name: already running (pid $(pid_of "$pidfile"))"
    return 0
  fi
  rm -f "$pidfile"
  svc_ports_free "$name" || die "$name: free the port(s) above first"
  log "$name: starting"
  case "$name" in
    zookeeper) zk_start ;;
    kafka*) kc_start "${name#kafka}" ;;
    ch*) chr_start "${name#ch}" ;;
  esac
  SVC_STARTED=1
}

# svc_wait NAME [SECS]: wait until NAME is ready; on failure show its log tails, return 1.
svc_wait() {
  local name="$1" secs="${2:-$WAIT_SECS}" deadline pid
  deadline=$((SECONDS + secs))
  pid="$(pid_of "$(svc_pid "$name")" || true)"
  until svc_ready "$name" >/dev/null 2>&1; do
    if [[ -z "$pid" ]] || ! pid_ours "$pid" "$(svc_marker "$name")"; then
      log "$name: process ${pid:-?} exited"
      # shellcheck disable=SC2046  # svc_logs is a list of paths without spaces
      show_logs $(svc_logs "$name")
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name: not ready after ${secs}s"
      # shellcheck disable=SC2046
      show_logs $(svc_logs "$name")
      return 1
    fi
    sleep 0.5
  done
}

# svc_signal NAME SIGNAL SECS: send SIGNAL to NAME and wait up to SECS for it to exit;
# returns 1 if it still lives. Only the pid in NAME's pid file, and only if it is ours.
svc_signal() {
  local name="$1" sig="$2" secs="$3" pidfile pid i
  pidfile="$(svc_pid "$name")"
  if ! pid="$(pid_of "$pidfile")"; then
    rm -f "$pidfile"
    return 0
  fi
  if ! pid_ours "$pid" "$(svc_marker "$name")"; then
    rm -f "$pidfile"
    return 0
  fi
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do
    pid_ours "$pid" "$(svc_marker "$name")" || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  return 1
}

# kc_alone N: true if neither of node N's two peers is alive (no controller quorum).
kc_alone() {
  local m
  for m in "${KC_NODES[@]}"; do
    [[ $m == "$1" ]] && continue
    svc_alive "kafka$m" && return 1
  done
  return 0
}

# svc_stop NAME: SIGTERM and wait (STOP_SECS), then SIGKILL.
# A Kafka node's graceful stop is a controlled shutdown: it waits (up to 5 min, not
# configurable) for the controller quorum to acknowledge it. When the node's two peers
# are gone (the last node of down.sh, or the last one left by ctl.sh) no quorum can do
# that, so after KC_ALONE_SECS alone it gets SIGKILL; its logs are recovered at the next
# start.
KC_ALONE_SECS="${CLUSTER_KAFKA_ALONE_SECS:-5}"
svc_stop() {
  local name="$1" pid marker t0=$SECONDS alone_since="" deadline
  marker="$(svc_marker "$name")"
  if ! svc_alive "$name"; then
    log "$name: not running"
    rm -f "$(svc_pid "$name")"
    return 0
  fi
  pid="$(pid_of "$(svc_pid "$name")")"
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_SECS))
  while pid_ours "$pid" "$marker"; do
    if [[ $name == kafka* ]] && kc_alone "${name#kafka}"; then
      alone_since="${alone_since:-$SECONDS}"
      if ((SECONDS - alone_since >= KC_ALONE_SECS)); then
        log "$name: its peers are down, so no controller quorum can acknowledge its controlled shutdown; sending SIGKILL"
        break
      fi
    else
      alone_since=""
    fi
    if ((SECONDS >= deadline)); then
      log "$name: still alive after ${STOP_SECS}s; sending SIGKILL"
      break
    fi
    sleep 0.2
  done
  if pid_ours "$pid" "$marker"; then
    svc_signal "$name" KILL 10 || die "$name: pid $pid would not die"
  fi
  rm -f "$(svc_pid "$name")"
  log "$name: stopped ($((SECONDS - t0))s)"
}

# svc_kill NAME: SIGKILL (a crash, for fault injection), and wait until it is gone.
svc_kill() {
  local name="$1" pid
  if ! svc_alive "$name"; then
    log "$name: not running"
    rm -f "$(svc_pid "$name")"
    return 0
  fi
  pid="$(pid_of "$(svc_pid "$name")")"
  svc_signal "$name" KILL 10 || die "$name: pid $pid would not die"
  log "$name: killed pid $pid"
}

# svc_line NAME: one status line; returns 0 if the process lives and its ports answer.
svc_line() {
  local name="$1" pid proc port ports="" ok=1
  if pid="$(pid_of "$(svc_pid "$name")")" && pid_ours "$pid" "$(svc_marker "$name")"; then
    proc="pid $pid alive"
  else
    proc="not running${pid:+ (stale pid $pid)}"
    ok=0
  fi
  for port in $(svc_ports "$name"); do
    if port_open "$port"; then
      ports+=" $port:open"
    else
      ports+=" $port:closed"
      ok=0
    fi
  done
  printf '%-10s %-4s %-22s ports%s\n' "$name" "$( ((ok)) && echo UP || echo DOWN)" "$proc" "$ports"
  ((ok))
}
