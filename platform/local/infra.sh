#!/usr/bin/env bash
# Real single-node Kafka (KRaft) and Elasticsearch on 127.0.0.1, without Docker, for the
# integration tests and the local dev runtime. Both come from Maven Central and run on a JDK.
#
#   platform/local/infra.sh fetch                        # download once into the cache
#   platform/local/infra.sh start   [kafka|es]           # fresh data, wait until ready
#   platform/local/infra.sh stop    [kafka|es]           # stop, wipe data (logs are kept)
#   platform/local/infra.sh restart [kafka|es]
#   platform/local/infra.sh status  [kafka|es]           # exit 0 only if all asked for are up
#   platform/local/infra.sh env                          # KAFKA_BROKERS=... ES_URL=... of what runs
#
# Environment, with defaults:
#   BDP_CACHE             downloads, shared by checkouts   $HOME/.cache/big-data-pipeline
#   BDP_RUN_DIR           configs, pids, logs, data        <repo>/.run/infra
#   KAFKA_PORT 19092   KAFKA_CONTROLLER_PORT 19093   ES_PORT 19200   ES_TRANSPORT_PORT 19300
#   KAFKA_HEAP            "-Xms256m -Xmx512m"
#   ES_HEAP               "-Xms512m -Xmx512m" (ES_JAVA_OPTS, if set, is appended)
#   JAVA_HOME             JDK for both; else /usr/lib/jvm/java-17-openjdk-*, else java on PATH
#   ES_JAVA_HOME          JDK for Elasticsearch only; else the one above
#   BDP_ES_USER           user that runs Elasticsearch when invoked as root   bdp-es
#   BDP_INFRA_TIMEOUT     seconds to wait for readiness                       120
set -euo pipefail

readonly KAFKA_VERSION=3.9.2
readonly ES_VERSION=8.19.21
readonly ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip"
readonly DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1
readonly MARKER=.bdp-fetch-complete
readonly STOP_TIMEOUT=30

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
readonly SCRIPT_DIR REPO_ROOT

