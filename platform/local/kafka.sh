# shellcheck shell=bash
# Kafka in KRaft mode, every node broker and controller in one JVM: the `kafka` component of
# infra.sh, which sources this file (after secure.sh) and defines the settings it uses. One
# node by default; KAFKA_NODES of them form one cluster (static voters, replication factor up
# to 3). In secure mode the client and inter-broker listener is SASL_SSL with SCRAM-SHA-512;
# the controller listener stays plaintext on loopback, as KRaft controllers cannot use SCRAM
# (KAFKA-15513).

readonly KAFKA_HOME=$CACHE_DIR/kafka-$KAFKA_VERSION

# Node N: its directory (node 1 keeps the single node's), ports (each node two above the one
# before), log, pid file.
kafka_dir() { if (($1 == 1)); then printf '%s\n' "$RUN_DIR/kafka"; else printf '%s\n' "$RUN_DIR/kafka-$1"; fi; }
kafka_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
kafka_controller_port() { echo $((KAFKA_CONTROLLER_PORT + 2 * ($1 - 1))); }
kafka_log() { printf '%s\n' "$(kafka_dir "$1")/kafka.log"; }

# The replication of a cluster of N nodes: up to 3 replicas, and 2 in sync for a write once
# there are 3, so one node may fail without losing an acknowledged record.
kafka_replicas() { echo $(($1 < 3 ? $1 : 3)); }
kafka_min_isr() { echo $(($1 < 3 ? 1 : 2)); }

kafka_node_ports() {
  printf '%s %s\n' "$(kafka_port "$1")" "KAFKA_PORT$(node_label kafka "$1")" \
    "$(kafka_controller_port "$1")" "KAFKA_CONTROLLER_PORT$(node_label kafka "$1")"
}
kafka_ports() { each_node kafka kafka_node_ports; }
kafka_logs() { each_node kafka kafka_log; }
kafka_env_file() { printf '%s\n' "$(kafka_dir 1)/kafka.env"; }
kafka_address() { printf '127.0.0.1:%s\n' "$(kafka_port "${1:-1}")"; }
kafka_bootstrap() {
  local n list=
  for n in $(seq "$(nodes kafka)"); do list+=${list:+,}$(kafka_address "$n"); done
  printf '%s\n' "$list"
}
kafka_summary() {
  local mode='' count
  count=$(nodes kafka)
  if secure; then mode=" SASL_SSL, user $CLIENT_USER"; fi
  if ((count > 1)); then
    mode+=", $count brokers, replication factor $(kafka_replicas "$count"), min.insync.replicas $(kafka_min_isr "$count")"
  fi
  say "kafka bootstrap: $(kafka_bootstrap)$mode   (log $(kafka_log 1))"
}

kafka_fetched() { fetched "$KAFKA_HOME"; }
kafka_fetch() { fetch_once "$KAFKA_HOME" "kafka $KAFKA_VERSION (maven)" kafka_fill; }

# kafka_fill WORK: kafka_2.13 and its runtime dependencies, plus slf4j-reload4j (Kafka
# declares no logging backend of its own), into WORK/tree/libs.
kafka_fill() {
  local libs=$1/tree/libs
  mkdir -p "$libs"
  mvn_quiet "$1/mvn.log" -f "$SCRIPT_DIR/kafka/pom.xml" "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" \
    -DoutputDirectory="$libs" -DincludeScope=runtime -Dkafka.version="$KAFKA_VERSION" ||
    die "maven could not fetch kafka (output above)"
  [[ -f $libs/kafka_2.13-$KAFKA_VERSION.jar && -f $libs/slf4j-reload4j-1.7.36.jar ]] ||
    die "kafka jars missing in $libs after maven"
}

# A broker is recognised by its config file, a path of this run dir.
kafka_node_pids() {
  local dir
  dir=$(kafka_dir "$1")
  server_pids "$dir/kafka.pid" "$dir/server.properties" java
}
kafka_pids() { each_node kafka kafka_node_pids; }

