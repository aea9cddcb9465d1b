# shellcheck shell=bash
# A single-node Elasticsearch: the `elasticsearch` component of infra.sh, which sources this
# file (after secure.sh) and defines the settings it uses. Security is off, except in secure
# mode: TLS on HTTP and transport, and a file-realm user with a random password.

readonly ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip"
readonly ES_INSTALL=$CACHE_DIR/elasticsearch-$ES_VERSION
# A directory, or a symlink to one under /tmp when the ES user cannot reach RUN_DIR.
readonly ES_LINK=$RUN_DIR/es
readonly ES_ENV=$RUN_DIR/es.env

es_dir() {
  if [[ -L $ES_LINK ]]; then readlink -- "$ES_LINK"; else printf '%s\n' "$ES_LINK"; fi
}
es_log() { printf '%s\n' "$(es_dir)/logs/bdp-local.log"; }

elasticsearch_ports() { echo ES_PORT ES_TRANSPORT_PORT; }
elasticsearch_logs() { printf '%s\n' "$(es_dir)/launcher.log" "$(es_log)"; }
elasticsearch_env_file() { printf '%s\n' "$ES_ENV"; }
elasticsearch_address() {
  local scheme=http
  if secure; then scheme=https; fi
  printf '%s://127.0.0.1:%s\n' "$scheme" "$ES_PORT"
}
elasticsearch_summary() {
  local mode=
  if secure; then mode=", user $CLIENT_USER"; fi
  say "elasticsearch:   $(elasticsearch_address)$mode   (log $(es_log))"
}
# elasticsearch_env: the client settings `infra.sh env` prints.
elasticsearch_env() {
  printf 'ES_URL=%s\n' "$(elasticsearch_address)"
  secure || return 0
  printf '%s\n' "ELASTICSEARCH_URL=$(elasticsearch_address)" "ELASTICSEARCH_USERNAME=$CLIENT_USER" \
    "ELASTICSEARCH_PASSWORD=$(secret es-client)" "ELASTICSEARCH_CA_FILE=$SECURE_DIR/ca.crt"
}
# elasticsearch_health URL: " green", " yellow"... for status.
elasticsearch_health() {
  local health
  health=$(curl_es "$1/_cluster/health" -s -m 3 | sed -n 's/.*"status":"\([a-z]*\)".*/ \1/p' || true)
  printf '%s\n' "${health:- not answering}"
}

elasticsearch_fetched() { fetched "$ES_INSTALL"; }
elasticsearch_fetch() {
  fetch_once "$ES_INSTALL" "elasticsearch $ES_VERSION (maven, integ-test-zip)" elasticsearch_fill
}