abspath() {
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

CACHE_DIR=$(abspath "${BDP_CACHE:-${HOME:?HOME is unset: set BDP_CACHE}/.cache/big-data-pipeline}")
RUN_DIR=$(abspath "${BDP_RUN_DIR:-$REPO_ROOT/.run/infra}")
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
ES_PORT=${ES_PORT:-19200}
ES_TRANSPORT_PORT=${ES_TRANSPORT_PORT:-19300}
KAFKA_HEAP=${KAFKA_HEAP:--Xms256m -Xmx512m}
ES_HEAP=${ES_HEAP:--Xms512m -Xmx512m}
ES_USER=${BDP_ES_USER:-bdp-es}
READY_TIMEOUT=${BDP_INFRA_TIMEOUT:-120}
readonly CACHE_DIR RUN_DIR KAFKA_PORT KAFKA_CONTROLLER_PORT ES_PORT ES_TRANSPORT_PORT \
  KAFKA_HEAP ES_HEAP ES_USER READY_TIMEOUT

readonly KAFKA_HOME=$CACHE_DIR/kafka-$KAFKA_VERSION
readonly ES_INSTALL=$CACHE_DIR/elasticsearch-$ES_VERSION
readonly KAFKA_DIR=$RUN_DIR/kafka
# A directory, or a symlink to one under /tmp when the ES user cannot reach RUN_DIR.
readonly ES_LINK=$RUN_DIR/es

say() { printf 'infra: %s\n' "$*"; }
die() {
  printf 'infra: error: %s\n' "$*" >&2
  exit 1
}
is_root() { [[ $EUID -eq 0 ]]; }
have() { command -v "$1" >/dev/null 2>&1; }
label() { if [[ $1 == es ]]; then echo elasticsearch; else echo "$1"; fi; }

for p in KAFKA_PORT KAFKA_CONTROLLER_PORT ES_PORT ES_TRANSPORT_PORT READY_TIMEOUT; do
  [[ ${!p} =~ ^[0-9]+$ ]] || die "$p must be a number, got '${!p}'"
done

# ---------------------------------------------------------------------------------------------
# Tools

APT_UPDATED=
apt_install() {
  is_root && have apt-get || return 1
  say "installing $* with apt-get"
  if [[ -z $APT_UPDATED ]]; then
    apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# need_cmd COMMAND DEBIAN_PACKAGE
need_cmd() {
  have "$1" && return 0
  apt_install "$2" && have "$1" && return 0
  die "'$1' is required (Debian package '$2')"
}

# The JDK both servers run on. Kafka 3.9 and Elasticsearch 8.19 are both tested on 17.
find_java_home() {
  local j
  if [[ -n ${JAVA_HOME:-} ]]; then
    printf '%s\n' "$JAVA_HOME"
    return 0
  fi
  for j in /usr/lib/jvm/java-17-openjdk-*; do
    if [[ -x $j/bin/java ]]; then
      printf '%s\n' "$j"
      return 0
    fi
  done
  if have java; then
    j=$(readlink -f "$(command -v java)")
    printf '%s\n' "${j%/bin/java}"
    return 0
  fi
  return 1
}

JAVA_HOME_RESOLVED=
resolve_java() {
  [[ -n $JAVA_HOME_RESOLVED ]] && return 0
  if ! JAVA_HOME_RESOLVED=$(find_java_home); then
    apt_install openjdk-17-jre-headless || die "no JDK found: install a JDK 17 or set JAVA_HOME"
    JAVA_HOME_RESOLVED=$(find_java_home) || die "no JDK found after installing openjdk-17-jre-headless"
  fi
  [[ -x $JAVA_HOME_RESOLVED/bin/java ]] || die "no executable java in $JAVA_HOME_RESOLVED/bin"
}

# mvn_quiet LOGFILE ARGS...: Maven in batch mode, its output shown only when it fails.
mvn_quiet() {
  local log=$1
  shift
  if ! mvn -B -q -Dstyle.color=never "$@" >"$log" 2>&1; then
    sed $'s/\x1b\\[[0-9;]*m//g' "$log" | tail -n 40 >&2
    return 1
  fi
}

# unzip_to ZIP DIR, keeping the unix file modes.
unzip_to() {
  if have unzip; then
    unzip -q "$1" -d "$2"
  elif have python3; then
    python3 - "$1" "$2" <<'PY'
import os, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    for info in z.infolist():
        path = z.extract(info, dest)
        mode = (info.external_attr >> 16) & 0o777
        if mode and not info.is_dir():
            os.chmod(path, mode)
PY
  else
    need_cmd unzip unzip
    unzip -q "$1" -d "$2"
  fi
}

# ---------------------------------------------------------------------------------------------
# fetch

lock_cache() {
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/.lock"
  if have flock; then
    flock -w 1800 9 || die "timed out waiting for another fetch into $CACHE_DIR"
  fi
}
unlock_cache() { exec 9>&-; }

fetch_kafka() {
  [[ -f $KAFKA_HOME/$MARKER ]] && return 0
  need_cmd mvn maven
  say "fetching kafka $KAFKA_VERSION (maven) into $KAFKA_HOME"
  local tmp=$KAFKA_HOME.partial
  rm -rf "$tmp" "$KAFKA_HOME"
  mkdir -p "$tmp/libs"
  mvn_quiet "$tmp/mvn.log" -f "$SCRIPT_DIR/kafka/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
    -DoutputDirectory="$tmp/libs" -DincludeScope=runtime -Dkafka.version="$KAFKA_VERSION" ||
    die "maven could not fetch kafka (output above)"
  [[ -f $tmp/libs/kafka_2.13-$KAFKA_VERSION.jar && -f $tmp/libs/slf4j-reload4j-1.7.36.jar ]] ||
    die "kafka jars missing in $tmp/libs after maven"
  rm -f "$tmp/mvn.log"
  mv "$tmp" "$KAFKA_HOME"
  date -u +%FT%TZ >"$KAFKA_HOME/$MARKER"
}

fetch_es() {
  [[ -f $ES_INSTALL/$MARKER ]] && return 0
  need_cmd mvn maven
  say "fetching elasticsearch $ES_VERSION (maven, integ-test-zip) into $ES_INSTALL"
  local tmp=$ES_INSTALL.partial
  rm -rf "$tmp" "$ES_INSTALL"
  mkdir -p "$tmp"
  # copy needs no project; run it where no stray pom.xml can be picked up.
  (cd "$tmp" && mvn_quiet "$tmp/mvn.log" "$DEP_PLUGIN:copy" -Dartifact="$ES_ARTIFACT" -DoutputDirectory="$tmp") ||
    die "maven could not fetch $ES_ARTIFACT (output above)"
  unzip_to "$tmp/elasticsearch-$ES_VERSION.zip" "$tmp"
  local unpacked=$tmp/elasticsearch-$ES_VERSION
  [[ -f $unpacked/bin/elasticsearch && -d $unpacked/lib ]] || die "unexpected zip layout in $tmp"
  # Readable by the unprivileged user that runs it; jar/zip tools may drop the +x bits.
  chmod -R a+rX "$unpacked"
  chmod a+rx "$unpacked"/bin/*
  mv "$unpacked" "$ES_INSTALL"
  rm -rf "$tmp"
  date -u +%FT%TZ >"$ES_INSTALL/$MARKER"
}

fetched() { # component
  if [[ $1 == kafka ]]; then [[ -f $KAFKA_HOME/$MARKER ]]; else [[ -f $ES_INSTALL/$MARKER ]]; fi
}

# fetch [-v] COMPONENT...: -v also says when everything was already in the cache.
fetch() {
  local c t0=$SECONDS verbose=
  local -a missing=()
  if [[ $1 == -v ]]; then
    verbose=1
    shift
  fi
  for c in "$@"; do
    fetched "$c" || missing+=("$c")
  done
  if ((${#missing[@]} == 0)); then
    if [[ -n $verbose ]]; then say "cache up to date: $CACHE_DIR"; fi
    return 0
  fi
  # Only now take the lock (a read-only shared cache needs none); fetch_* re-check under it.
  lock_cache
  for c in "${missing[@]}"; do "fetch_$c"; done
  unlock_cache
  say "fetch done in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------------------------
# Processes

port_listening() {
  if have ss; then
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# pids_matching TEXT: pids whose command line contains TEXT.
pids_matching() {
  local f pid comm
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    # Only JVMs: never this script, a grep or a shell whose arguments mention the path.
    comm=
    read -r comm 2>/dev/null <"/proc/$pid/comm" || true
    [[ $comm == java ]] || continue
    if tr '\0' ' ' <"$f" 2>/dev/null | grep -qF -- "$1 "; then echo "$pid"; fi
  done
}

# Our JVMs are recognised by an argument naming a path of this run dir, so a stale pid file
# never makes us signal a stranger. (ES gets its settings on stdin; ES_TMPDIR is on its command
# line as java.io.tmpdir, and is per run dir unlike es.path.home.)
kafka_marker() { printf '%s\n' "$KAFKA_DIR/server.properties"; }
es_marker() { printf '%s\n' "-Djava.io.tmpdir=$(es_dir)/tmp"; }

# component_pids kafka|es
component_pids() {
  local c=$1 marker pidfile pid
  marker=$("${c}_marker")
  if [[ $c == kafka ]]; then pidfile=$KAFKA_DIR/kafka.pid; else pidfile=$(es_dir)/es.pid; fi
  if [[ -s $pidfile ]]; then
    pid=$(<"$pidfile")
    if [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] &&
      tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker "; then
      echo "$pid"
      return 0
    fi
  fi
  pids_matching "$marker"
}

is_running() { [[ -n $(component_pids "$1") ]]; }

# stop_pids NAME PID...: SIGTERM, up to STOP_TIMEOUT s, then SIGKILL.
stop_pids() {
  local name=$1 pid alive i
  shift
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    alive=0
    for pid in "$@"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    ((alive)) || return 0
    sleep 0.2
  done
  say "$name did not stop within ${STOP_TIMEOUT}s: SIGKILL"
  kill -KILL "$@" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Kafka

kafka_log() { printf '%s\n' "$KAFKA_DIR/kafka.log"; }

write_kafka_config() {
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Generated by platform/local/infra.sh on every start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
# Our code creates its topics; a typo must fail, not create a topic.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
# The defaults (3 replicas) leave a single node without a group coordinator.
offsets.topic.replication.factor=1
# 50 partitions by default: the first consumer-group join is much faster with one.
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
EOF
}

launch_kafka() {
  local java=$JAVA_HOME_RESOLVED/bin/java log cluster_id
  local -a heap
  read -r -a heap <<<"$KAFKA_HEAP"
  log=$(kafka_log)
  rm -rf "$KAFKA_DIR/data"
  mkdir -p "$KAFKA_DIR/data"
  : >"$log"
  rm -f "$KAFKA_DIR/kafka.pid"
  write_kafka_config
  printf 'KAFKA_BROKERS=127.0.0.1:%s\n' "$KAFKA_PORT" >"$KAFKA_DIR/kafka.env"
  local -a jvm=("${heap[@]}" -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_DIR"
    "-Dlog4j.configuration=file:$SCRIPT_DIR/kafka/log4j.properties" -cp "$KAFKA_HOME/libs/*")

  # A KRaft log dir must be formatted before first use; static voters need no --standalone.
  # A random Kafka Uuid in its URL-safe base64 form; one starting with '-' would be read as
  # an option, so draw again (Kafka's own Uuid.randomUuid() refuses those too).
  cluster_id=-
  while [[ $cluster_id == -* ]]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  done
  if ! "$java" "${jvm[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$KAFKA_DIR/server.properties" >>"$log" 2>&1; then
    fail kafka "StorageTool format failed"
  fi

  # setsid: the broker must outlive this script and the caller's process group; the inner
  # shell writes its own pid and then becomes the JVM, so the pid file is right either way.
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' bdp-kafka "$KAFKA_DIR/kafka.pid" \
    "$java" "${jvm[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    kafka.Kafka "$KAFKA_DIR/server.properties" >>"$log" 2>&1 </dev/null &
}

# probes: 0 ready, 1 not yet, 2 failed
kafka_probe() {
  local pid
  [[ -s $KAFKA_DIR/kafka.pid ]] || return 1
  pid=$(<"$KAFKA_DIR/kafka.pid")
  kill -0 "$pid" 2>/dev/null || return 2
  port_listening "$KAFKA_PORT" || return 1
  # 3.9 KRaft prints "[KafkaRaftServer nodeId=1] Kafka Server started".
  grep -qF 'Kafka Server started' "$(kafka_log)" || return 1
}

# ---------------------------------------------------------------------------------------------
# Elasticsearch

es_dir() {
  if [[ -L $ES_LINK ]]; then readlink -- "$ES_LINK"; else printf '%s\n' "$ES_LINK"; fi
}
es_log() { printf '%s\n' "$(es_dir)/logs/bdp-local.log"; }

es_user() { if is_root; then echo "$ES_USER"; else id -un; fi; }

# Elasticsearch refuses to run as root (no override since 5.0): as root, run it as ES_USER.
AS_ES=()
if is_root; then
  if have runuser; then
    AS_ES=(runuser -u "$ES_USER" --)
  else
    AS_ES=(setpriv --reuid="$ES_USER" --regid="$ES_USER" --init-groups --)
  fi
fi
run_as_es() { ${AS_ES[@]+"${AS_ES[@]}"} "$@"; }

ensure_es_user() {
  is_root || return 0
  id -u "$ES_USER" >/dev/null 2>&1 && return 0
  need_cmd useradd passwd
  local shell=/usr/sbin/nologin
  [[ -x $shell ]] || shell=/bin/false
  say "creating system user $ES_USER to run elasticsearch"
  # A concurrent start may create it first.
  useradd --system --create-home --shell "$shell" "$ES_USER" 2>/dev/null ||
    id -u "$ES_USER" >/dev/null 2>&1 || die "could not create user $ES_USER"
}

remove_es_dir() {
  local dir
  if [[ -L $ES_LINK ]]; then
    dir=$(readlink -- "$ES_LINK")
    # Only ever a directory we made with mktemp.
    if [[ $dir == */bdp-es.* ]]; then rm -rf -- "$dir"; fi
    rm -f -- "$ES_LINK"
  else
    rm -rf -- "$ES_LINK"
  fi
}