# kafka_listener_config N: the listeners of node N, plaintext or (secure mode) SASL_SSL.
kafka_listener_config() {
  local name=PLAINTEXT dir
  dir=$(kafka_dir "$1")
  if secure; then name=SASL_SSL; fi
  cat <<EOF
listeners=$name://127.0.0.1:$(kafka_port "$1"),CONTROLLER://127.0.0.1:$(kafka_controller_port "$1")
advertised.listeners=$name://127.0.0.1:$(kafka_port "$1")
inter.broker.listener.name=$name
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,$name:$name
EOF
  secure || return 0
  # PEM files, so no keystore password (Kafka refuses one for PEM); the key is PKCS#8.
  cat <<EOF
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$BROKER_USER" password="$(secret kafka-broker)";
ssl.keystore.type=PEM
ssl.keystore.location=$dir/tls/keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$dir/tls/ca.crt
ssl.client.auth=none
EOF
}

# kafka_env: the client settings `infra.sh env` prints; a cluster adds the replication
# cli/setup.ts gives the pipeline's topics.
kafka_env() {
  local count
  count=$(nodes kafka)
  printf 'KAFKA_BROKERS=%s\n' "$(kafka_bootstrap)"
  if ((count > 1)); then
    printf '%s\n' "KAFKA_REPLICATION_FACTOR=$(kafka_replicas "$count")" "KAFKA_MIN_INSYNC_REPLICAS=$(kafka_min_isr "$count")"
  fi
  secure || return 0
  printf '%s\n' KAFKA_SECURITY_PROTOCOL=SASL_SSL KAFKA_SASL_MECHANISM=SCRAM-SHA-512 \
    "KAFKA_SASL_USERNAME=$CLIENT_USER" "KAFKA_SASL_PASSWORD=$(secret kafka-client)" \
    "KAFKA_CA_FILE=$SECURE_DIR/ca.crt"
}

# kafka_scram_users: StorageTool's --add-scram arguments; the SCRAM credentials of a KRaft
# cluster are bootstrap records written at format time, the same on every node.
kafka_scram_users() {
  secure || return 0
  printf '%s\n' --add-scram "SCRAM-SHA-512=[name=$BROKER_USER,password=$(secret kafka-broker)]" \
    --add-scram "SCRAM-SHA-512=[name=$CLIENT_USER,password=$(secret kafka-client)]"
}

kafka_voters() {
  local n list=
  for n in $(seq "$(nodes kafka)"); do list+=${list:+,}$n@127.0.0.1:$(kafka_controller_port "$n"); done
  printf '%s\n' "$list"
}

# kafka_write_config N
kafka_write_config() {
  local dir count replicas min_isr
  dir=$(kafka_dir "$1")
  count=$(nodes kafka)
  replicas=$(kafka_replicas "$count")
  min_isr=$(kafka_min_isr "$count")
  if secure; then
    mkdir -p "$dir/tls"
    (umask 077 && cat "$SECURE_DIR/server.key" "$SECURE_DIR/server.crt" >"$dir/tls/keystore.pem")
    cp "$SECURE_DIR/ca.crt" "$dir/tls/ca.crt"
  fi
  (umask 077 && cat >"$dir/server.properties") <<EOF
# Generated by platform/local/infra.sh on every start; edits are lost.
process.roles=broker,controller
node.id=$1
controller.quorum.voters=$(kafka_voters)
$(kafka_listener_config "$1")
log.dirs=$dir/data
# Our code creates its topics; a typo must fail, not create a topic.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=$replicas
min.insync.replicas=$min_isr
# Only an in-sync replica may lead: a record acknowledged by min.insync.replicas is never lost.
unclean.leader.election.enable=false
# The defaults (3 replicas) leave a single node without a group coordinator.
offsets.topic.replication.factor=$replicas
# 50 partitions by default: the first consumer-group join is much faster with one.
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
EOF
}

