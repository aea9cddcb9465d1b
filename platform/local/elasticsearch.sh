# shellcheck shell=bash
# Elasticsearch: the `elasticsearch` component of infra.sh, which sources this file (after
# secure.sh) and defines the settings it uses. One node by default; ES_NODES of them form one
# cluster (discovery over their transport ports). Security is off, except in secure mode: TLS
# on HTTP and transport, and a file-realm user with a random password.

readonly ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip"
readonly ES_INSTALL=$CACHE_DIR/elasticsearch-$ES_VERSION
readonly ES_ENV=$RUN_DIR/es.env

# Node N: a directory (node 1 keeps the single node's), or a symlink to one under /tmp when
# the ES user cannot reach RUN_DIR; ports one above the node before.
es_link() { if ((${1:-1} == 1)); then printf '%s\n' "$RUN_DIR/es"; else printf '%s\n' "$RUN_DIR/es-$1"; fi; }
es_dir() {
  local link
  link=$(es_link "${1:-1}")
  if [[ -L $link ]]; then readlink -- "$link"; else printf '%s\n' "$link"; fi
}
es_log() { printf '%s\n' "$(es_dir "${1:-1}")/logs/bdp-local.log"; }
es_port() { echo $((ES_PORT + ${1:-1} - 1)); }
es_transport_port() { echo $((ES_TRANSPORT_PORT + ${1:-1} - 1)); }

