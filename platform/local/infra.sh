#!/usr/bin/env bash
# Real single-node Kafka (KRaft) and Elasticsearch on 127.0.0.1, without Docker, for the
# integration tests and the local dev runtime. Both come from Maven Central and run on a JDK.
# With BDP_SECURE=1 both require TLS and a password, as in production (see README.md).
#
#   platform/local/infra.sh fetch                        # download once into the cache
#   platform/local/infra.sh start   [kafka|es]           # fresh data, wait until ready
#   platform/local/infra.sh stop    [kafka|es]           # stop, wipe data (logs are kept)
#   platform/local/infra.sh restart [kafka|es]
#   platform/local/infra.sh status  [kafka|es]           # exit 0 only if all asked for are up
#   platform/local/infra.sh env                          # KAFKA_BROKERS=... ES_URL=... of what runs
#                                                        # (secure: also the KAFKA_* and ELASTICSEARCH_*
#                                                        # client settings the functions read)
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
readonly CACHE_DIR RUN_DIR KAFKA_PORT KAFKA_CONTROLLER_PORT ES_PORT ES_TRANSPORT_PORT \
  KAFKA_HEAP ES_HEAP ES_USER READY_TIMEOUT SECURE_ASKED

for p in KAFKA_PORT KAFKA_CONTROLLER_PORT ES_PORT ES_TRANSPORT_PORT READY_TIMEOUT; do
  [[ ${!p} =~ ^[0-9]+$ ]] || die "$p must be a number, got '${!p}'"
done
[[ $SECURE_ASKED == [01] ]] || die "BDP_SECURE must be 0 or 1, got '$SECURE_ASKED'"

# shellcheck source-path=SCRIPTDIR source=secure.sh
source "$SCRIPT_DIR/secure.sh"

# The components, each a file defining <name>_fetched, _fetch, _ports, _launch, _probe,
# _pids, _logs, _summary, _env_file, _address and _clean (Elasticsearch also _health, for
# status, and _abandon, for a start that gives up).
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
  for name in $("$1_ports"); do
    port=${!name}
    if port_listening "$port"; then
      die "port $port ($name) is already in use by another process; stop it or choose another $name"
    fi
  done
}

cmd_start() { # components...
  local c
  for c in "$@"; do
    if is_running "$c"; then
      die "$c is already running from $RUN_DIR; use 'stop' or 'restart'"
    fi
    check_ports_free "$c"
  done
  fetch "$@"
  resolve_java
  need setsid util-linux
  make_run_dir "$RUN_DIR"
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
    if asked "$c" "${running[@]}"; then say "$c stopped"; else say "$c was not running"; fi
  done
  any_running || secure_clean
}

cmd_status() {
  local c pids addr health down=0
  for c in "$@"; do
    pids=$("${c}_pids" | tr '\n' ' ')
    addr=$(sed -n '1s/^[A-Z_]*=//p' "$("${c}_env_file")" 2>/dev/null || true)
    addr=${addr:-$("${c}_address")}
    if [[ -z $pids ]]; then
      printf '%-14s down\n' "$c"
      down=1
      continue
    fi
    health=
    if [[ $c == elasticsearch ]]; then health=$(elasticsearch_health "$addr"); fi
    printf '%-14s up    pid %s  %s%s\n' "$c" "${pids% }" "$addr" "$health"
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