# Fresh per-start directory: config copy, data, logs, tmp, pid file, all owned by the ES user.
# When RUN_DIR is not reachable by that user (e.g. a checkout under /root), it lives in /tmp
# behind the symlink RUN_DIR/es.
prepare_es_dir() {
  local dir user
  user=$(es_user)
  remove_es_dir
  if run_as_es test -x "$RUN_DIR"; then
    dir=$ES_LINK
    mkdir -p "$dir"
  else
    dir=$(mktemp -d /tmp/bdp-es.XXXXXX)
    chmod 755 "$dir"
    ln -s "$dir" "$ES_LINK"
  fi
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp"
  cp -R "$ES_INSTALL/config" "$dir/config"
  chown -R "$user:" "$dir"
  # The install in the cache stays read-only to ES. If the ES user cannot read it (the default
  # cache is under /root), hard-link it next to the data (no copy on one filesystem).
  if run_as_es test -r "$ES_INSTALL/lib/elasticsearch-$ES_VERSION.jar"; then
    ES_HOME_USED=$ES_INSTALL
  else
    ES_HOME_USED=$dir/home
    cp -al "$ES_INSTALL" "$ES_HOME_USED" 2>/dev/null || {
      rm -rf "$ES_HOME_USED"
      cp -a "$ES_INSTALL" "$ES_HOME_USED"
    }
  fi
}

