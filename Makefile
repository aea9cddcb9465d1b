# big-data-pipeline — the front door. `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

FN        ?= enrich
PORT      ?= 8080
# The local platform (make platform-up / make run); tests use their own ports.
KAFKA_PORT ?= 19092
ES_PORT    ?= 19200
# make dev's Prometheus (the runtime's metrics: DEV_METRICS_PORT=19308, elasticsearch_exporter: ES_EXPORTER_PORT=19114).
PROMETHEUS_PORT ?= 19090
# The client settings of the running local platform: what infra.sh env prints (every broker,
# and in secure mode the SCRAM user, the passwords and the CA) over the plain defaults.
LOCAL_ENV  := export KAFKA_BROKERS=127.0.0.1:$(KAFKA_PORT) ELASTICSEARCH_URL=http://127.0.0.1:$(ES_PORT); \
  set -a; eval "$$(BDP_RUN_DIR=.run/infra platform/local/infra.sh env)"; set +a;
FUNCTIONS  := generate enrich index window-aggregate

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: install
install: node_modules/.package-lock.json ## Install npm dependencies (from the lockfile)

.PHONY: build
build: install ## Bundle each function and the dashboard into dist/<name>/index.mjs with esbuild
	node build.mjs

.PHONY: typecheck
typecheck: install ## Type-check everything (tsc, strict)
	npx tsc --noEmit

.PHONY: test
test: install ## Everything: type-check, build, unit + handler + integration tests on real Kafka and Elasticsearch, upstream checks
	@rm -f .run/test-summary.txt
	@set -o pipefail; status=0; \
	  npx tsc --noEmit || status=$$?; \
	  if [ $$status -eq 0 ]; then node build.mjs || status=$$?; fi; \
	  if [ $$status -eq 0 ]; then $(TEST_TOOLS) || status=$$?; fi; \
	  if [ $$status -eq 0 ]; then npx vitest run || status=$$?; fi; \
	  if [ -s .run/test-summary.txt ]; then cat .run/test-summary.txt; else echo "0 passed, 1 failed"; fi; \
	  exit $$status

# The tools the tests drive, built from Go modules once and cached (a few minutes each the
# first time): the cluster's Prometheus, promtool and elasticsearch_exporter, kube-apiserver +
# etcd for the deploy tool, and the upstream KEDA, HPA and Knative code the local emulation is
# checked against.
TEST_TOOLS = platform/local/monitoring-tools.sh all >&2 && \
  PROMTOOL=$$(platform/local/promtool.sh) && export PROMTOOL && \
  CHROMIUM=$$(tools/browser/chromium.sh) && export CHROMIUM && \
  tools/k8s-testenv/testenv.sh build >&2 && \
  UPSTREAM_KEDA=$$(tools/upstream/build.sh keda) && export UPSTREAM_KEDA && \
  UPSTREAM_HPA=$$(tools/upstream/build.sh hpa) && export UPSTREAM_HPA && \
  UPSTREAM_KNATIVE=$$(tools/upstream/build.sh knative) && export UPSTREAM_KNATIVE

.PHONY: test-unit
test-unit: install ## Only the tests that need no Kafka, Elasticsearch or API server (fast)
	@$(TEST_TOOLS); TEST_KAFKA_BROKERS=none TEST_ELASTICSEARCH_URL=none npx vitest run --exclude '**/*.it.test.ts' --exclude 'node_modules/**'

.PHONY: platform-up
platform-up: install ## Start local Kafka + Elasticsearch (fetched through Maven) and create topics and indices
	KAFKA_PORT=$(KAFKA_PORT) KAFKA_CONTROLLER_PORT=$$(( $(KAFKA_PORT) + 1 )) ES_PORT=$(ES_PORT) ES_TRANSPORT_PORT=$$(( $(ES_PORT) + 100 )) \
	  BDP_RUN_DIR=.run/infra platform/local/infra.sh start
	@$(LOCAL_ENV) npx tsx cli/setup.ts

.PHONY: platform-down
platform-down: ## Stop the local Kafka + Elasticsearch and delete their data
	BDP_RUN_DIR=.run/infra platform/local/infra.sh stop

.PHONY: run
run: build ## Run one function on the local platform: make run FN=enrich PORT=8081
	@test -f dist/$(FN)/index.mjs || { echo "unknown function '$(FN)'; one of: $(FUNCTIONS)"; exit 2; }
	@$(LOCAL_ENV) PORT=$(PORT) HOST=127.0.0.1 node --enable-source-maps dist/$(FN)/index.mjs

