#!/usr/bin/env bash
# Prints the path of a promtool binary (for the alert-rule tests), fetching it if needed:
# one on PATH, else one unpacked from Debian's `prometheus` package into the cache. The
# package is only downloaded and unpacked (apt-get download + dpkg -x): installing it would
# start a Prometheus daemon.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi
cache="${BDP_CACHE:-$HOME/.cache/big-data-pipeline}/promtool"
bin="$cache/usr/bin/promtool"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "promtool: not on PATH and no apt-get to fetch Debian's prometheus package" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq >/dev/null; fi
  (cd "$work" && apt-get download prometheus >/dev/null) || { echo "promtool: could not download Debian's prometheus package" >&2; exit 1; }
fi
mkdir -p "$cache"
dpkg -x "$work"/prometheus_*.deb "$cache"
"$bin" --version >/dev/null
echo "$bin"