ES_LAUNCHER_PID=
launch_es() {
  local dir es_java_home
  ensure_es_user
  prepare_es_dir
  dir=$(es_dir)
  es_java_home=${ES_JAVA_HOME:-$JAVA_HOME_RESOLVED}
  printf 'ES_URL=http://127.0.0.1:%s\n' "$ES_PORT" >"$RUN_DIR/es.env"
  # -d: the CLI returns once the node has started (or failed); the node writes its own pid.
  # env after runuser/setpriv, which may reset the environment. JAVA_HOME is dropped so
  # elasticsearch-env does not warn that it ignores it. The CLI's own tmpdir keeps its
  # final-flags* probe directories out of /tmp.
  setsid ${AS_ES[@]+"${AS_ES[@]}"} env -u JAVA_HOME ES_JAVA_HOME="$es_java_home" \
    ES_JAVA_OPTS="$ES_HEAP${ES_JAVA_OPTS:+ $ES_JAVA_OPTS}" \
    ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
    CLI_JAVA_OPTS="-Djava.io.tmpdir=$dir/tmp${CLI_JAVA_OPTS:+ $CLI_JAVA_OPTS}" \
    "$ES_HOME_USED/bin/elasticsearch" -d -p "$dir/es.pid" \
    -Ecluster.name=bdp-local \
    -Ediscovery.type=single-node \
    -Enetwork.host=127.0.0.1 \
    -Ehttp.port="$ES_PORT" \
    -Etransport.port="$ES_TRANSPORT_PORT" \
    -Expack.security.enabled=false \
    -Ecluster.routing.allocation.disk.threshold_enabled=false \
    -Eaction.destructive_requires_name=false \
    -Epath.data="$dir/data" \
    -Epath.logs="$dir/logs" \
    >"$dir/launcher.log" 2>&1 </dev/null &
  ES_LAUNCHER_PID=$!
}

