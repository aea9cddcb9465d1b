# shellcheck shell=bash
# Helpers shared by the scripts that fetch, build and run this project's local tools and
# servers (platform/local, tools/k8s-testenv, tools/upstream). Sourced, never run.
#
# The sourcing script sets, before sourcing:
#   LOG_NAME   the prefix of its messages ("infra", "k8s-testenv", ...)
#   LOG_FD     where progress goes: 2 (default) when stdout carries a result, 1 otherwise
# and, before using the process helpers, STOP_TIMEOUT and READY_TIMEOUT (seconds).

REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly REPO_ROOT

say() { printf '%s: %s\n' "$LOG_NAME" "$*" >&"${LOG_FD:-2}"; }
die() {
  printf '%s: error: %s\n' "$LOG_NAME" "$*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [[ $EUID -eq 0 ]]; }
# need COMMAND [HINT]
need() { have "$1" || die "'$1' is required${2:+ ($2)}"; }

abspath() {
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

# usage [EXIT]: the script's header comment; with EXIT, on stderr, then exits with it.
# shellcheck disable=SC2120 # the scripts pass EXIT
usage() {
  local header='2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}'
  if [[ -z ${1:-} ]]; then
    sed -n "$header" "$0"
    return 0
  fi
  sed -n "$header" "$0" >&2
  exit "$1"
}

fmt_duration() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# Downloads and builds, outside the repo and shared by its checkouts.
cache_root() { abspath "${BDP_CACHE:-${HOME:?HOME is unset: set BDP_CACHE}/.cache/big-data-pipeline}"; }

# run_dir NAME: configs, pids, logs and data of one kind of server; BDP_RUN_DIR overrides it.
run_dir() { abspath "${BDP_RUN_DIR:-$REPO_ROOT/.run/$1}"; }

# make_run_dir DIR, kept out of git without touching the repo's .gitignore.
make_run_dir() {
  mkdir -p "$1"
  [[ -f $1/.gitignore ]] || echo '*' >"$1/.gitignore"
}

# hold_lock FILE SECONDS WHAT: an exclusive lock on FILE until release_lock; a second caller
# waits for the first (up to SECONDS), then finds its work done.
hold_lock() {
  exec 9>"$1"
  if have flock; then flock -w "$2" 9 || die "timed out waiting for $3"; fi
}
release_lock() { exec 9>&-; }

# ---------------------------------------------------------------------------------------------
# Packages

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

# need_or_install COMMAND DEBIAN_PACKAGE: as root, installs the package when COMMAND is missing.
need_or_install() {
  have "$1" && return 0
  apt_install "$2" && have "$1" && return 0
  die "'$1' is required (Debian package '$2')"
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

# proc_matches PID ARG [COMM]: PID is a live process with ARG among its arguments (and runs
# COMM). Servers are recognised by an argument naming a path of their run dir, so a stale pid
# file never makes us signal a stranger.
proc_matches() {
  local pid=$1 comm=
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  if [[ -n ${3:-} ]]; then
    read -r comm 2>/dev/null <"/proc/$pid/comm" || return 1
    [[ $comm == "$3" ]] || return 1
  fi
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$2"
}

# pids_matching ARG COMM: every process running COMM with ARG among its arguments.
pids_matching() {
  local f pid
  for f in /proc/[0-9]*; do
    pid=${f#/proc/}
    if proc_matches "$pid" "$1" "$2"; then echo "$pid"; fi
  done
}

# server_pids PID_FILE ARG COMM: the pid in PID_FILE while it is still that server, else every
# process running COMM with ARG (the pid file is not written yet, or was lost).
server_pids() {
  local pid
  if [[ -s $1 ]]; then
    pid=$(<"$1")
    if proc_matches "$pid" "$2"; then
      echo "$pid"
      return 0
    fi
  fi
  pids_matching "$2" "$3"
}

# launch_detached NAME PID_FILE LOG COMMAND...: COMMAND in a session of its own (setsid), so it
# outlives this script and the caller's process group; the inner shell writes its own pid and
# then becomes COMMAND, so the pid file is right either way. Output is appended to LOG.
launch_detached() {
  local name=$1 pidfile=$2 log=$3
  shift 3
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' "$name" "$pidfile" "$@" >>"$log" 2>&1 </dev/null &
}

# stop_pids NAME PID...: SIGTERM, up to STOP_TIMEOUT s, then SIGKILL.
stop_pids() {
  local name=$1 pid alive i
  shift
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    alive=0
    for pid in "$@"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    ((alive)) || return 0
    sleep 0.1
  done
  say "$name did not stop within ${STOP_TIMEOUT}s: SIGKILL"
  kill -KILL "$@" 2>/dev/null || true
}

# wait_ready NAME...: polls `NAME_probe` (0 ready, 1 not yet, 2 exited) of every NAME together
# until all are ready, saying so for each as it gets there. One that exits, or is not ready
# after READY_TIMEOUT s, goes to the script's `fail NAME REASON`, which exits.
wait_ready() {
  local t0=$SECONDS name rc
  local -a pending=("$@") still
  while ((${#pending[@]})); do
    still=()
    for name in "${pending[@]}"; do
      rc=0
      "${name}_probe" || rc=$?
      case $rc in
        0) say "$name ready in $((SECONDS - t0))s" ;;
        1) still+=("$name") ;;
        *) fail "$name" "exited during startup" ;;
      esac
    done
    pending=(${still[@]+"${still[@]}"})
    if ((${#pending[@]})); then
      ((SECONDS - t0 < READY_TIMEOUT)) || fail "${pending[0]}" "not ready after ${READY_TIMEOUT}s"
      sleep 0.2
    fi
  done
}

# show_tail FILE...: the end of each non-empty log, for a server that failed to start.
show_tail() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf -- '----- last 40 lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}
