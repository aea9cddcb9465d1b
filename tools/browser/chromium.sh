#!/usr/bin/env bash
# Prints the path of a Chromium for the dashboard's browser test and screenshots, installing
# Debian's `chromium` package when it is missing (as root, with apt-get; the package index
# is refreshed only when the first install attempt fails, so a warm machine does no network
# work). The test drives it with playwright-core, which downloads no browser of its own.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR LOG_NAME=chromium
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$SCRIPT_DIR/../lib/common.sh"

find_chromium() {
  local candidate
  for candidate in "${CHROMIUM:-}" /usr/bin/chromium; do
    if [[ -n $candidate && -x $candidate ]]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if find_chromium; then exit 0; fi
is_root && have apt-get || die "Chromium is missing and cannot be installed without root and apt-get: install Debian's 'chromium' package"
say "installing Debian's chromium package (once)"
install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
if ! install; then
  apt-get update -qq >/dev/null
  install || die "apt-get could not install chromium"
fi
find_chromium || die "the chromium package installed no /usr/bin/chromium"