es_probe() {
  local dir rc=0
  dir=$(es_dir)
  if [[ -n $ES_LAUNCHER_PID ]] && ! kill -0 "$ES_LAUNCHER_PID" 2>/dev/null; then
    wait "$ES_LAUNCHER_PID" || rc=$?
    ES_LAUNCHER_PID=
    ((rc == 0)) || return 2
  fi
  if [[ -z $ES_LAUNCHER_PID ]] && ! is_running es; then return 2; fi
  [[ -s $dir/es.pid ]] || return 1
  curl -sf -m 10 -o /dev/null \
    "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=5s" || return 1
}

# ---------------------------------------------------------------------------------------------
# Commands

STARTING=()

# fail COMPONENT REASON: show the end of its log, stop what this start launched, exit 1.
fail() {
  local c=$1 f
  printf 'infra: error: %s %s\n' "$(label "$c")" "$2" >&2
  if [[ $c == kafka ]]; then
    set -- "$(kafka_log)"
  else
    set -- "$(es_dir)/launcher.log" "$(es_log)"
  fi
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf -- '----- last 40 lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
  stop_starting
  exit 1
}

# Stops what this start launched. The ES CLI may not have spawned the node yet, so its
# whole process group goes too.
stop_starting() {
  trap - INT TERM
  if [[ -n $ES_LAUNCHER_PID ]]; then kill -TERM -- "-$ES_LAUNCHER_PID" 2>/dev/null || true; fi
  cmd_stop "${STARTING[@]}" >/dev/null
}