kafka_jvm() {
  local -a heap
  read -r -a heap <<<"$KAFKA_HEAP"
  printf '%s\n' "${heap[@]}" -Djava.awt.headless=true "-Dkafka.logs.dir=$(kafka_dir "$1")" \
    "-Dlog4j.configuration=file:$SCRIPT_DIR/kafka/log4j.properties" -cp "$KAFKA_HOME/libs/*"
}

# kafka_format N CLUSTER_ID: a KRaft log dir must be formatted before first use; static
# voters need no --standalone.
kafka_format() {
  local -a jvm scram
  mapfile -t jvm < <(kafka_jvm "$1")
  mapfile -t scram < <(kafka_scram_users)
  "$JAVA_HOME_RESOLVED/bin/java" "${jvm[@]}" kafka.tools.StorageTool format -t "$2" \
    -c "$(kafka_dir "$1")/server.properties" ${scram[@]+"${scram[@]}"} >>"$(kafka_log "$1")" 2>&1
}

# kafka_run N: the broker of node N on the data it has.
kafka_run() {
  local dir
  local -a jvm
  dir=$(kafka_dir "$1")
  mapfile -t jvm < <(kafka_jvm "$1")
  launch_detached bdp-kafka "$dir/kafka.pid" "$(kafka_log "$1")" \
    "$JAVA_HOME_RESOLVED/bin/java" "${jvm[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    kafka.Kafka "$dir/server.properties"
}

kafka_launch() {
  local n dir cluster_id count
  local -a formats=()
  count=$(nodes kafka)
  say "starting kafka $KAFKA_VERSION$( ((count == 1)) || echo ", $count nodes") (java: $JAVA_HOME_RESOLVED)"
  # A random Kafka Uuid in its URL-safe base64 form, one for the whole cluster; one starting
  # with '-' would be read as an option, so draw again (Kafka's Uuid.randomUuid() refuses those too).
  cluster_id=-
  while [[ $cluster_id == -* ]]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  done
  for n in $(seq "$count"); do
    dir=$(kafka_dir "$n")
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    : >"$(kafka_log "$n")"
    rm -f "$dir/kafka.pid"
    kafka_write_config "$n"
    kafka_format "$n" "$cluster_id" &
    formats+=($!)
  done
  (umask 077 && kafka_env >"$(kafka_env_file)")
  for n in $(seq "$count"); do
    wait "${formats[n - 1]}" || fail kafka "StorageTool format of node $n failed"
  done
  for n in $(seq "$count"); do kafka_run "$n"; done
}

# kafka_relaunch N: node N again on its data, after it stopped or was killed; the log of its
# previous run is kept as kafka.log.1.
kafka_relaunch() {
  local log
  log=$(kafka_log "$1")
  [[ -f $(kafka_dir "$1")/server.properties ]] || die "kafka node $1 was never started from $RUN_DIR"
  say "starting kafka node $1 on its data"
  if [[ -f $log ]]; then mv -f "$log" "$log.1"; fi
  kafka_run "$1"
}

# kafka_node_probe N: 0 ready, 1 not yet, 2 failed
kafka_node_probe() {
  local dir pid
  dir=$(kafka_dir "$1")
  [[ -s $dir/kafka.pid ]] || return 1
  pid=$(<"$dir/kafka.pid")
  kill -0 "$pid" 2>/dev/null || return 2
  port_listening "$(kafka_port "$1")" || return 1
  # 3.9 KRaft prints "[KafkaRaftServer nodeId=1] Kafka Server started" once the broker is
  # unfenced, so a cluster can create replicated topics right away.
  grep -qF 'Kafka Server started' "$(kafka_log "$1")" || return 1
}
kafka_probe() { probe_nodes kafka; }

kafka_clean() {
  local n dir
  for n in $(seq "$(nodes kafka)"); do
    dir=$(kafka_dir "$n")
    rm -rf "$dir/data" "$dir/tls" "$dir/kafka.pid"
  done
  rm -f "$(kafka_env_file)"
}
