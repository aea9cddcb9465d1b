#!/usr/bin/env bash
# Real Kafka (KRaft) and Elasticsearch on 127.0.0.1, without Docker, for the integration tests
# and the local dev runtime: one node each, or clusters of several (BDP_KAFKA_NODES,
# BDP_ES_NODES). Both come from Maven Central and run on a JDK. With BDP_SECURE=1 both
# require TLS and a password, as in production (see README.md).
#
#   platform/local/infra.sh fetch                        # download once into the cache
#   platform/local/infra.sh start   [kafka|es]           # fresh data, wait until ready
#   platform/local/infra.sh stop    [kafka|es]           # stop, wipe data (logs are kept)
#   platform/local/infra.sh restart [kafka|es]
#   platform/local/infra.sh status  [kafka|es]           # exit 0 only if all asked for are up
#   platform/local/infra.sh env                          # KAFKA_BROKERS=... ES_URL=... of what runs
#                                                        # (secure: also the KAFKA_* and ELASTICSEARCH_*
#                                                        # client settings the functions read)
#   platform/local/infra.sh kill    kafka|es N           # SIGKILL node N of a running cluster
#   platform/local/infra.sh start   kafka|es N           # node N again, on its data; wait until ready
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
#   BDP_SECURE            1: Kafka SASL_SSL (SCRAM-SHA-512), Elasticsearch HTTPS with a file-realm
#                         user; a fresh local CA and random passwords in <run dir>/secure     0
#   BDP_KAFKA_NODES       brokers (node N on KAFKA_PORT+2(N-1), KAFKA_CONTROLLER_PORT+2(N-1));
#                         3 or more: replication factor 3, min.insync.replicas 2          1
#   BDP_ES_NODES          Elasticsearch nodes (node N on ES_PORT+N-1, ES_TRANSPORT_PORT+N-1);
#                         more than 1: the pipeline's indices get 1 replica               1
set -euo pipefail

readonly KAFKA_VERSION=3.9.2
readonly ES_VERSION=8.19.21
readonly STOP_TIMEOUT=30

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR LOG_NAME=infra LOG_FD=1
# shellcheck source-path=SCRIPTDIR source=../../tools/lib/common.sh
source "$SCRIPT_DIR/../../tools/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../../tools/lib/jvm.sh
source "$SCRIPT_DIR/../../tools/lib/jvm.sh"

CACHE_DIR=$(cache_root)
RUN_DIR=$(run_dir infra)
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
ES_PORT=${ES_PORT:-19200}
ES_TRANSPORT_PORT=${ES_TRANSPORT_PORT:-19300}
KAFKA_HEAP=${KAFKA_HEAP:--Xms256m -Xmx512m}
ES_HEAP=${ES_HEAP:--Xms512m -Xmx512m}
ES_USER=${BDP_ES_USER:-bdp-es}
READY_TIMEOUT=${BDP_INFRA_TIMEOUT:-120}
SECURE_ASKED=${BDP_SECURE:-0}
KAFKA_NODES_ASKED=${BDP_KAFKA_NODES:-1}
ES_NODES_ASKED=${BDP_ES_NODES:-1}
readonly CACHE_DIR RUN_DIR KAFKA_PORT KAFKA_CONTROLLER_PORT ES_PORT ES_TRANSPORT_PORT \
  KAFKA_HEAP ES_HEAP ES_USER READY_TIMEOUT SECURE_ASKED KAFKA_NODES_ASKED ES_NODES_ASKED

for p in KAFKA_PORT KAFKA_CONTROLLER_PORT ES_PORT ES_TRANSPORT_PORT READY_TIMEOUT; do
  [[ ${!p} =~ ^[0-9]+$ ]] || die "$p must be a number, got '${!p}'"
done
[[ $SECURE_ASKED == [01] ]] || die "BDP_SECURE must be 0 or 1, got '$SECURE_ASKED'"
for p in BDP_KAFKA_NODES BDP_ES_NODES; do
  [[ ${!p:-1} =~ ^[1-9]$ ]] || die "$p must be a number from 1 to 9, got '${!p}'"
done

# nodes COMPONENT: how many nodes it has; a started cluster keeps the count it started with.
nodes() {
  local file=$RUN_DIR/$1.nodes
  if [[ -s $file ]]; then
    cat "$file"
  elif [[ $1 == kafka ]]; then
    echo "$KAFKA_NODES_ASKED"
  else
    echo "$ES_NODES_ASKED"
  fi
}
# node_label COMPONENT N: how messages name node N; nothing for a single node.
node_label() { if (($(nodes "$1") > 1)); then printf ' (node %s)' "$2"; fi; }
# each_node COMPONENT FUNCTION: FUNCTION N for every node N of COMPONENT.
each_node() {
  local n
  for n in $(seq "$(nodes "$1")"); do "$2" "$n"; done
}