abort() {
  printf 'infra: start interrupted; stopping what it started\n' >&2
  stop_starting
  exit 130
}

check_ports_free() { # component
  local name port
  if [[ $1 == kafka ]]; then set -- KAFKA_PORT KAFKA_CONTROLLER_PORT; else set -- ES_PORT ES_TRANSPORT_PORT; fi
  for name in "$@"; do
    port=${!name}
    if port_listening "$port"; then
      die "port $port ($name) is already in use by another process; stop it or choose another $name"
    fi
  done
}

wait_ready() { # components...
  local t0=$SECONDS c rc
  local -a pending=("$@") still
  while ((${#pending[@]})); do
    still=()
    for c in "${pending[@]}"; do
      rc=0
      "${c}_probe" || rc=$?
      case $rc in
        0) say "$(label "$c") ready in $((SECONDS - t0))s" ;;
        1) still+=("$c") ;;
        *) fail "$c" "exited during startup" ;;
      esac
    done
    pending=(${still[@]+"${still[@]}"})
    if ((${#pending[@]})); then
      ((SECONDS - t0 < READY_TIMEOUT)) || fail "${pending[0]}" "not ready after ${READY_TIMEOUT}s"
      sleep 0.5
    fi
  done
}

cmd_start() { # components...
  local c
  for c in "$@"; do
    if is_running "$c"; then
      die "$(label "$c") is already running from $RUN_DIR; use 'stop' or 'restart'"
    fi
    check_ports_free "$c"
  done
  fetch "$@"
  resolve_java
  if [[ " $* " == *" es "* ]]; then need_cmd curl curl; fi
  have setsid || die "'setsid' (util-linux) is required"
  mkdir -p "$RUN_DIR" "$KAFKA_DIR"
  # Both servers want many file descriptors (ES warns below 65535); inherited by the JVMs.
  ulimit -n 65535 2>/dev/null || true
  # Keep the run dir out of git without touching the repo's .gitignore.
  [[ -f $RUN_DIR/.gitignore ]] || echo '*' >"$RUN_DIR/.gitignore"
  STARTING=("$@")
  trap abort INT TERM
  # Elasticsearch first: it is the slower one, and Kafka's format step overlaps with it.
  for c in es kafka; do
    if [[ " $* " == *" $c "* ]]; then
      if [[ $c == es ]]; then
        say "starting elasticsearch $ES_VERSION (java: ${ES_JAVA_HOME:-$JAVA_HOME_RESOLVED})"
      else
        say "starting kafka $KAFKA_VERSION (java: $JAVA_HOME_RESOLVED)"
      fi
      "launch_$c"
    fi
  done
  wait_ready "$@"
  trap - INT TERM
  for c in "$@"; do
    if [[ $c == kafka ]]; then
      say "kafka bootstrap: 127.0.0.1:$KAFKA_PORT   (log $(kafka_log))"
    else
      say "elasticsearch:   http://127.0.0.1:$ES_PORT   (log $(es_log))"
    fi
  done
}

clean_data() { # component
  local dir
  if [[ $1 == kafka ]]; then
    rm -rf "$KAFKA_DIR/data" "$KAFKA_DIR/kafka.pid" "$KAFKA_DIR/kafka.env"
  else
    dir=$(es_dir)
    rm -rf "${dir:?}/data" "${dir:?}/home" "${dir:?}/tmp" "${dir:?}/es.pid" "$RUN_DIR/es.env"
  fi
}

# Stops the components together (SIGTERM to all, then wait), wipes their data, keeps logs.
cmd_stop() { # components...
  local c
  local -a pids all=() running=()
  for c in "$@"; do
    mapfile -t pids < <(component_pids "$c")
    if ((${#pids[@]})); then
      all+=("${pids[@]}")
      running+=("$c")
    fi
  done
  if ((${#all[@]})); then stop_pids "${running[*]}" "${all[@]}"; fi
  for c in "$@"; do
    clean_data "$c"
    if [[ " ${running[*]-} " == *" $c "* ]]; then
      say "$(label "$c") stopped"
    else
      say "$(label "$c") was not running"
    fi
  done
}

cmd_status() {
  local c pids addr health down=0
  for c in "$@"; do
    pids=$(component_pids "$c" | tr '\n' ' ')
    if [[ $c == kafka ]]; then
      addr=$(sed -n 's/^KAFKA_BROKERS=//p' "$KAFKA_DIR/kafka.env" 2>/dev/null || true)
      addr=${addr:-127.0.0.1:$KAFKA_PORT}
    else
      addr=$(sed -n 's/^ES_URL=//p' "$RUN_DIR/es.env" 2>/dev/null || true)
      addr=${addr:-http://127.0.0.1:$ES_PORT}
    fi
    if [[ -z $pids ]]; then
      printf '%-14s down\n' "$(label "$c")"
      down=1
      continue
    fi
    health=
    if [[ $c == es ]]; then
      health=$(curl -s -m 3 "$addr/_cluster/health" | sed -n 's/.*"status":"\([a-z]*\)".*/ \1/p' || true)
      health=${health:- not answering}
    fi
    printf '%-14s up    pid %s  %s%s\n' "$(label "$c")" "${pids% }" "$addr" "$health"
  done
  return $((down ? 3 : 0))
}

cmd_env() {
  if is_running kafka && [[ -f $KAFKA_DIR/kafka.env ]]; then cat "$KAFKA_DIR/kafka.env"; fi
  if is_running es && [[ -f $RUN_DIR/es.env ]]; then cat "$RUN_DIR/es.env"; fi
}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

main() {
  local cmd=${1:-help}
  shift || true
  local -a comps=()
  case ${1:-all} in
    all) comps=(kafka es) ;;
    kafka) comps=(kafka) ;;
    es | elasticsearch) comps=(es) ;;
    *) die "unknown component '$1' (kafka, es or all)" ;;
  esac
  (($# <= 1)) || die "too many arguments"
  case $cmd in
    fetch) fetch -v "${comps[@]}" ;;
    start) cmd_start "${comps[@]}" ;;
    stop) cmd_stop "${comps[@]}" ;;
    restart)
      cmd_stop "${comps[@]}"
      cmd_start "${comps[@]}"
      ;;
    status) cmd_status "${comps[@]}" ;;
    env) cmd_env ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
