#!/usr/bin/env bash
# Prints the path of one of the monitoring binaries, building it from Go modules if needed:
#
#   platform/local/monitoring-tools.sh prometheus               the cluster's Prometheus (make dev)
#   platform/local/monitoring-tools.sh prometheus-ui            the directory to run it in for its web UI (make dev)
#   platform/local/monitoring-tools.sh promtool                 its promtool (alert-rule tests)
#   platform/local/monitoring-tools.sh elasticsearch_exporter   the cluster's exporter (make dev)
#   platform/local/monitoring-tools.sh all                      builds the three binaries, prints nothing
#
# Each is the version the cluster runs: prometheus and promtool come from tools/prometheus/go.mod
# (github.com/prometheus/prometheus v0.3XX.Y is Prometheus 3.XX.Y, the tag of the image in
# platform/prometheus/prometheus.yaml), elasticsearch_exporter from
# tools/elasticsearch-exporter/go.mod (the tag in platform/exporters/elasticsearch-exporter.yaml).
# A go.mod that disagrees with its image is an error. Binaries are built once into the cache,
# per version (a few minutes each the first time; the two Prometheus commands share most of
# their packages), and reused.
#
# Prometheus's web UI is not built in the Go module (upstream builds it with npm into
# web/ui/static before a release, and the binary serves web/ui/static from its working
# directory when that directory is named "prometheus"). prometheus-ui builds it from the UI
# sources of the same module (web/ui: the mantine-ui app and the lezer-promql and
# codemirror-promql modules it uses), with pnpm from the npm registry and the module's frozen
# lockfile, once per version (about a minute on 2 cores; 2.4 MB kept), and prints that
# directory: run the prometheus binary there (cwd) and it serves the UI on / (/query,
# /alerts, /targets, ...). Without it the binary serves only the HTTP API (/api/v1/*, /-/ready,
# /metrics). `all` leaves the UI out: the tests need only the API.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR LOG_NAME=monitoring-tools
# shellcheck source-path=SCRIPTDIR source=../../tools/lib/common.sh
source "$SCRIPT_DIR/../../tools/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../../tools/lib/go.sh
source "$SCRIPT_DIR/../../tools/lib/go.sh"
CACHE=$(cache_root)

# image_tag FILE IMAGE: the tag (without the v) of IMAGE in a manifest.
image_tag() { sed -n "s|^ *image: $2:v\([0-9.]*\)\$|\1|p" "$REPO_ROOT/$1"; }
# required MODULE_DIR MODULE: the version go.mod requires.
required() { awk -v m="$2" '($1 == "require" && $2 == m) { print $3 }' "$1/go.mod"; }

prometheus_version() {
  local module_version image_version version
  module_version=$(required "$REPO_ROOT/tools/prometheus" github.com/prometheus/prometheus)
  [[ $module_version =~ ^v0\.([0-9])([0-9]{2})\.([0-9]+)$ ]] || die "cannot read the prometheus version from tools/prometheus/go.mod"
  version="${BASH_REMATCH[1]}.$((10#${BASH_REMATCH[2]})).${BASH_REMATCH[3]}"
  image_version=$(image_tag platform/prometheus/prometheus.yaml prom/prometheus)
  [[ $image_version == "$version" ]] ||
    die "tools/prometheus/go.mod pins Prometheus $version ($module_version) but platform/prometheus runs ${image_version:-no prom/prometheus image}: pin v0.$(awk -F. '{ printf "%d%02d.%d", $1, $2, $3 }' <<<"${image_version:-0.0.0}") in go.mod"
  echo "$version"
}

exporter_version() {
  local module_version image_version
  module_version=$(required "$REPO_ROOT/tools/elasticsearch-exporter" github.com/prometheus-community/elasticsearch_exporter)
  image_version=$(image_tag platform/exporters/elasticsearch-exporter.yaml quay.io/prometheuscommunity/elasticsearch-exporter)
  [[ -n $module_version && v$image_version == "$module_version" ]] ||
    die "tools/elasticsearch-exporter/go.mod pins elasticsearch_exporter ${module_version:-nothing} but platform/exporters runs v${image_version:-?}"
  echo "${module_version#v}"
}

