#!/usr/bin/env bash
# The benchmark's Spark baseline: the pipeline's job as a Spark Structured Streaming
# application (bench/spark, Java 17 against Spark 3.5's Java API).
#
#   bench/spark/run.sh build              # prints the directory of a ready-to-run build
#   bench/spark/run.sh start [flags…]     # runs the job in the foreground (exec java), until SIGTERM
#   bench/spark/run.sh help               # the job's flags and their environment variables
#
# build: the jar of bench/spark's classes and the classpath of its dependencies (jars in
# Maven's own cache, ~/.m2) are made once into
#   ${BDP_CACHE:-~/.cache/big-data-pipeline}/spark/<hash of pom.xml + src>/
#       bdp-spark-bench.jar   our classes and log4j2.properties
#       classpath.txt         the dependencies, from `mvn dependency:build-classpath`
#       java.args             `-cp <jar>:<classpath>` as a java @argfile
# and reused until pom.xml or a file under src/ changes (older builds are removed). The first
# build downloads Spark and its dependencies from Maven Central (~270 MB into ~/.m2; 25 s here).
#
# start: builds if needed, then `exec java` in this process (its pid is the JVM's, for /proc):
#   flags (else environment, else default) — `run.sh help` lists them:
#   --bootstrap-servers KAFKA_BROKERS 127.0.0.1:9092   --topic TOPIC_RAW data-stream
#   --es-url ELASTICSEARCH_URL http://127.0.0.1:9200    --events-index EVENTS_INDEX events
#   --aggregates-index AGGREGATES_INDEX events-aggregated
#   --checkpoint-dir SPARK_CHECKPOINT_DIR (required)    --lateness-seconds ALLOWED_LATENESS_SECONDS 30
#   --trigger SPARK_TRIGGER_INTERVAL "1 second" (or ms) --master SPARK_MASTER local[2]
#   --shuffle-partitions SPARK_SHUFFLE_PARTITIONS 4     --max-offsets-per-trigger SPARK_MAX_OFFSETS_PER_TRIGGER (none)
#   --dedup SPARK_DEDUP true
# stdout: one JSON line per micro-batch of each query (see ProgressPrinter.java); logs: stderr.
# (JVM flags that print to stdout, such as -XX:StartFlightRecording, break that contract.)
#
# Environment of the script itself:
#   BDP_CACHE              build cache root                    $HOME/.cache/big-data-pipeline
#   BDP_SPARK_JAVA_HOME    JDK to run Spark on; else JAVA_HOME, /usr/lib/jvm/java-17-openjdk-*,
#                          java on PATH — the first that is Java 17 or 21 (Spark 3.5's range)
#   BDP_SPARK_HEAP         heap flags                          -Xms512m -Xmx2g
#   BDP_SPARK_JAVA_OPTS    more JVM flags                      (none)
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
CACHE=${BDP_CACHE:-${HOME:?HOME is unset: set BDP_CACHE}/.cache/big-data-pipeline}/spark
MAIN_CLASS=dev.bigdatapipeline.bench.spark.ShopEventsJob
JAR=bdp-spark-bench.jar

say() { printf 'spark-bench: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# What Spark's own launcher (org.apache.spark.launcher.JavaModuleOptions) adds on Java 17:
# Spark and its libraries reach into these JDK internals (off-heap buffers, Kryo, Hadoop).
readonly JAVA_MODULE_OPTIONS=(
  -XX:+IgnoreUnrecognizedVMOptions
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
  --add-opens=java.base/sun.security.action=ALL-UNNAMED
  --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  -Djdk.reflect.useDirectMethodHandle=false
)

# ---------------------------------------------------------------------------------------------
# Java

java_major() { # JAVA_HOME → major version, from its release file
  local v
  v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null || true)
  if [[ -z $v && -x $1/bin/java ]]; then
    v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
  fi
  printf '%s\n' "${v:-0}"
}

