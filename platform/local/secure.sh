# shellcheck shell=bash
# Secure mode of infra.sh (BDP_SECURE=1): a local CA, one server certificate for every node
# (SANs 127.0.0.1 and localhost), and random passwords, made fresh on every start into
# RUN_DIR/secure. Kafka and Elasticsearch read what they need from there; `infra.sh env`
# prints the client settings. infra.sh sources this file and defines the settings it uses.

readonly SECURE_DIR=$RUN_DIR/secure
# The client user of the functions, setup and the tests, on Kafka and on Elasticsearch.
readonly CLIENT_USER=pipeline
# Kafka's inter-broker SCRAM user.
# shellcheck disable=SC2034 # used by kafka.sh
readonly BROKER_USER=broker

# secure: whether the servers of this run dir run (or are starting) in secure mode.
secure() { [[ -f $SECURE_DIR/ca.crt ]]; }

# A password with no characters that need quoting in JAAS, properties or curl config.
new_password() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n'; }
secret() { cat "$SECURE_DIR/$1.password"; }

# secure_prepare: the CA, the server certificate (PKCS#8 key, which Kafka's PEM loader
# requires) and the passwords. Elasticsearch and Kafka are given copies, so this directory
# stays readable by the user who started infra.sh only.
secure_prepare() {
  local d=$SECURE_DIR log=$RUN_DIR/secure.log name
  need_or_install openssl openssl
  rm -rf "$d"
  mkdir -p "$d"
  chmod 700 "$d"
  : >"$log"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=big-data-pipeline local CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout "$d/ca.key" -out "$d/ca.crt" &&
      openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" &&
      openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
        -out "$d/server.crt" -extfile <(printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
        'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
        'extendedKeyUsage=serverAuth,clientAuth')
  } >>"$log" 2>&1 || {
    show_tail "$log"
    die "openssl could not make the local CA and certificate"
  }
  for name in kafka-broker kafka-client es-client; do
    (umask 077 && new_password >"$d/$name.password")
  done
}

secure_clean() { rm -rf "$SECURE_DIR"; }

# curl_es URL [CURL ARGS...]: a request to the local Elasticsearch, with its CA and
# credentials in secure mode; the password goes through stdin, not the command line.
curl_es() {
  local url=$1
  shift
  if secure; then
    printf 'user = "%s:%s"\n' "$CLIENT_USER" "$(secret es-client)" |
      curl --cacert "$SECURE_DIR/ca.crt" -K - "$@" "$url"
  else
    curl "$@" "$url"
  fi
}