# Set by `start COMPONENT N`: the one node the probes wait for.
ONLY_NODE=
# probe_nodes COMPONENT: the worst of COMPONENT_node_probe over its nodes (0 ready, 1 not
# yet, 2 failed).
probe_nodes() {
  local n rc worst=0
  for n in ${ONLY_NODE:-$(seq "$(nodes "$1")")}; do
    rc=0
    "$1_node_probe" "$n" || rc=$?
    if ((rc > worst)); then worst=$rc; fi
  done
  return "$worst"
}

# shellcheck source-path=SCRIPTDIR source=secure.sh
source "$SCRIPT_DIR/secure.sh"

# The components, each a file defining <name>_fetched, _fetch, _ports ("PORT NAME" lines),
# _launch, _probe, _pids, _logs, _summary, _env_file, _address [N] and _clean for all its
# nodes, and _node_pids N, _node_probe N and _relaunch N for one (Elasticsearch also
# _health, for status, and _abandon, for a start that gives up).
# shellcheck source-path=SCRIPTDIR source=kafka.sh
source "$SCRIPT_DIR/kafka.sh"
# shellcheck source-path=SCRIPTDIR source=elasticsearch.sh
source "$SCRIPT_DIR/elasticsearch.sh"

is_running() { [[ -n $("$1_pids") ]]; }
any_running() { is_running kafka || is_running elasticsearch; }
asked() { [[ " ${*:2} " == *" $1 "* ]]; } # NAME COMPONENTS...