# elasticsearch_fill WORK: the integ-test-zip, unpacked into WORK/tree.
elasticsearch_fill() {
  local work=$1 unpacked=$1/elasticsearch-$ES_VERSION
  # copy needs no project; run it where no stray pom.xml can be picked up.
  (cd "$work" && mvn_quiet "$work/mvn.log" "$MAVEN_DEPENDENCY_PLUGIN:copy" -Dartifact="$ES_ARTIFACT" -DoutputDirectory="$work") ||
    die "maven could not fetch $ES_ARTIFACT (output above)"
  unzip_to "$work/elasticsearch-$ES_VERSION.zip" "$work"
  [[ -f $unpacked/bin/elasticsearch && -d $unpacked/lib ]] || die "unexpected zip layout in $work"
  # Readable by the unprivileged user that runs it; jar/zip tools may drop the +x bits.
  chmod -R a+rX "$unpacked"
  chmod a+rx "$unpacked"/bin/*
  mv "$unpacked" "$work/tree"
}

# The node gets its settings on stdin; ES_TMPDIR is on its command line as java.io.tmpdir,
# and is per run dir unlike es.path.home.
elasticsearch_pids() {
  local dir
  dir=$(es_dir)
  server_pids "$dir/es.pid" "-Djava.io.tmpdir=$dir/tmp" java
}

# ---------------------------------------------------------------------------------------------
# The unprivileged user

es_user() { if is_root; then echo "$ES_USER"; else id -un; fi; }

# Elasticsearch refuses to run as root (no override since 5.0): as root, run it as ES_USER.
AS_ES=()
if is_root; then
  if have runuser; then
    AS_ES=(runuser -u "$ES_USER" --)
  else
    AS_ES=(setpriv --reuid="$ES_USER" --regid="$ES_USER" --init-groups --)
  fi
fi
run_as_es() { ${AS_ES[@]+"${AS_ES[@]}"} "$@"; }

ensure_es_user() {
  is_root || return 0
  id -u "$ES_USER" >/dev/null 2>&1 && return 0
  need_or_install useradd passwd
  local shell=/usr/sbin/nologin
  [[ -x $shell ]] || shell=/bin/false
  say "creating system user $ES_USER to run elasticsearch"
  # A concurrent start may create it first.
  useradd --system --create-home --shell "$shell" "$ES_USER" 2>/dev/null ||
    id -u "$ES_USER" >/dev/null 2>&1 || die "could not create user $ES_USER"
}

remove_es_dir() {
  local dir
  if [[ -L $ES_LINK ]]; then
    dir=$(readlink -- "$ES_LINK")
    # Only ever a directory we made with mktemp.
    if [[ $dir == */bdp-es.* ]]; then rm -rf -- "$dir"; fi
    rm -f -- "$ES_LINK"
  else
    rm -rf -- "$ES_LINK"
  fi
}

# Fresh per-start directory: config copy, data, logs, tmp, pid file, all owned by the ES user.
# When RUN_DIR is not reachable by that user (e.g. a checkout under /root), it lives in /tmp
# behind the symlink RUN_DIR/es.
prepare_es_dir() {
  local dir user
  user=$(es_user)
  remove_es_dir
  if run_as_es test -x "$RUN_DIR"; then
    dir=$ES_LINK
    mkdir -p "$dir"
  else
    dir=$(mktemp -d /tmp/bdp-es.XXXXXX)
    chmod 755 "$dir"
    ln -s "$dir" "$ES_LINK"
  fi
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp"
  cp -R "$ES_INSTALL/config" "$dir/config"
  chown -R "$user:" "$dir"
  # The install in the cache stays read-only to ES. If the ES user cannot read it (the default
  # cache is under /root), hard-link it next to the data (no copy on one filesystem).
  if run_as_es test -r "$ES_INSTALL/lib/elasticsearch-$ES_VERSION.jar"; then
    ES_HOME_USED=$ES_INSTALL
  else
    ES_HOME_USED=$dir/home
    cp -al "$ES_INSTALL" "$ES_HOME_USED" 2>/dev/null || {
      rm -rf "$ES_HOME_USED"
      cp -a "$ES_INSTALL" "$ES_HOME_USED"
    }
  fi
}

# ---------------------------------------------------------------------------------------------
# Secure mode

# es_secure_files DIR JAVA_HOME: the certificate, inside the config dir (since 8.18 the node
# may read SSL files only there), and the client user in the file realm.
es_secure_files() {
  local dir=$1 es_java_home=$2 certs=$1/config/certs
  mkdir -p "$certs"
  cp "$SECURE_DIR/ca.crt" "$SECURE_DIR/server.crt" "$SECURE_DIR/server.key" "$certs/"
  chown -R "$(es_user):" "$certs"
  chmod 700 "$certs"
  run_as_es env -u JAVA_HOME ES_JAVA_HOME="$es_java_home" ES_PATH_CONF="$dir/config" \
    CLI_JAVA_OPTS="-Djava.io.tmpdir=$dir/tmp" \
    "$ES_HOME_USED/bin/elasticsearch-users" useradd "$CLIENT_USER" -p "$(secret es-client)" -r superuser \
    >"$dir/users.log" 2>&1 || {
    show_tail "$dir/users.log"
    fail elasticsearch "could not add the user $CLIENT_USER"
  }
}