find_java_home() {
  local j major
  if [[ -n ${BDP_SPARK_JAVA_HOME:-} ]]; then
    [[ -x $BDP_SPARK_JAVA_HOME/bin/java ]] || die "no bin/java in BDP_SPARK_JAVA_HOME=$BDP_SPARK_JAVA_HOME"
    printf '%s\n' "$BDP_SPARK_JAVA_HOME"
    return 0
  fi
  local candidates=()
  [[ -n ${JAVA_HOME:-} ]] && candidates+=("$JAVA_HOME")
  candidates+=(/usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/*-17-* /usr/lib/jvm/java-21-openjdk-*)
  if have java; then
    j=$(readlink -f "$(command -v java)")
    candidates+=("${j%/bin/java}")
  fi
  for j in "${candidates[@]}"; do
    [[ -x $j/bin/java ]] || continue
    major=$(java_major "$j")
    if [[ $major == 17 || $major == 21 ]]; then
      printf '%s\n' "$j"
      return 0
    fi
  done
  die "no Java 17 (or 21) found for Spark 3.5: install openjdk-17-jdk-headless or set BDP_SPARK_JAVA_HOME"
}

# ---------------------------------------------------------------------------------------------
# build

source_hash() {
  (cd "$SCRIPT_DIR" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

# A build is usable when its files exist and Maven's cache still holds every dependency.
build_ready() {
  local dir=$1 entry
  [[ -f $dir/$JAR && -s $dir/classpath.txt && -f $dir/java.args ]] || return 1
  while IFS= read -r -d : entry || [[ -n $entry ]]; do
    [[ -z $entry || -e $entry ]] || return 1
  done <"$dir/classpath.txt"
}

build() {
  local hash dir tmp log java_home
  hash=$(source_hash)
  dir=$CACHE/$hash
  if build_ready "$dir"; then
    printf '%s\n' "$dir"
    return 0
  fi
  have mvn || die "Maven (mvn) is needed to build bench/spark (Debian package 'maven')"
  java_home=$(find_java_home)
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  if have flock; then flock -w 1800 9 || die "timed out waiting for another build into $CACHE"; fi
  if build_ready "$dir"; then # built meanwhile by another run
    printf '%s\n' "$dir"
    return 0
  fi

  say "building bench/spark ($hash) with Maven (the first build downloads Spark and its dependencies, ~270 MB, into ~/.m2)"
  tmp=$dir.partial
  rm -rf "$tmp" "$dir"
  mkdir -p "$tmp"
  log=$tmp/mvn.log
  local started=$SECONDS
  # Same Maven invocation as platform/local/infra.sh: batch mode, quiet, default settings and
  # ~/.m2. The build directory is in the cache, so nothing is written into the checkout.
  if ! JAVA_HOME=$java_home mvn -B -q -Dstyle.color=never -f "$SCRIPT_DIR/pom.xml" \
    -Dbdp.build.dir="$tmp/target" -DskipTests \
    package dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$tmp/classpath.txt" \
    >"$log" 2>&1; then
    sed $'s/\x1b\\[[0-9;]*m//g' "$log" | tail -n 60 >&2
    die "maven failed (full log: $log)"
  fi
  mv "$tmp/target/$JAR" "$tmp/$JAR"
  rm -rf "$tmp/target" "$log"
  [[ -s $tmp/classpath.txt ]] || die "maven wrote no classpath"
  # A java @argfile: quoted, so the (long) classpath stays one argument.
  printf -- '-cp "%s:%s"\n' "$dir/$JAR" "$(<"$tmp/classpath.txt")" >"$tmp/java.args"
  mv "$tmp" "$dir"
  # Older builds are dead weight: keep only the current one.
  find "$CACHE" -mindepth 1 -maxdepth 1 -type d ! -name "$hash" -exec rm -rf {} + 2>/dev/null || true
  say "built in $((SECONDS - started)) s: $dir"
  printf '%s\n' "$dir"
}

# ---------------------------------------------------------------------------------------------

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
  build)
    [[ $# -eq 0 ]] || die "build takes no arguments"
    build
    ;;
  start)
    dir=$(build)
    java_home=$(find_java_home)
    # Everything is on this machine: bind Spark's driver to loopback (and skip its warning
    # about the host name resolving to a loopback address).
    export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}
    # shellcheck disable=SC2086 # the heap and extra options are lists of flags
    exec "$java_home/bin/java" ${BDP_SPARK_HEAP:--Xms512m -Xmx2g} "${JAVA_MODULE_OPTIONS[@]}" \
      ${BDP_SPARK_JAVA_OPTS:-} @"$dir/java.args" "$MAIN_CLASS" "$@"
    ;;
  help | -h | --help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
    dir=$(build)
    "$(find_java_home)/bin/java" @"$dir/java.args" "$MAIN_CLASS" --help
    ;;
  *)
    die "usage: $0 build | start [flags…] | help"
    ;;
esac
