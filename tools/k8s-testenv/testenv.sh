#!/usr/bin/env bash
# A real kube-apiserver + etcd on 127.0.0.1 (envtest-style: no kubelet, no controller-manager,
# no scheduler) for testing server-side apply, dry-run, CRDs and wait logic. Both binaries are
# built from Go modules by this directory's go.mod, which pins the Kubernetes version.
#
#   tools/k8s-testenv/testenv.sh build            # go build both binaries once (cached per version)
#   tools/k8s-testenv/testenv.sh start            # fresh etcd + apiserver, wait for /readyz;
#                                                 # prints the kubeconfig path (the only stdout line)
#   tools/k8s-testenv/testenv.sh stop             # stop both, delete their data (logs are kept)
#   tools/k8s-testenv/testenv.sh restart
#   tools/k8s-testenv/testenv.sh status           # exit 0 only if running and ready
#   tools/k8s-testenv/testenv.sh env              # KUBECONFIG=... of what runs
#   tools/k8s-testenv/testenv.sh version          # the pinned Kubernetes version
#   tools/k8s-testenv/testenv.sh pin v1.X.Y       # re-pin go.mod (+ all staging replaces), go mod tidy
#
#   export KUBECONFIG=$(tools/k8s-testenv/testenv.sh start)
#
# Environment, with defaults:
#   BDP_CACHE                      binaries: <cache>/k8s-testenv/<version>/bin   $HOME/.cache/big-data-pipeline
#   BDP_RUN_DIR                    pids, logs, kubeconfig                       <repo>/.run/k8s-testenv
#   K8S_TESTENV_APISERVER_PORT     apiserver https port                         a free port
#   K8S_TESTENV_ETCD_PORT          etcd client port                             a free port
#   K8S_TESTENV_ETCD_PEER_PORT     etcd peer port                               a free port
#   K8S_TESTENV_TIMEOUT            seconds to wait for readiness                120
#   K8S_TESTENV_APISERVER_ARGS     extra kube-apiserver flags (word-split), e.g. --feature-gates=...
#   K8S_TESTENV_VERBOSITY          kube-apiserver --v                           1
#   K8S_TESTENV_OWNER_PID          stop both once this process has exited       none
#                                  (a test run that dies without its teardown)
# Etcd data, the service-account keys, the token file and the self-signed serving certificate
# live in a fresh mktemp directory per start (under ${TMPDIR:-/tmp}); stop deletes it.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR LOG_NAME=k8s-testenv
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$SCRIPT_DIR/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/go.sh
source "$SCRIPT_DIR/../lib/go.sh"
readonly GO_MOD=$SCRIPT_DIR/go.mod
readonly STOP_TIMEOUT=20
readonly APISERVER_PKG=k8s.io/kubernetes/cmd/kube-apiserver
readonly TOKEN_USER=k8s-testenv-admin

# The one place the version is recorded is go.mod's `k8s.io/kubernetes v1.X.Y` require line.
k8s_version() {
  awk '($1 == "require" && $2 == "k8s.io/kubernetes") { print $3; exit }
       ($1 == "k8s.io/kubernetes" && $2 ~ /^v1\./) { print $2; exit }' "$GO_MOD"
}