# build NAME: prints the cached binary's path, building it first when missing.
build() {
  local name=$1 version module package ldflags bin
  case $name in
    prometheus | promtool)
      version=$(prometheus_version)
      module=$REPO_ROOT/tools/prometheus
      package=github.com/prometheus/prometheus/cmd/$name
      ldflags="-X github.com/prometheus/common/version.Version=$version"
      bin=$CACHE/prometheus/$version/$name
      ;;
    elasticsearch_exporter)
      version=$(exporter_version)
      module=$REPO_ROOT/tools/elasticsearch-exporter
      package=github.com/prometheus-community/elasticsearch_exporter
      ldflags="-X github.com/prometheus/common/version.Version=$version"
      bin=$CACHE/elasticsearch-exporter/$version/$name
      ;;
    *) usage 2 ;;
  esac
  if [[ ! -x $bin ]]; then
    have go || die "Go is needed to build $name $version (the README lists the version)"
    mkdir -p "$(dirname -- "$bin")"
    hold_lock "$(dirname -- "$bin").lock" 1800 "another build of $name"
    if [[ ! -x $bin ]]; then
      say "building $name $version from Go modules (once, a few minutes)"
      go_build "$module" "$bin" -trimpath -ldflags "$ldflags" "$package"
    fi
    release_lock
  fi
  echo "$bin"
}

# The pnpm that builds the UI: its lockfile is pnpm's v9 format; upstream's CI uses pnpm 11,
# which needs Node 22, and pnpm 10 reads the same lockfile on the project's Node 20.
readonly PNPM_VERSION=10.34.9

# build_ui: prints the directory to run prometheus in to serve its web UI, building the UI into
# it first when missing (<cache>/prometheus/<version>/web-ui/prometheus/web/ui/static/mantine-ui).
build_ui() {
  local version root dir module work log t0
  version=$(prometheus_version)
  root=$CACHE/prometheus/$version/web-ui
  dir=$root/prometheus
  if [[ ! -f $dir/web/ui/static/mantine-ui/index.html ]]; then
    have go || die "Go is needed to find the UI sources of Prometheus $version"
    { have node && have npm; } || die "Node.js and npm are needed to build the web UI of Prometheus $version"
    mkdir -p "$(dirname -- "$root")"
    hold_lock "$root.lock" 1800 "another build of the Prometheus web UI"
    if [[ ! -f $dir/web/ui/static/mantine-ui/index.html ]]; then
      module=$(cd "$REPO_ROOT/tools/prometheus" && go mod download -json github.com/prometheus/prometheus | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      [[ -d $module/web/ui/mantine-ui ]] || die "no web/ui/mantine-ui in the Prometheus module (${module:-not found})"
      work=$root.build
      log=$root.build.log
      rm -rf "$work"
      mkdir -p "$work"
      # The module cache is read-only: the build works on a copy, with its own pnpm store
      # (removed afterwards with the rest of the copy; only the built UI stays in the cache).
      (cd "$module/web/ui" && cp -R package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc build_ui.sh mantine-ui module "$work/")
      chmod -R u+w "$work"
      say "building the web UI of Prometheus $version from its module with pnpm $PNPM_VERSION (once, a minute or two; log: $log)"
      t0=$SECONDS
      # (&& throughout: set -e does not apply in the condition of an if.)
      if ! (
        cd "$work" &&
          npm install --prefix "$work/.pnpm" --no-save --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" &&
          export PATH=$work/.pnpm/node_modules/.bin:$PATH CI= &&
          pnpm install --frozen-lockfile --store-dir "$work/.pnpm-store" --reporter=append-only &&
          # Upstream's own script: lezer-promql and codemirror-promql, then mantine-ui into ./static.
          bash build_ui.sh --mantine-ui &&
          [[ -f static/mantine-ui/index.html ]]
      ) >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        rm -rf "$work"
        die "the build of the Prometheus web UI failed (output above; all of it in $log)"
      fi
      rm -rf "$root"
      rm -rf "$root.tmp"
      mkdir -p "$root.tmp/prometheus/web/ui"
      mv "$work/static" "$root.tmp/prometheus/web/ui/static"
      mv "$root.tmp" "$root"
      rm -rf "$work"
      say "built the web UI of Prometheus $version in $(fmt_duration $((SECONDS - t0))) ($(du -sh "$root" | cut -f1))"
    fi
    release_lock
  fi
  echo "$dir"
}

case ${1:-} in
  all) for n in promtool prometheus elasticsearch_exporter; do build "$n" >/dev/null; done ;;
  prometheus | promtool | elasticsearch_exporter) build "$1" ;;
  prometheus-ui) build_ui ;;
  -h | --help) usage ;;
  *) usage 2 ;;
esac