es_node_ports() {
  printf '%s %s\n' "$(es_port "$1")" "ES_PORT$(node_label elasticsearch "$1")" \
    "$(es_transport_port "$1")" "ES_TRANSPORT_PORT$(node_label elasticsearch "$1")"
}
elasticsearch_ports() { each_node elasticsearch es_node_ports; }
es_node_logs() { printf '%s\n' "$(es_dir "$1")/launcher.log" "$(es_log "$1")"; }
elasticsearch_logs() { each_node elasticsearch es_node_logs; }
elasticsearch_env_file() { printf '%s\n' "$ES_ENV"; }
elasticsearch_address() {
  local scheme=http
  if secure; then scheme=https; fi
  printf '%s://127.0.0.1:%s\n' "$scheme" "$(es_port "${1:-1}")"
}
elasticsearch_summary() {
  local mode='' count n urls=''
  count=$(nodes elasticsearch)
  if secure; then mode=", user $CLIENT_USER"; fi
  if ((count > 1)); then
    for n in $(seq 2 "$count"); do urls+=" $(elasticsearch_address "$n")"; done
    mode+=", $count nodes (also$urls), 1 replica per index"
  fi
  say "elasticsearch:   $(elasticsearch_address)$mode   (log $(es_log))"
}
# elasticsearch_env: the client settings `infra.sh env` prints; a cluster adds every node's
# URL (ES_URLS) and the replicas cli/setup.ts gives the pipeline's indices.
elasticsearch_env() {
  local count n urls=
  count=$(nodes elasticsearch)
  printf 'ES_URL=%s\n' "$(elasticsearch_address)"
  if ((count > 1)); then
    for n in $(seq "$count"); do urls+=${urls:+,}$(elasticsearch_address "$n"); done
    printf '%s\n' "ES_URLS=$urls" ELASTICSEARCH_REPLICAS=1
  fi
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
# and is per node directory unlike es.path.home.
elasticsearch_node_pids() {
  local dir
  dir=$(es_dir "$1")
  server_pids "$dir/es.pid" "-Djava.io.tmpdir=$dir/tmp" java
}
elasticsearch_pids() { each_node elasticsearch elasticsearch_node_pids; }

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

# remove_es_dir N
remove_es_dir() {
  local dir link
  link=$(es_link "$1")
  if [[ -L $link ]]; then
    dir=$(readlink -- "$link")
    # Only ever a directory we made with mktemp.
    if [[ $dir == */bdp-es.* ]]; then rm -rf -- "$dir"; fi
    rm -f -- "$link"
  else
    rm -rf -- "$link"
  fi
}

# es_home N: the install node N runs, in the cache or hard-linked into its directory.
es_home() {
  local dir
  dir=$(es_dir "$1")
  if [[ -d $dir/home ]]; then printf '%s\n' "$dir/home"; else printf '%s\n' "$ES_INSTALL"; fi
}

# prepare_es_dir N: fresh per-start directory of node N: config copy, data, logs, tmp, pid
# file, all owned by the ES user. When RUN_DIR is not reachable by that user (e.g. a checkout
# under /root), it lives in /tmp behind the symlink RUN_DIR/es (es-N).
prepare_es_dir() {
  local dir link user
  user=$(es_user)
  link=$(es_link "$1")
  remove_es_dir "$1"
  if run_as_es test -x "$RUN_DIR"; then
    dir=$link
    mkdir -p "$dir"
  else
    dir=$(mktemp -d /tmp/bdp-es.XXXXXX)
    chmod 755 "$dir"
    ln -s "$dir" "$link"
  fi
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp"
  cp -R "$ES_INSTALL/config" "$dir/config"
  chown -R "$user:" "$dir"
  # The install in the cache stays read-only to ES. If the ES user cannot read it (the default
  # cache is under /root), hard-link it next to the data (no copy on one filesystem).
  if ! run_as_es test -r "$ES_INSTALL/lib/elasticsearch-$ES_VERSION.jar"; then
    cp -al "$ES_INSTALL" "$dir/home" 2>/dev/null || {
      rm -rf "${dir:?}/home"
      cp -a "$ES_INSTALL" "$dir/home"
    }
  fi
}

# ---------------------------------------------------------------------------------------------
# Secure mode

# es_secure_files N JAVA_HOME: the certificate, inside the config dir of node N (since 8.18
# the node may read SSL files only there), and the client user in the file realm: added with
# elasticsearch-users on node 1, copied to the others.
es_secure_files() {
  local dir first config certs
  dir=$(es_dir "$1")
  config=$dir/config
  certs=$config/certs
  mkdir -p "$certs"
  cp "$SECURE_DIR/ca.crt" "$SECURE_DIR/server.crt" "$SECURE_DIR/server.key" "$certs/"
  chmod 700 "$certs"
  if (($1 == 1)); then
    chown -R "$(es_user):" "$certs"
    run_as_es env -u JAVA_HOME ES_JAVA_HOME="$2" ES_PATH_CONF="$config" \
      CLI_JAVA_OPTS="-Djava.io.tmpdir=$dir/tmp" \
      "$(es_home 1)/bin/elasticsearch-users" useradd "$CLIENT_USER" -p "$(secret es-client)" -r superuser \
      >"$dir/users.log" 2>&1 || {
      show_tail "$dir/users.log"
      fail elasticsearch "could not add the user $CLIENT_USER"
    }
  else
    first=$(es_dir 1)/config
    cp -p "$first/users" "$first/users_roles" "$config/"
    chown -R "$(es_user):" "$certs" "$config/users" "$config/users_roles"
  fi
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

# es_discovery_options: a single node elects itself; a cluster finds its nodes on their
# transport ports, and its first start elects a master among all of them.
es_discovery_options() {
  local count n seeds='' masters=''
  count=$(nodes elasticsearch)
  if ((count == 1)); then
    echo -Ediscovery.type=single-node
    return 0
  fi
  for n in $(seq "$count"); do
    seeds+=${seeds:+,}127.0.0.1:$(es_transport_port "$n")
    masters+=${masters:+,}node-$n
  done
  printf '%s\n' "-Ediscovery.seed_hosts=$seeds" "-Ecluster.initial_master_nodes=$masters"
}

# ---------------------------------------------------------------------------------------------
# Start and stop

# The CLI of each node this invocation launched, by node number.
ES_LAUNCHER_PIDS=()
es_java_home() { printf '%s\n' "${ES_JAVA_HOME:-$JAVA_HOME_RESOLVED}"; }

# es_run N: node N on the data and config in its directory.
es_run() {
  local dir es_java_home security=-Expack.security.enabled=false
  local -a secure_opts=() discovery name=()
  dir=$(es_dir "$1")
  es_java_home=$(es_java_home)
  if secure; then
    security=-Expack.security.enabled=true
    mapfile -t secure_opts < <(es_secure_options)
  fi
  mapfile -t discovery < <(es_discovery_options)
  if (($(nodes elasticsearch) > 1)); then name=("-Enode.name=node-$1"); fi
  # -d: the CLI returns once the node has started (or failed); the node writes its own pid.
  # env after runuser/setpriv, which may reset the environment. JAVA_HOME is dropped so
  # elasticsearch-env does not warn that it ignores it. The CLI's own tmpdir keeps its
  # final-flags* probe directories out of /tmp.
  setsid ${AS_ES[@]+"${AS_ES[@]}"} env -u JAVA_HOME ES_JAVA_HOME="$es_java_home" \
    ES_JAVA_OPTS="$ES_HEAP${ES_JAVA_OPTS:+ $ES_JAVA_OPTS}" \
    ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
    CLI_JAVA_OPTS="-Djava.io.tmpdir=$dir/tmp${CLI_JAVA_OPTS:+ $CLI_JAVA_OPTS}" \
    "$(es_home "$1")/bin/elasticsearch" -d -p "$dir/es.pid" \
    -Ecluster.name=bdp-local \
    ${name[@]+"${name[@]}"} "${discovery[@]}" \
    -Enetwork.host=127.0.0.1 \
    -Ehttp.port="$(es_port "$1")" \
    -Etransport.port="$(es_transport_port "$1")" \
    "$security" ${secure_opts[@]+"${secure_opts[@]}"} \
    -Ecluster.routing.allocation.disk.threshold_enabled=false \
    -Eaction.destructive_requires_name=false \
    -Epath.data="$dir/data" \
    -Epath.logs="$dir/logs" \
    >"$dir/launcher.log" 2>&1 </dev/null &
  ES_LAUNCHER_PIDS[$1]=$!
}

elasticsearch_launch() {
  local n count es_java_home
  count=$(nodes elasticsearch)
  es_java_home=$(es_java_home)
  need_or_install curl curl
  say "starting elasticsearch $ES_VERSION$( ((count == 1)) || echo ", $count nodes") (java: $es_java_home)"
  ensure_es_user
  for n in $(seq "$count"); do
    prepare_es_dir "$n"
    if secure; then es_secure_files "$n" "$es_java_home"; fi
  done
  (umask 077 && elasticsearch_env >"$ES_ENV")
  for n in $(seq "$count"); do es_run "$n"; done
}

# elasticsearch_relaunch N: node N again on its data, after it stopped or was killed.
elasticsearch_relaunch() {
  [[ -d $(es_dir "$1")/config ]] || die "elasticsearch node $1 was never started from $RUN_DIR"
  need_or_install curl curl
  say "starting elasticsearch node $1 on its data"
  es_run "$1"
}

# elasticsearch_node_probe N: 0 ready, 1 not yet, 2 failed. A node of a cluster is ready once
# it answers and sees all the nodes.
elasticsearch_node_probe() {
  local dir rc=0 launcher=${ES_LAUNCHER_PIDS[$1]:-} query='wait_for_status=yellow&timeout=5s' count
  dir=$(es_dir "$1")
  count=$(nodes elasticsearch)
  if [[ -n $launcher ]] && ! kill -0 "$launcher" 2>/dev/null; then
    wait "$launcher" || rc=$?
    launcher=
    ES_LAUNCHER_PIDS[$1]=
    ((rc == 0)) || return 2
  fi
  if [[ -z $launcher && -z $(elasticsearch_node_pids "$1") ]]; then return 2; fi
  [[ -s $dir/es.pid ]] || return 1
  if ((count > 1)); then query+="&wait_for_nodes=$count"; fi
  curl_es "$(elasticsearch_address "$1")/_cluster/health?$query" -sf -m 10 -o /dev/null || return 1
}
elasticsearch_probe() { probe_nodes elasticsearch; }

# The CLI may not have spawned the node yet when a start is abandoned, so its whole process
# group goes.
elasticsearch_abandon() {
  local pid
  for pid in ${ES_LAUNCHER_PIDS[@]+"${ES_LAUNCHER_PIDS[@]}"}; do
    if [[ -n $pid ]]; then kill -TERM -- "-$pid" 2>/dev/null || true; fi
  done
}

elasticsearch_clean() {
  local n dir
  for n in $(seq "$(nodes elasticsearch)"); do
    dir=$(es_dir "$n")
    rm -rf "${dir:?}/data" "${dir:?}/home" "${dir:?}/tmp" "${dir:?}/es.pid"
  done
  rm -f "$ES_ENV"
}
