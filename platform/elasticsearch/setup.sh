#!/usr/bin/env bash
# Elasticsearch users for the pipeline, run by the elasticsearch-setup Job as the superuser
# elastic. Idempotent: every call PUTs the whole desired state, so a re-run after the deploy
# tool rotated a Secret brings Elasticsearch in line with it.
#
#  - kibana_system gets the password from the kibana-credentials Secret (Kibana 8 refuses to
#    run as elastic).
#  - The retention policy of the daily events indices and the pipeline's index templates,
#    rendered from shared/elasticsearch.ts (render.ts beside this script).
#  - The pipeline's own user (elasticsearch-credentials: username, password) gets a role
#    limited to the pipeline's indices: the functions, the web dashboard and the exporter
#    share it, and none of them needs more than this.
set -euo pipefail

es=$ELASTICSEARCH_URL
curl_args=(-u "elastic:$ELASTIC_PASSWORD")
# HTTPS with our own CA (the production overlay): ELASTICSEARCH_CA_FILE is its PEM.
if [[ -n ${ELASTICSEARCH_CA_FILE:-} ]]; then curl_args+=(--cacert "$ELASTICSEARCH_CA_FILE"); fi
response=${TMPDIR:-/tmp}/response.json

json_string() { # a JSON string literal of $1
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

call() { # method path body
  local code
  code=$(curl -sS -o "$response" -w '%{http_code}' "${curl_args[@]}" -X "$1" "$es$2" \
    -H 'Content-Type: application/json' --data-binary "$3")
  if [[ $code != 2* ]]; then
    echo "$1 $2 answered $code: $(cat "$response")" >&2
    return 1
  fi
  echo "$1 $2: $code"
}

until curl -fsS -o /dev/null "${curl_args[@]}" "$es/_cluster/health?wait_for_status=yellow&timeout=10s"; do
  echo "waiting for Elasticsearch at $es"
  sleep 5
done

call POST /_security/user/kibana_system/_password "{\"password\":$(json_string "$KIBANA_SYSTEM_PASSWORD")}"

# The alias over the daily indices takes the name `events`: an index of that name (the
# layout before daily indices) would make every daily index fail to be created.
code=$(curl -sS -o "$response" -w '%{http_code}' "${curl_args[@]}" "$es/$EVENTS_INDEX/_settings?filter_path=*.settings.index.provided_name")
if [[ $code == 200 ]] && grep -q "^{\"$EVENTS_INDEX\":" "$response"; then
  echo "$EVENTS_INDEX is an index, but the pipeline needs the name for the alias over its daily indices $EVENTS_INDEX-yyyy.MM.dd: move its events into those and delete it" >&2
  exit 1
fi
scripts=$(dirname "${BASH_SOURCE[0]}")
for file in "$scripts"/ilm-policy-*.json; do
  name=$(basename "$file" .json)
  call PUT "/_ilm/policy/${name#ilm-policy-}" "$(cat "$file")"
done
# The templates are rendered for one node (no replica); ELASTICSEARCH_REPLICAS gives every
# index that many replicas on a cluster of several nodes.
for file in "$scripts"/index-template-*.json; do
  name=$(basename "$file" .json)
  body=$(cat "$file")
  if [[ -n ${ELASTICSEARCH_REPLICAS:-} ]]; then
    [[ $ELASTICSEARCH_REPLICAS =~ ^[0-9]$ ]] || { echo "ELASTICSEARCH_REPLICAS must be 0-9, got '$ELASTICSEARCH_REPLICAS'" >&2; exit 1; }
    body=${body//\"number_of_replicas\": 0/\"number_of_replicas\": $ELASTICSEARCH_REPLICAS}
  fi
  call PUT "/_index_template/${name#index-template-}" "$body"
done

if [[ $PIPELINE_USERNAME == elastic ]]; then
  echo "elasticsearch-credentials names the superuser elastic: no pipeline user to create"
  exit 0
fi

indices=""
IFS=',' read -ra names <<< "$PIPELINE_INDICES"
for name in "${names[@]}"; do indices+="${indices:+,}$(json_string "$name")"; done
# The daily events indices: index writes into them, window-aggregate reads and refreshes one.
indices+=",$(json_string "$EVENTS_INDEX-*")"

# cluster: monitor (cluster health in ensureIndices, node stats for the exporter),
# manage_index_templates (ensureIndices puts the index templates).
# indices: create_index + write (bulk, op_type create, external versions), read (searches,
# aggregations), view_index_metadata, maintenance (refresh before a recompute),
# monitor (index stats for the exporter).
call PUT /_security/role/big-data-pipeline "{
  \"cluster\": [\"monitor\", \"manage_index_templates\"],
  \"indices\": [{
    \"names\": [$indices],
    \"privileges\": [\"create_index\", \"write\", \"read\", \"view_index_metadata\", \"maintenance\", \"monitor\"]
  }]
}"

call PUT "/_security/user/$PIPELINE_USERNAME" "{
  \"password\": $(json_string "$PIPELINE_PASSWORD"),
  \"roles\": [\"big-data-pipeline\"],
  \"full_name\": \"big-data-pipeline functions, dashboard and exporter\"
}"