# node --import tsx, not the tsx command: its signal relay SIGKILLs a child that does not
# acknowledge Ctrl-C within 30 ms, and a busy runtime would then leave Kafka and Elasticsearch running.
.PHONY: dev
dev: build ## Run the whole pipeline locally (topology from knative/ + keda/, real Kafka + Elasticsearch, Prometheus with the alert rules) until Ctrl-C
	KAFKA_PORT=$(KAFKA_PORT) ES_PORT=$(ES_PORT) PROMETHEUS_PORT=$(PROMETHEUS_PORT) node --import tsx cli/dev.ts

RATE     ?= 100
DURATION ?= 30
.PHONY: load
load: install ## Drive generate with CloudEvents: make load RATE=2000 DURATION=60
	RATE=$(RATE) DURATION=$(DURATION) KAFKA_PORT=$(KAFKA_PORT) ES_PORT=$(ES_PORT) npx tsx cli/load.ts

.PHONY: watch
watch: install ## Live view: lag, consumers, instances, rates and dead letters per source; recent windows
	KAFKA_PORT=$(KAFKA_PORT) ES_PORT=$(ES_PORT) npx tsx cli/watch.ts

.PHONY: redrive
redrive: install ## Re-produce dead letters that failed with a 5xx or timeout; list the others
	KAFKA_PORT=$(KAFKA_PORT) ES_PORT=$(ES_PORT) npx tsx cli/redrive.ts

.PHONY: bench
bench: build ## Benchmarks: every stage and the whole pipeline against ceilings and Spark (~40 min; BENCH_ROWS=1,5 BENCH_ROUNDS=3); not part of make test
	npx tsx bench/main.ts

.PHONY: clean
clean: ## Remove build output and local run state (not the Maven cache)
	rm -rf dist .run

# --- On a Kubernetes cluster (cli/deploy.ts): Knative Serving + Kourier, Eventing, Eventing
# Kafka and KEDA from keda/releases.yaml, platform/, the function images, knative/ and keda/.
# Needs kubectl and a current context (KUBECONFIG, KUBE_CONTEXT); docker or podman for images.
IS_DRY_RUN = $(filter 1 true yes,$(DRY_RUN))

.PHONY: deploy
deploy: install ## Deploy to the current kube context (kind/minikube: images loaded; else REGISTRY=…); DRY_RUN=1 prints the plan only
	@if [ -z "$(IS_DRY_RUN)" ]; then node build.mjs; fi
	npx tsx cli/deploy.ts deploy $(if $(IS_DRY_RUN),--dry-run)

.PHONY: undeploy
undeploy: install ## Delete what make deploy made (KafkaSources take their consumer offsets along); ALL=1 also Knative and KEDA
	npx tsx cli/deploy.ts undeploy $(if $(IS_DRY_RUN),--dry-run)

.PHONY: images
images: build ## Build the images of the functions and the dashboard (docker or podman): dev.local/big-data-pipeline/<name>:<version>
	npx tsx cli/deploy.ts images

.PHONY: status
status: install ## Cluster: Knative Services, sources, consumer groups, ScaledObjects/HPAs, pods
	npx tsx cli/deploy.ts status

.PHONY: logs
logs: install ## Cluster: a function's logs: make logs FN=index [TAIL=100 (default)] [FOLLOW=1]
	npx tsx cli/deploy.ts logs

.PHONY: port-forward
port-forward: install ## Cluster: Kibana, Grafana, Prometheus, dashboard and Kourier (public + internal) on 127.0.0.1 until Ctrl-C
	npx tsx cli/deploy.ts port-forward

.PHONY: curl-local
curl-local: install ## Cluster: POST a sample CloudEvent to a cluster-local function: make curl-local FN=enrich [DATA='{…}' TYPE=…]
	npx tsx cli/deploy.ts curl-local

.PHONY: test-deploy-envtest
test-deploy-envtest: install ## Only the deploy tool against a real kube-apiserver + etcd (tools/k8s-testenv; first build ~10 min); also part of make test
	@tools/k8s-testenv/testenv.sh build >&2 && TEST_KAFKA_BROKERS=none TEST_ELASTICSEARCH_URL=none npx vitest run test/deploy-envtest.it.test.ts
