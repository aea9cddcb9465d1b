#!/usr/bin/env bash
# Prints the path of one of the upstream-check binaries, building it if needed:
#
#   tools/upstream/build.sh keda       KEDA's Kafka scaler          (tools/upstream/keda)
#   tools/upstream/build.sh hpa        the Kubernetes HPA controller (tools/upstream/hpa)
#   tools/upstream/build.sh knative    Knative's KPA decider, the eventing scheduler, the
#                                      KafkaSource → ScaledObject generation and the webhooks'
#                                      SetDefaults + Validate        (tools/upstream/knative)
#
# Each folder is a Go module that pins the upstream code at the versions the cluster runs and
# wraps it in a small command speaking JSON lines (one case in, one answer out; the framing is
# the shared local module tools/upstream/jsonlines). The binary is built once into the cache,
# keyed by a hash of the module's files and jsonlines' (go.mod, go.sum, *.go), and reused
# until one of them changes.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR LOG_NAME=upstream
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$SCRIPT_DIR/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/go.sh
source "$SCRIPT_DIR/../lib/go.sh"
CACHE=$(cache_root)/upstream

name=${1:-}
[[ -n $name && $name != jsonlines && -f $SCRIPT_DIR/$name/main.go ]] ||
  die "usage: $0 <$(cd "$SCRIPT_DIR" && find . -mindepth 2 -maxdepth 2 -name main.go | cut -d/ -f2 | sort | paste -sd '|')>"
module=$SCRIPT_DIR/$name
have go || die "Go is needed to build the $name check (the README lists the version)"

# The driver and the local module every driver shares (jsonlines) make the build.
hash=$(cd "$SCRIPT_DIR" && find "$name" jsonlines -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 |
  LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
bin=$CACHE/$name/$hash/$name
if [[ -x $bin ]]; then
  echo "$bin"
  exit 0
fi

say "building the $name check from Go modules (once per change of tools/upstream/$name; the first build takes minutes)"
go_build "$module" "$bin" -trimpath .
# Older builds of this check are dead weight: keep only the current one.
find "$CACHE/$name" -mindepth 1 -maxdepth 1 -type d ! -name "$hash" -exec rm -rf {} + 2>/dev/null || true
echo "$bin"
