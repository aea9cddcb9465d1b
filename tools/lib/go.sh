# shellcheck shell=bash
# Go binaries built from a module of this repo into the cache. Sourced after common.sh.

# go_build MODULE_DIR OUT GO-BUILD-ARGS...: `go build` in MODULE_DIR into a temporary file,
# renamed to OUT at the end (atomic for a concurrent reader), with a heartbeat while the
# compiler runs: a cold build of a large module takes tens of minutes on 2 cores.
go_build() {
  local dir=$1 out=$2 t0=$SECONDS pid rc=0 next=60
  shift 2
  local tmp
  tmp=$(dirname -- "$out")/.$(basename -- "$out").partial.$$
  mkdir -p "$(dirname -- "$out")"
  (cd "$dir" && exec go build -o "$tmp" "$@") >&2 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS - t0 >= next)); then
      say "still compiling $(basename -- "$out") ($(fmt_duration $((SECONDS - t0))))"
      next=$((next + 60))
    fi
  done
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    rm -f "$tmp"
    die "go build of $(basename -- "$out") failed (exit $rc, output above)"
  fi
  mv -f "$tmp" "$out"
}
