#!/usr/bin/env bash
# Prints the path of a promtool binary for the alert-rule tests, building it if needed.
#
# The promtool wanted is the one of the Prometheus the cluster runs: tools/prometheus/go.mod
# pins github.com/prometheus/prometheus v0.3XX.Y, which is Prometheus 3.XX.Y, and it must
# match the image tag in platform/prometheus/prometheus.yaml. It is built with Go once into
# the cache (a few minutes: downloads and compile) and reused. Without Go, a promtool on
# PATH, else one unpacked from Debian's `prometheus` package, is used with a warning that it
# is another version. (The package is only downloaded and unpacked, apt-get download +
# dpkg -x: installing it would start a Prometheus daemon.)
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR LOG_NAME=promtool
# shellcheck source-path=SCRIPTDIR source=../../tools/lib/common.sh
source "$SCRIPT_DIR/../../tools/lib/common.sh"
CACHE=$(cache_root)/promtool

# With Go: the cluster's version, built once (monitoring-tools.sh checks go.mod against the image).
if have go; then exec "$SCRIPT_DIR/monitoring-tools.sh" promtool; fi
version=$(sed -n 's|^ *image: prom/prometheus:v\([0-9.]*\)$|\1|p' "$REPO_ROOT/platform/prometheus/prometheus.yaml")

if have promtool; then
  say "warning: no Go to build promtool $version; using $(command -v promtool) ($(promtool --version 2>&1 | head -1))"
  command -v promtool
  exit 0
fi
debian=$CACHE/debian/usr/bin/promtool
if [[ ! -x $debian ]]; then
  have apt-get || die "no Go to build promtool $version, none on PATH and no apt-get to fetch Debian's"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
    if is_root; then apt-get update -qq >/dev/null; fi
    (cd "$work" && apt-get download prometheus >/dev/null) || die "could not download Debian's prometheus package"
  fi
  mkdir -p "$CACHE/debian"
  dpkg -x "$work"/prometheus_*.deb "$CACHE/debian"
fi
say "warning: no Go to build promtool $version; using Debian's ($("$debian" --version 2>&1 | head -1))"
echo "$debian"