# fetch [-v] COMPONENT...: -v also says when everything was already in the cache.
fetch() {
  local c t0=$SECONDS verbose=
  local -a missing=()
  if [[ $1 == -v ]]; then
    verbose=1
    shift
  fi
  for c in "$@"; do
    "${c}_fetched" || missing+=("$c")
  done
  if ((${#missing[@]} == 0)); then
    if [[ -n $verbose ]]; then say "cache up to date: $CACHE_DIR"; fi
    return 0
  fi
  # Only now take the lock (a read-only shared cache needs none); the fetches re-check under it.
  mkdir -p "$CACHE_DIR"
  hold_lock "$CACHE_DIR/.lock" 1800 "another fetch into $CACHE_DIR"
  for c in "${missing[@]}"; do "${c}_fetch"; done
  release_lock
  say "fetch done in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------------------------
# start

STARTING=()

# fail COMPONENT REASON: show the end of its log, stop what this start launched, exit 1.
fail() {
  local c=$1 logs
  printf 'infra: error: %s %s\n' "$c" "$2" >&2
  mapfile -t logs < <("${c}_logs")
  show_tail "${logs[@]}"
  stop_starting
  exit 1
}

stop_starting() {
  trap - INT TERM
  elasticsearch_abandon
  cmd_stop "${STARTING[@]}" >/dev/null
}

abort() {
  printf 'infra: start interrupted; stopping what it started\n' >&2
  stop_starting
  exit 130
}

check_ports_free() { # component
  local name port
  while read -r port name; do
    if port_listening "$port"; then
      die "port $port ($name) is already in use by another process; stop it or choose another ${name%% *}"
    fi
  done < <("$1_ports")
}

# The ports of all nodes of the components asked for must differ.
check_ports_distinct() { # components...
  local c dup
  dup=$(for c in "$@"; do "${c}_ports"; done | awk '{print $1}' | sort | uniq -d | head -n 1)
  [[ -z $dup ]] || die "port $dup is given to two listeners; choose ports further apart"
}

cmd_start() { # components...
  local c
  for c in "$@"; do
    if is_running "$c"; then
      die "$c is already running from $RUN_DIR; use 'stop' or 'restart'"
    fi
    rm -f "$RUN_DIR/$c.nodes"
  done
  check_ports_distinct "$@"
  for c in "$@"; do check_ports_free "$c"; done
  fetch "$@"
  resolve_java
  need setsid util-linux
  make_run_dir "$RUN_DIR"
  local count
  for c in "$@"; do
    count=$(nodes "$c")
    echo "$count" >"$RUN_DIR/$c.nodes"
  done
  # A component started beside a running one shares its mode (and CA and passwords).
  if any_running; then
    if [[ $SECURE_ASKED == 1 ]] && ! secure; then die "the running servers are not in secure mode; stop them first"; fi
    if [[ $SECURE_ASKED == 0 ]] && secure; then die "the running servers are in secure mode; start with BDP_SECURE=1"; fi
  elif [[ $SECURE_ASKED == 1 ]]; then
    secure_prepare
  else
    secure_clean
  fi
  # Both servers want many file descriptors (ES warns below 65535); inherited by the JVMs.
  ulimit -n 65535 2>/dev/null || true
  STARTING=("$@")
  trap abort INT TERM
  # Elasticsearch first: it is the slower one, and Kafka's format step overlaps with it.
  for c in elasticsearch kafka; do
    if asked "$c" "$@"; then "${c}_launch"; fi
  done
  wait_ready "$@"
  trap - INT TERM
  for c in "$@"; do "${c}_summary"; done
}

# ---------------------------------------------------------------------------------------------
# stop, status, env

# Stops the components together (SIGTERM to all, then wait), wipes their data, keeps logs.
cmd_stop() { # components...
  local c
  local -a pids all=() running=()
  for c in "$@"; do
    mapfile -t pids < <("${c}_pids")
    if ((${#pids[@]})); then
      all+=("${pids[@]}")
      running+=("$c")
    fi
  done
  if ((${#all[@]})); then stop_pids "${running[*]}" "${all[@]}"; fi
  for c in "$@"; do
    "${c}_clean"
    if asked "$c" ${running[@]+"${running[@]}"}; then say "$c stopped"; else say "$c was not running"; fi
    rm -f "$RUN_DIR/$c.nodes"
  done
  any_running || secure_clean
}

# check_node COMPONENT N: N names one of its nodes.
check_node() {
  local count
  count=$(nodes "$1")
  if ! [[ $2 =~ ^[1-9][0-9]*$ ]] || (($2 > count)); then die "$1 has nodes 1 to $count, not '$2'"; fi
}

# gone PID: exited; a zombie its new parent has not reaped yet counts as gone.
gone() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
  [[ -z $state || $state == Z ]]
}

# cmd_kill COMPONENT N: SIGKILL to node N, as a crash would stop it; its data stays.
cmd_kill() {
  local pid i
  local -a pids
  check_node "$1" "$2"
  mapfile -t pids < <("$1_node_pids" "$2")
  ((${#pids[@]})) || die "$1 node $2 is not running"
  kill -KILL "${pids[@]}"
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    for pid in "${pids[@]}"; do
      if ! gone "$pid"; then
        sleep 0.1
        continue 2
      fi
    done
    say "$1 node $2 killed (pid ${pids[*]})"
    return 0
  done
  die "$1 node $2 (pid ${pids[*]}) still runs after SIGKILL"
}

# cmd_start_node COMPONENT N: node N of a running cluster again, on its data; waits until it
# is ready (a Kafka broker has rejoined, an Elasticsearch node sees all the others).
cmd_start_node() {
  local c=$1
  check_node "$c" "$2"
  [[ -z $("${c}_node_pids" "$2") ]] || die "$c node $2 is already running"
  is_running "$c" || die "no other node of $c runs from $RUN_DIR: use 'start' for a fresh one"
  while read -r port name; do
    if [[ $name == *"(node $2)" ]] && port_listening "$port"; then die "port $port ($name) is already in use by another process"; fi
  done < <("${c}_ports")
  resolve_java
  ulimit -n 65535 2>/dev/null || true
  ONLY_NODE=$2
  trap abort INT TERM
  "${c}_relaunch" "$2"
  wait_ready "$c"
  trap - INT TERM
}

cmd_status() {
  local c n name pids addr health down=0 count
  for c in "$@"; do
    count=$(nodes "$c")
    for n in $(seq "$count"); do
      name=$c
      if ((count > 1)); then name=$c-$n; fi
      pids=$("${c}_node_pids" "$n" | tr '\n' ' ')
      addr=$("${c}_address" "$n")
      if [[ -z $pids ]]; then
        printf '%-14s down\n' "$name"
        down=1
        continue
      fi
      health=
      if [[ $c == elasticsearch ]]; then health=$(elasticsearch_health "$addr"); fi
      printf '%-14s up    pid %s  %s%s\n' "$name" "${pids% }" "$addr" "$health"
    done
  done
  return $((down ? 3 : 0))
}

cmd_env() {
  local c file
  for c in kafka elasticsearch; do
    file=$("${c}_env_file")
    if is_running "$c" && [[ -f $file ]]; then cat "$file"; fi
  done
}

main() {
  local cmd=${1:-help}
  shift || true
  local -a comps=()
  case ${1:-all} in
    all) comps=(kafka elasticsearch) ;;
    kafka) comps=(kafka) ;;
    es | elasticsearch) comps=(elasticsearch) ;;
    *) die "unknown component '$1' (kafka, es or all)" ;;
  esac
  if [[ -n ${2:-} ]]; then
    if (($# != 2)) || [[ $cmd != start && $cmd != kill ]] || ((${#comps[@]} != 1)); then
      die "a node number goes only with 'start' or 'kill' and one component"
    fi
    if [[ $cmd == kill ]]; then cmd_kill "${comps[0]}" "$2"; else cmd_start_node "${comps[0]}" "$2"; fi
    return 0
  fi
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
    *) usage 2 ;;
  esac
}

main "$@"
