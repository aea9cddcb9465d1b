# shellcheck shell=bash
# Java servers fetched from Maven Central into the cache. Sourced after common.sh.

# shellcheck disable=SC2034 # used by the scripts that source this file
readonly MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1
# Written last into a fetched directory: one without it is an interrupted fetch.
readonly FETCH_MARKER=.bdp-fetch-complete

# The JDK the servers run on. Kafka 3.9 and Elasticsearch 8.19 are both tested on 17.
find_java_home() {
  local j
  if [[ -n ${JAVA_HOME:-} ]]; then
    printf '%s\n' "$JAVA_HOME"
    return 0
  fi
  for j in /usr/lib/jvm/java-17-openjdk-*; do
    if [[ -x $j/bin/java ]]; then
      printf '%s\n' "$j"
      return 0
    fi
  done
  if have java; then
    j=$(readlink -f "$(command -v java)")
    printf '%s\n' "${j%/bin/java}"
    return 0
  fi
  return 1
}

# resolve_java: sets JAVA_HOME_RESOLVED, installing a JDK 17 as root when there is none.
JAVA_HOME_RESOLVED=
resolve_java() {
  [[ -n $JAVA_HOME_RESOLVED ]] && return 0
  if ! JAVA_HOME_RESOLVED=$(find_java_home); then
    apt_install openjdk-17-jre-headless || die "no JDK found: install a JDK 17 or set JAVA_HOME"
    JAVA_HOME_RESOLVED=$(find_java_home) || die "no JDK found after installing openjdk-17-jre-headless"
  fi
  [[ -x $JAVA_HOME_RESOLVED/bin/java ]] || die "no executable java in $JAVA_HOME_RESOLVED/bin"
}

# mvn_quiet LOGFILE ARGS...: Maven in batch mode, its output shown only when it fails.
mvn_quiet() {
  local log=$1
  shift
  if ! mvn -B -q -Dstyle.color=never "$@" >"$log" 2>&1; then
    sed $'s/\x1b\\[[0-9;]*m//g' "$log" | tail -n 40 >&2
    return 1
  fi
}

# fetched DIR: DIR holds a complete fetch.
fetched() { [[ -f $1/$FETCH_MARKER ]]; }

# fetch_once DIR WHAT FILL: unless DIR holds a complete fetch, says "fetching WHAT" and runs
# `FILL WORK` with a fresh WORK=DIR.partial, which must leave the finished tree in WORK/tree;
# that becomes DIR.
fetch_once() {
  local dir=$1 what=$2 fill=$3 work=$1.partial
  fetched "$dir" && return 0
  need_or_install mvn maven
  say "fetching $what into $dir"
  rm -rf "$work" "$dir"
  mkdir -p "$work"
  "$fill" "$work"
  mv "$work/tree" "$dir"
  rm -rf "$work"
  date -u +%FT%TZ >"$dir/$FETCH_MARKER"
}

# unzip_to ZIP DIR, keeping the unix file modes.
unzip_to() {
  if have unzip; then
    unzip -q "$1" -d "$2"
  elif have python3; then
    python3 - "$1" "$2" <<'PY'
import os, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    for info in z.infolist():
        path = z.extract(info, dest)
        mode = (info.external_attr >> 16) & 0o777
        if mode and not info.is_dir():
            os.chmod(path, mode)
PY
  else
    need_or_install unzip unzip
    unzip -q "$1" -d "$2"
  fi
}