K8S_VERSION=$(k8s_version)
[[ $K8S_VERSION =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "no 'k8s.io/kubernetes v1.X.Y' require line in $GO_MOD"
readonly K8S_VERSION
readonly STAGING_VERSION=v0.${K8S_VERSION#v1.}

CACHE_ROOT=$(cache_root)
RUN_DIR=$(run_dir k8s-testenv)
readonly CACHE_ROOT RUN_DIR
readonly VERSION_DIR=$CACHE_ROOT/k8s-testenv/$K8S_VERSION
readonly BIN_DIR=$VERSION_DIR/bin
readonly APISERVER_BIN=$BIN_DIR/kube-apiserver ETCD_BIN=$BIN_DIR/etcd
readonly STATE_FILE=$RUN_DIR/state KUBECONFIG_FILE=$RUN_DIR/kubeconfig
readonly READY_TIMEOUT=${K8S_TESTENV_TIMEOUT:-120}
[[ $READY_TIMEOUT =~ ^[0-9]+$ ]] || die "K8S_TESTENV_TIMEOUT must be a number, got '$READY_TIMEOUT'"

# ---------------------------------------------------------------------------------------------
# build

# Every `k8s.io/<staging> => k8s.io/<staging> v0.X.Y` replace must match the pinned v1.X.Y.
check_pins() {
  local bad
  bad=$(awk -v want="$STAGING_VERSION" '
    $2 == "=>" && $1 ~ /^k8s\.io\// && $3 == $1 && $4 != want { print "  " $1 " " $4 }' "$GO_MOD")
  [[ -z $bad ]] || die "go.mod pins k8s.io/kubernetes $K8S_VERSION, but these replaces are not $STAGING_VERSION:
$bad
(run: $0 pin $K8S_VERSION)"
}

built() { [[ -x $APISERVER_BIN && -x $ETCD_BIN ]]; }

# build_step STEP NAME GO-BUILD-ARGS...
build_step() {
  local step=$1 name=$2 t0=$SECONDS
  shift 2
  say "[$step] go build -o $BIN_DIR/$name ${*: -1}"
  go_build "$SCRIPT_DIR" "$BIN_DIR/$name" "$@"
  say "[$step] $name built in $(fmt_duration $((SECONDS - t0))) ($(du -h "$BIN_DIR/$name" | cut -f1))"
}

cmd_build() {
  if built; then
    say "kubernetes $K8S_VERSION binaries already built in $BIN_DIR (delete them to rebuild)"
    return 0
  fi
  need go "Go toolchain, see go.mod for the minimum version"
  check_pins
  mkdir -p "$BIN_DIR"
  # One build per version at a time; a second caller waits and then finds the binaries.
  hold_lock "$VERSION_DIR/.build.lock" 7200 "another build in $VERSION_DIR"
  if built; then
    release_lock
    say "kubernetes $K8S_VERSION binaries were built by a concurrent run: $BIN_DIR"
    return 0
  fi
  local t0=$SECONDS minor=${K8S_VERSION#v1.} ldflags="-s -w" p date
  minor=${minor%%.*}
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  # What the Kubernetes release build stamps (hack/lib/version.sh): /version and `kubectl
  # version` then report the real version instead of v0.0.0-master.
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  say "building kubernetes $K8S_VERSION kube-apiserver and etcd with $(go env GOVERSION)" \
    "(a cold build takes tens of minutes on 2 cores; the Go build cache makes rebuilds fast)"
  build_step 1/2 kube-apiserver -ldflags="$ldflags" "$APISERVER_PKG"
  build_step 2/2 etcd -ldflags="-s -w" ./cmd/etcd
  release_lock
  say "build done in $(fmt_duration $((SECONDS - t0))): $BIN_DIR"
}

# ---------------------------------------------------------------------------------------------
# pin

cmd_pin() {
  local v=${1:-} mod m staging_v
  [[ $v =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "usage: $0 pin v1.X.Y"
  staging_v=v0.${v#v1.}
  need go
  # k8s.io/kubernetes' own go.mod lists its staging modules as `=> ./staging/src/...`.
  mod=$(cd "$SCRIPT_DIR" && go mod download -json "k8s.io/kubernetes@$v" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f $mod ]] || die "could not download k8s.io/kubernetes@$v"
  local -a args=("-require=k8s.io/kubernetes@$v") staging
  # Drop the old staging replaces, then append one block with one replace per staging module
  # of the new version (sample-* are examples nobody imports; some are not on the proxy).
  while read -r m; do args+=("-dropreplace=$m"); done < <(awk '$2 == "=>" && $1 ~ /^k8s\.io\// && $3 == $1 { print $1 }' "$GO_MOD")
  mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*#\1#p' "$mod" | grep -v '^k8s\.io/sample-')
  ((${#staging[@]})) || die "no staging replaces found in $mod"
  (cd "$SCRIPT_DIR" && go mod edit "${args[@]}") || die "go mod edit failed"
  {
    printf '\nreplace (\n'
    for m in "${staging[@]}"; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_v"; done
    printf ')\n'
  } >>"$GO_MOD"
  (cd "$SCRIPT_DIR" && go mod tidy) ||
    die "go mod tidy failed for $v (output above); go.mod is left as it is for inspection"
  say "pinned k8s.io/kubernetes $v with its staging modules at $staging_v; now run: $0 build"
}

# ---------------------------------------------------------------------------------------------
# processes

# free_port [EXCLUDED...]: a random unused port below the usual ephemeral range.
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))
    [[ " $* " == *" $p "* ]] && continue
    port_listening "$p" || {
      echo "$p"
      return 0
    }
  done
  die "no free port found"
}

# State of the current/last start, written by start: TMP_DIR, ports, token, binaries.
TMP_DIR='' APISERVER_PORT='' ETCD_PORT='' ETCD_PEER_PORT='' TOKEN='' STATE_VERSION=''
load_state() {
  [[ -f $STATE_FILE ]] || return 1
  # shellcheck disable=SC1090 # our own file, values written with %q
  source "$STATE_FILE"
}

etcd_marker() { printf -- '-data-dir=%s\n' "$TMP_DIR/etcd"; }
apiserver_marker() { printf -- '--cert-dir=%s\n' "$TMP_DIR/certs"; }

# component_pid etcd|kube-apiserver: the pid if that component of the loaded state runs.
component_pid() {
  local c=$1 marker pid
  [[ -n $TMP_DIR ]] || return 1
  if [[ $c == etcd ]]; then marker=$(etcd_marker); else marker=$(apiserver_marker); fi
  [[ -s $RUN_DIR/$c.pid ]] || return 1
  pid=$(<"$RUN_DIR/$c.pid")
  proc_matches "$pid" "$marker" "$c" || return 1
  echo "$pid"
}

# launch NAME BINARY ARGS...: detached, with a fresh log.
launch() {
  local name=$1
  shift
  : >"$RUN_DIR/$name.log"
  launch_detached "k8s-testenv-$name" "$RUN_DIR/$name.pid" "$RUN_DIR/$name.log" "$@"
}

# probe NAME URL EXPECTED: 0 ready, 1 not yet, 2 exited.
probe() {
  local name=$1 url=$2 expected=$3 pid body
  [[ -s $RUN_DIR/$name.pid ]] || return 1
  pid=$(<"$RUN_DIR/$name.pid")
  kill -0 "$pid" 2>/dev/null || return 2
  # -f: a failing /readyz answers 500 with a body that also contains "ok" lines.
  body=$(curl -skf -m 5 -H "Authorization: Bearer $TOKEN" "$url" 2>/dev/null) || return 1
  [[ $body == *"$expected"* ]] || return 1
}

etcd_probe() { probe etcd "http://127.0.0.1:$ETCD_PORT/health" '"health":"true"'; }
kube-apiserver_probe() { probe kube-apiserver "https://127.0.0.1:$APISERVER_PORT/readyz" ok; }

# fail NAME REASON: show the end of its log, stop what this start launched, exit 1.
fail() {
  printf 'k8s-testenv: error: %s %s\n' "$1" "$2" >&2
  show_tail "$RUN_DIR/$1.log"
  cmd_stop >/dev/null 2>&1 || true
  exit 1
}

abort() {
  trap - INT TERM
  say "start interrupted; stopping what it started"
  cmd_stop >/dev/null 2>&1 || true
  exit 130
}

port_setting() { # ENV-NAME EXCLUDED...
  local name=$1 v
  shift
  v=${!name:-}
  if [[ -z $v ]]; then
    free_port "$@"
    return 0
  fi
  [[ $v =~ ^[0-9]+$ ]] || die "$name must be a number, got '$v'"
  ! port_listening "$v" || die "port $v ($name) is already in use"
  echo "$v"
}

write_kubeconfig() {
  local tmp=$KUBECONFIG_FILE.tmp
  (
    umask 077
    cat >"$tmp" <<EOF
# Generated by tools/k8s-testenv/testenv.sh start; deleted by stop.
apiVersion: v1
kind: Config
clusters:
- name: k8s-testenv
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    insecure-skip-tls-verify: true
users:
- name: $TOKEN_USER
  user:
    token: $TOKEN
contexts:
- name: k8s-testenv
  context:
    cluster: k8s-testenv
    user: $TOKEN_USER
    namespace: default
current-context: k8s-testenv
EOF
  )
  mv -f "$tmp" "$KUBECONFIG_FILE"
}

cmd_start() {
  local t0
  if load_state && { component_pid etcd >/dev/null || component_pid kube-apiserver >/dev/null; }; then
    die "already running from $RUN_DIR (kubeconfig $KUBECONFIG_FILE); use 'stop' or 'restart'"
  fi
  cmd_stop >/dev/null 2>&1 || true # leftovers of a crashed run
  cmd_build
  need openssl
  need curl
  need setsid "util-linux"
  t0=$SECONDS

  ETCD_PORT=$(port_setting K8S_TESTENV_ETCD_PORT)
  ETCD_PEER_PORT=$(port_setting K8S_TESTENV_ETCD_PEER_PORT "$ETCD_PORT")
  APISERVER_PORT=$(port_setting K8S_TESTENV_APISERVER_PORT "$ETCD_PORT" "$ETCD_PEER_PORT")
  make_run_dir "$RUN_DIR"
  TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/k8s-testenv.XXXXXX")
  TOKEN=$(openssl rand -hex 24)
  STATE_VERSION=$K8S_VERSION
  {
    printf 'TMP_DIR=%q\nAPISERVER_PORT=%q\nETCD_PORT=%q\nETCD_PEER_PORT=%q\n' \
      "$TMP_DIR" "$APISERVER_PORT" "$ETCD_PORT" "$ETCD_PEER_PORT"
    printf 'TOKEN=%q\nSTATE_VERSION=%q\n' "$TOKEN" "$STATE_VERSION"
  } >"$STATE_FILE"
  chmod 600 "$STATE_FILE"
  trap abort INT TERM

  mkdir -p "$TMP_DIR/etcd" "$TMP_DIR/certs"
  # Service-account token signing key pair (the serving certificate is self-signed by
  # kube-apiserver into --cert-dir).
  openssl genrsa -out "$TMP_DIR/sa.key" 2048 2>/dev/null
  openssl rsa -in "$TMP_DIR/sa.key" -pubout -out "$TMP_DIR/sa.pub" 2>/dev/null
  # token,user,uid,"group1,group2"
  printf '%s,%s,%s,"system:masters"\n' "$TOKEN" "$TOKEN_USER" "$TOKEN_USER" >"$TMP_DIR/tokens.csv"
  chmod 600 "$TMP_DIR/sa.key" "$TMP_DIR/tokens.csv"

  say "starting etcd on 127.0.0.1:$ETCD_PORT"
  launch etcd "$ETCD_BIN" "$(etcd_marker)" "-client-port=$ETCD_PORT" "-peer-port=$ETCD_PEER_PORT"
  wait_ready etcd

  local -a extra=()
  if [[ -n ${K8S_TESTENV_APISERVER_ARGS:-} ]]; then read -r -a extra <<<"$K8S_TESTENV_APISERVER_ARGS"; fi
  say "starting kube-apiserver $K8S_VERSION on https://127.0.0.1:$APISERVER_PORT"
  # --endpoint-reconciler-type=none: 1.37 refuses a loopback --advertise-address with the
  # default (lease) reconciler ("may not be in the loopback range"); upstream's own test server
  # (cmd/kube-apiserver/app/testing) does the same. The `kubernetes` Service gets no endpoints.
  # --disable-admission-plugins=ServiceAccount: nothing creates the default ServiceAccount.
  launch kube-apiserver "$APISERVER_BIN" \
    "$(apiserver_marker)" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --endpoint-reconciler-type=none \
    --secure-port="$APISERVER_PORT" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$TMP_DIR/sa.pub" \
    --service-account-signing-key-file="$TMP_DIR/sa.key" \
    --authorization-mode=AlwaysAllow \
    --token-auth-file="$TMP_DIR/tokens.csv" \
    --disable-admission-plugins=ServiceAccount \
    --allow-privileged=true \
    --profiling=false \
    --v="${K8S_TESTENV_VERBOSITY:-1}" \
    ${extra[@]+"${extra[@]}"}
  wait_ready kube-apiserver
  trap - INT TERM
  if [[ -n ${K8S_TESTENV_OWNER_PID:-} ]]; then
    # A watcher, detached like the servers: when the owner is gone, it runs stop.
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; BDP_RUN_DIR=$2 exec "$3" stop' \
      k8s-testenv-watch "$K8S_TESTENV_OWNER_PID" "$RUN_DIR" "$SCRIPT_DIR/testenv.sh" >>"$RUN_DIR/watch.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/watch.pid"
  fi
  write_kubeconfig
  say "started in $((SECONDS - t0))s; logs in $RUN_DIR"
  printf '%s\n' "$KUBECONFIG_FILE"
}

# Stops both (apiserver first), deletes the temp dir, the kubeconfig and the state; keeps logs.
cmd_stop() {
  local c pid stopped=
  if ! load_state; then
    say "not running"
    return 0
  fi
  for c in kube-apiserver etcd; do
    if pid=$(component_pid "$c"); then
      stop_pids "$c" "$pid"
      stopped+=" $c"
    fi
    rm -f "$RUN_DIR/$c.pid"
  done
  # The owner's watcher, unless it is the one stopping (exec'd: stop then runs as its pid).
  if [[ -s $RUN_DIR/watch.pid ]]; then
    pid=$(<"$RUN_DIR/watch.pid")
    [[ $pid == "$$" ]] || kill -TERM "$pid" 2>/dev/null || true
    rm -f "$RUN_DIR/watch.pid"
  fi
  # Only ever a directory we made with mktemp.
  if [[ -n $TMP_DIR && $(basename -- "$TMP_DIR") == k8s-testenv.* && -d $TMP_DIR ]]; then
    rm -rf -- "$TMP_DIR"
  fi
  rm -f "$KUBECONFIG_FILE" "$STATE_FILE"
  if [[ -n $stopped ]]; then say "stopped:$stopped"; else say "was not running (stale state removed)"; fi
}

rss() { awk '/^VmRSS:/ { printf "%d MiB", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

cmd_status() {
  local c pid ready down=0
  printf 'version     %s\n' "$K8S_VERSION"
  if built; then
    printf 'binaries    %s\n' "$BIN_DIR"
  else
    printf 'binaries    not built (run: %s build)\n' "$0"
  fi
  if ! load_state; then
    printf 'state       stopped\n'
    return 3
  fi
  for c in etcd kube-apiserver; do
    if pid=$(component_pid "$c"); then
      printf '%-15s up    pid %s  rss %s\n' "$c" "$pid" "$(rss "$pid")"
    else
      printf '%-15s down\n' "$c"
      down=1
    fi
  done
  ready=$(curl -skf -m 3 -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$APISERVER_PORT/readyz" 2>/dev/null || true)
  printf 'server      https://127.0.0.1:%s  readyz: %s\n' "$APISERVER_PORT" "${ready:-not ready}"
  printf 'etcd        http://127.0.0.1:%s\n' "$ETCD_PORT"
  printf 'kubeconfig  %s\n' "$KUBECONFIG_FILE"
  printf 'data        %s\n' "$TMP_DIR"
  [[ $down == 0 && $ready == ok ]] || return 3
}

cmd_env() {
  if load_state && component_pid kube-apiserver >/dev/null && [[ -f $KUBECONFIG_FILE ]]; then
    printf 'KUBECONFIG=%s\n' "$KUBECONFIG_FILE"
  fi
}

main() {
  local cmd=${1:-help}
  shift || true
  case $cmd in
    pin) ;;
    *) (($# == 0)) || die "'$cmd' takes no arguments" ;;
  esac
  case $cmd in
    build) cmd_build ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart)
      cmd_stop
      cmd_start
      ;;
    status) cmd_status ;;
    env) cmd_env ;;
    version) echo "$K8S_VERSION" ;;
    pin) cmd_pin "$@" ;;
    help | -h | --help) usage ;;
    *) usage 2 ;;
  esac
}

main "$@"