# es_secure_options: the -E options of secure mode, TLS on HTTP and on transport.
es_secure_options() {
  local layer
  for layer in http transport; do
    printf '%s\n' "-Expack.security.$layer.ssl.enabled=true" \
      "-Expack.security.$layer.ssl.certificate=certs/server.crt" \
      "-Expack.security.$layer.ssl.key=certs/server.key" \
      "-Expack.security.$layer.ssl.certificate_authorities=certs/ca.crt"
  done
}

# ---------------------------------------------------------------------------------------------
# Start and stop

ES_LAUNCHER_PID=
elasticsearch_launch() {
  local dir es_java_home=${ES_JAVA_HOME:-$JAVA_HOME_RESOLVED}
  need_or_install curl curl
  say "starting elasticsearch $ES_VERSION (java: $es_java_home)"
  ensure_es_user
  prepare_es_dir
  dir=$(es_dir)
  (umask 077 && elasticsearch_env >"$ES_ENV")
  local security=-Expack.security.enabled=false
  local -a secure_opts=()
  if secure; then
    security=-Expack.security.enabled=true
    es_secure_files "$dir" "$es_java_home"
    mapfile -t secure_opts < <(es_secure_options)
  fi
  # -d: the CLI returns once the node has started (or failed); the node writes its own pid.
  # env after runuser/setpriv, which may reset the environment. JAVA_HOME is dropped so
  # elasticsearch-env does not warn that it ignores it. The CLI's own tmpdir keeps its
  # final-flags* probe directories out of /tmp.
  setsid ${AS_ES[@]+"${AS_ES[@]}"} env -u JAVA_HOME ES_JAVA_HOME="$es_java_home" \
    ES_JAVA_OPTS="$ES_HEAP${ES_JAVA_OPTS:+ $ES_JAVA_OPTS}" \
    ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
    CLI_JAVA_OPTS="-Djava.io.tmpdir=$dir/tmp${CLI_JAVA_OPTS:+ $CLI_JAVA_OPTS}" \
    "$ES_HOME_USED/bin/elasticsearch" -d -p "$dir/es.pid" \
    -Ecluster.name=bdp-local \
    -Ediscovery.type=single-node \
    -Enetwork.host=127.0.0.1 \
    -Ehttp.port="$ES_PORT" \
    -Etransport.port="$ES_TRANSPORT_PORT" \
    "$security" ${secure_opts[@]+"${secure_opts[@]}"} \
    -Ecluster.routing.allocation.disk.threshold_enabled=false \
    -Eaction.destructive_requires_name=false \
    -Epath.data="$dir/data" \
    -Epath.logs="$dir/logs" \
    >"$dir/launcher.log" 2>&1 </dev/null &
  ES_LAUNCHER_PID=$!
}

# 0 ready, 1 not yet, 2 failed
elasticsearch_probe() {
  local dir rc=0
  dir=$(es_dir)
  if [[ -n $ES_LAUNCHER_PID ]] && ! kill -0 "$ES_LAUNCHER_PID" 2>/dev/null; then
    wait "$ES_LAUNCHER_PID" || rc=$?
    ES_LAUNCHER_PID=
    ((rc == 0)) || return 2
  fi
  if [[ -z $ES_LAUNCHER_PID && -z $(elasticsearch_pids) ]]; then return 2; fi
  [[ -s $dir/es.pid ]] || return 1
  curl_es "$(elasticsearch_address)/_cluster/health?wait_for_status=yellow&timeout=5s" \
    -sf -m 10 -o /dev/null || return 1
}

# The CLI may not have spawned the node yet when a start is abandoned, so its whole process
# group goes.
elasticsearch_abandon() {
  if [[ -n $ES_LAUNCHER_PID ]]; then kill -TERM -- "-$ES_LAUNCHER_PID" 2>/dev/null || true; fi
}

elasticsearch_clean() {
  local dir
  dir=$(es_dir)
  rm -rf "${dir:?}/data" "${dir:?}/home" "${dir:?}/tmp" "${dir:?}/es.pid" "$ES_ENV"
}
