# AgentTrace. `make up` runs the platform locally with demo data; `make test`
# runs every test. Both start what they need (scripts/deps.sh).
SHELL := /bin/bash
.DEFAULT_GOAL := help

MODULES  := pkg services/auth services/gateway services/ingest services/query services/worker tests/e2e tests/skaffold tests/chart tests/cluster
SERVICES := auth gateway ingest query worker

BIN      := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
export GOBIN := $(BIN)

# Pinned tool versions, installed from the Go module proxy into ./bin.
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.1
GRPC_GATEWAY_VERSION       := v2.33.0
GRPCURL_VERSION            := v1.9.4
HELM_VERSION               := v3.22.0
GOLANGCI_LINT_VERSION      := v2.15.0
JAEGER_VERSION             := v1.75.0

TOOLS := $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapiv2 $(BIN)/grpcurl

.PHONY: help
help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# ---- tools ---------------------------------------------------------------
.PHONY: tools
tools: $(TOOLS) ## install pinned tools into ./bin

$(BIN)/buf:
	go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(BIN)/protoc-gen-go:
	go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(BIN)/protoc-gen-grpc-gateway:
	go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
$(BIN)/protoc-gen-openapiv2:
	go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
$(BIN)/grpcurl:
	go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
# helm renders charts/agenttrace in the tests (tests/skaffold); not in TOOLS
# because it takes minutes to build and code generation does not need it.
$(BIN)/helm:
	go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
# golangci-lint runs in make lint (.golangci.yml); not in TOOLS for the same
# reason (about seven minutes to build cold).
$(BIN)/golangci-lint:
	go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
# Jaeger v2 (its module keeps v1 tags), the peer of make bench-otlp-jaeger.
# Its go.mod has a replace directive, which go install refuses: it is built
# inside its downloaded module instead (about ten minutes cold).
$(BIN)/jaeger:
	cd "$$(go mod download -json github.com/jaegertracing/jaeger@$(JAEGER_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p')" && \
		GOFLAGS=-mod=mod GOWORK=off go build -o $(BIN)/jaeger ./cmd/jaeger

# ---- code generation -----------------------------------------------------
.PHONY: generate
generate: $(TOOLS) ## regenerate pkg/gen from proto/ (offline, local plugins)
	buf lint
	rm -rf pkg/gen/agenttrace pkg/gen/openapi/*.json
	buf generate
	@# Routes not generated from the protos (OTLP/HTTP, Langfuse), and int64
	@# schemas as the gateway writes them: proto/openapi-routes.json.
	cd pkg && go run ./gen/openapi/internal/openapimerge -doc gen/openapi/agenttrace.swagger.json -routes ../proto/openapi-routes.json

.PHONY: check-generate
check-generate: generate web-generate ## fail if generated code differs from what is committed
	@if ! git diff --quiet -- pkg/gen $(WEB)/src/api || [ -n "$$(git ls-files --others --exclude-standard pkg/gen $(WEB)/src/api)" ]; then \
		echo "generated code is out of date: run 'make generate web-generate' and commit pkg/gen and $(WEB)/src/api"; \
		git status --short -- pkg/gen $(WEB)/src/api; exit 1; fi

# golangci-lint (.golangci.yml: go vet among its standard set, gofmt) runs
# in each module as its tests build: outside the workspace. gofmt -l stays
# for the files a build constraint hides from it (procattr_other_test.go).
.PHONY: lint
lint: $(TOOLS) $(BIN)/golangci-lint ## buf lint, gofmt and golangci-lint (.golangci.yml) on every module
	buf lint
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do echo "== golangci-lint $$m"; \
		(cd $$m && GOWORK=off golangci-lint run --config $(CURDIR)/.golangci.yml ./...) || exit 1; done

# ---- web UI --------------------------------------------------------------
# The browser UI (services/gateway/web: Vite, React, TypeScript; packages
# pinned in its package-lock.json) is built into the gateway's embedded
# directory; a gateway built without it serves a page saying how to build it.
WEB := services/gateway/web

.PHONY: web web-test web-generate
web: $(WEB)/node_modules/.package-lock.json ## build the web UI into the gateway (services/gateway/internal/webui/dist/app)
	npm run --prefix $(WEB) --silent build

web-test: $(WEB)/node_modules/.package-lock.json ## the web UI's type check, unit tests and bundle budget
	npm run --prefix $(WEB) --silent typecheck
	npm test --prefix $(WEB) --silent
	npm run --prefix $(WEB) --silent build
	npm run --prefix $(WEB) --silent check-bundle

# The UI's API types come from the OpenAPI document; npm's tools generate
# them, so this is apart from `make generate` (Go module proxy only).
web-generate: $(WEB)/node_modules/.package-lock.json ## regenerate the web UI's API types (src/api/schema.d.ts) from pkg/gen/openapi
	npm run --prefix $(WEB) --silent generate

# ---- build ---------------------------------------------------------------
.PHONY: build
build: ## build the five service binaries into ./bin
	@for s in $(SERVICES); do (cd services/$$s && go build -o $(BIN)/agenttrace-$$s ./cmd/$$s) || exit 1; done

# ---- dependencies --------------------------------------------------------
.PHONY: deps
deps: ## start PostgreSQL, Redis, NATS and ClickHouse if they are not running
	scripts/deps.sh

# ---- tests ---------------------------------------------------------------
# The end-to-end test's second OTLP client: the OpenTelemetry JS SDK from npm.
OTEL_JS := tests/e2e/otel-js
# The real Langfuse (v5, v3) and Vercel AI SDKs, run unmodified (TestSDK*).
SDK_JS  := tests/e2e/sdk-js
# The browser driver of the web UI's test (TestWebUI): playwright-core.
WEB_E2E := tests/e2e/web-ui

.PHONY: node-deps
node-deps: $(OTEL_JS)/node_modules/.package-lock.json $(SDK_JS)/node_modules/.package-lock.json $(WEB_E2E)/node_modules/.package-lock.json ## install the e2e Node.js clients' packages (npm ci)

# The browser TestWebUI drives: Debian's Chromium, installed when missing.
CHROMIUM := /usr/bin/chromium
.PHONY: chromium
chromium: ## install Debian's Chromium (the web UI's browser test) when it is missing
	@[ -x $(CHROMIUM) ] || { echo "installing Debian's chromium for the web UI's browser test"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
		{ $$sudo apt-get update -q >/dev/null && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; }

# npm ci rewrites node_modules/.package-lock.json, so this reruns only when
# the manifest or the lock file changed.
$(OTEL_JS)/node_modules/.package-lock.json $(SDK_JS)/node_modules/.package-lock.json $(WEB_E2E)/node_modules/.package-lock.json $(WEB)/node_modules/.package-lock.json: %/node_modules/.package-lock.json: %/package.json %/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: the web UI and the end-to-end test's JS clients need Node.js >= 20.19 with npm"; exit 1; }
	npm ci --prefix $* --no-audit --no-fund

# make test runs every module's tests (tests/chart, the rest of chart-test,
# among them), then the chart on a real cluster (cluster-test), and prints
# how long each part took.
.PHONY: test test-modules
#
# The cluster's binaries and images are prepared beside the module tests, at
# the lowest CPU priority: on a machine that has not built them yet (tens of
# minutes of compiling) they use what the tests leave idle; once cached this
# takes seconds.
test: ## every test: generated-code drift, lint, unit, integration, end-to-end and the chart on a local cluster
	@mkdir -p .run; t0=$$(date +%s); \
	setsid nice -n 19 scripts/cluster/up.sh --prepare >.run/cluster-prepare.log 2>&1 & prep=$$!; \
	if ! $(MAKE) --no-print-directory test-modules; then kill -- -$$prep 2>/dev/null; wait $$prep; exit 1; fi; t1=$$(date +%s); \
	wait $$prep || { tail -n 40 .run/cluster-prepare.log; echo "make test: preparing the local cluster failed (log: .run/cluster-prepare.log)"; exit 1; }; \
	t2=$$(date +%s); \
	$(MAKE) --no-print-directory cluster-test || exit 1; t3=$$(date +%s); \
	echo "make test: passed in $$((t3 - t0))s (checks and module tests $$((t1 - t0))s, then waiting for the cluster's build $$((t2 - t1))s, cluster-test $$((t3 - t2))s)"

# tests/cluster skips here (no AGENTTRACE_CLUSTER_ENV); cluster-test runs it.
# RACE_MODULES run under the race detector: the services' code and tests,
# and the end-to-end test, which then builds race-enabled services and
# fails on any race they report. tests/chart, tests/skaffold and
# tests/cluster check the chart and the deployment, not the services' code:
# the detector would only slow them.
RACE_MODULES := pkg $(addprefix services/,$(SERVICES)) tests/e2e
test-modules: check-generate lint deps web-test build node-deps chromium $(BIN)/helm chart-lint
	@for m in $(MODULES); do echo "== $$m"; s=$$(date +%s); \
		race=; case " $(RACE_MODULES) " in *" $$m "*) race=-race;; esac; \
		(cd $$m && GOWORK=off go test $$race -count=1 -timeout 15m ./...) || exit 1; \
		echo "== $$m: $$(($$(date +%s) - s))s"; done

# The chart, verified offline: helm lint --strict for the defaults and every
# ci/*-values.yaml scenario, against an explicit recent Kubernetes version,
# then tests/chart (rendering as helm install does against a fake cluster,
# strict decoding, the guide's numbers, pod security, the env contract, alert
# metrics, the Secret's life cycle, NetworkPolicy reachability).
CHART        := charts/agenttrace
KUBE_VERSION := 1.33.0
# helm lint renders without a cluster and in lint mode, where the chart's
# fail calls only print "[INFO] Fail: ..." and rendering goes on. The image
# refusal would leave every service image empty, so the lint gets a registry
# (lint only; installs must name theirs). The Secret refusal stays an INFO
# line: the generated Secret's template is linted as it renders past it, and
# tests/chart renders its real paths (refused offline, generated, reused,
# validated) with lookup answered. No --with-subcharts: the store subcharts
# use the umbrella's named templates (templates/_store.tpl), so they render
# only within it, as this lint renders them.
CHART_LINT_SET := --set image.registry=registry.example.com/agenttrace

.PHONY: chart-test chart-lint
chart-test: chart-lint ## helm lint --strict of charts/agenttrace (defaults + each ci/*-values.yaml) and tests/chart
	cd tests/chart && GOWORK=off go test -count=1 ./...

chart-lint: $(BIN)/helm ## helm lint --strict of charts/agenttrace, defaults and each ci/*-values.yaml
	helm lint --strict --kube-version $(KUBE_VERSION) $(CHART_LINT_SET) $(CHART)
	@for f in $(CHART)/ci/*-values.yaml; do echo "== helm lint -f $$f"; \
		helm lint --strict --kube-version $(KUBE_VERSION) $(CHART_LINT_SET) -f $$f $(CHART) || exit 1; done

.PHONY: test-unit
test-unit: ## unit tests only (no servers needed)
	@for m in $(MODULES); do (cd $$m && GOWORK=off go test -short -count=1 ./...) || exit 1; done

.PHONY: bench
bench: deps build ## benchmarks (print figures; no pass/fail on speed)
	@for m in $(MODULES); do (cd $$m && GOWORK=off go test -run '^$$' -bench . -benchmem ./...) || exit 1; done

# The OTLP figures: a real stack (the end-to-end test's) under load for
# -otlp.duration per span shape, uncompressed unless -otlp.compression=gzip;
# e.g. OTLP_BENCH_FLAGS='-otlp.duration=5m -otlp.drain=10m -otlp.shapes=small'.
# The timeout covers two shapes of 5 minutes' sending and their drains.
.PHONY: bench-otlp
bench-otlp: deps ## OTLP spans/s accepted and end to end (small and LLM-sized spans), decode+map cost per span
	cd tests/e2e && GOWORK=off go test -count=1 -run '^$$' -bench '^BenchmarkOTLP$$' -benchmem -timeout 90m . $(OTLP_BENCH_FLAGS)

# The same, with each shape's load first sent to Jaeger v2 (memory store)
# and the ratio of accepted spans/s printed.
.PHONY: bench-otlp-jaeger
bench-otlp-jaeger: deps $(BIN)/jaeger ## bench-otlp beside Jaeger v2: accepted spans/s of both for the same load
	$(MAKE) bench-otlp OTLP_BENCH_FLAGS='-otlp.jaeger=$(BIN)/jaeger $(OTLP_BENCH_FLAGS)'

# Reads at scale: benchload fills a database of its own (agenttrace_bench_<size>,
# dropped and refilled unless it already holds this load) through the
# worker's writer, then benchread serves the query service's gRPC API over
# it and prints p50/p99 of 20 warm runs per read beside the load average.
# e.g. make bench-scale BENCH_OBSERVATIONS=1000000; more loader flags
# (-traces, -days, -sessions, -users, -llm-share) in BENCH_SCALE_FLAGS,
# reader flags (-runs, -only) in BENCH_READ_FLAGS.
BENCH_OBSERVATIONS ?= 10000000
BENCH_DB           ?=
.PHONY: bench-scale
bench-scale: deps ## reads at scale: load 10M observations once (BENCH_OBSERVATIONS), print p50/p99 per read
	cd services/worker && GOWORK=off go run ./internal/benchload -observations $(BENCH_OBSERVATIONS) -db '$(BENCH_DB)' $(BENCH_SCALE_FLAGS)
	cd services/query && GOWORK=off go run ./internal/benchread -observations $(BENCH_OBSERVATIONS) -db '$(BENCH_DB)' $(BENCH_READ_FLAGS)

# ---- images and Kubernetes -----------------------------------------------
# One image per service from build/Dockerfile (context: the repository root;
# BuildKit for its cache mounts); ko builds the same images without Docker
# (.ko.yaml). The Kubernetes inner loop is kind + skaffold: `make kind-up`,
# then `skaffold dev -p kind`.
IMAGE_PREFIX ?=
IMAGE_TAG    ?= dev
KIND_CLUSTER := agenttrace

# require fails with one message naming every missing tool.
define require
	@missing=""; for t in $(1); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then echo "make $@: not found on PATH:$$missing (needed: $(1); see README, Kubernetes development)"; exit 1; fi
endef

.PHONY: images
images: ## build the five images with Docker: $(IMAGE_PREFIX)agenttrace-<service>:$(IMAGE_TAG)
	$(call require,docker)
	@docker info >/dev/null 2>&1 || { echo "make images: the docker CLI cannot reach a Docker engine (is it running?)"; exit 1; }
	@for s in $(SERVICES); do \
		DOCKER_BUILDKIT=1 docker build -f build/Dockerfile --build-arg SERVICE=$$s -t $(IMAGE_PREFIX)agenttrace-$$s:$(IMAGE_TAG) . || exit 1; done

.PHONY: kind-up
kind-up: ## create the kind cluster (deploy/kind/cluster.yaml) for `skaffold dev -p kind`
	$(call require,docker kind kubectl helm skaffold)
	@docker info >/dev/null 2>&1 || { echo "make kind-up: the docker CLI cannot reach a Docker engine (is it running?)"; exit 1; }
	@if kind get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)'; then echo "kind cluster $(KIND_CLUSTER) already exists"; \
	else kind create cluster --config deploy/kind/cluster.yaml; fi
	@echo "next: skaffold dev -p kind   (builds the images, loads them into kind, installs charts/agenttrace,"
	@echo "      forwards the REST API to http://127.0.0.1:8080 and OTLP/gRPC to 127.0.0.1:4317)"
	@echo "done: make kind-down"

.PHONY: kind-down
kind-down: ## delete the kind cluster that kind-up created
	$(call require,docker kind)
	kind delete cluster --name $(KIND_CLUSTER)

# ---- a local Kubernetes cluster -------------------------------------------
# A real single-node cluster on this machine (scripts/cluster): no Docker,
# kind or registry. The first cluster-up compiles Kubernetes, kube-router,
# CoreDNS and the local-path provisioner from the module proxy and builds
# the images (tens of minutes on 2 cores; cached in
# ~/.cache/agenttrace/cluster); later runs start in about a minute.
CLUSTER_ENV := /var/lib/agenttrace-cluster/cluster.env

.PHONY: cluster-up cluster-down cluster-test
cluster-up: ## start the local single-node Kubernetes cluster (builds what is missing; KUBECONFIG in its output)
	scripts/cluster/up.sh

cluster-down: ## stop the local cluster and remove every trace of it (the build cache stays)
	scripts/cluster/down.sh

# Starts the cluster unless it runs already, installs the chart and runs
# tests/cluster, then stops the cluster if it started it.
cluster-test: deps $(BIN)/helm ## helm install/test/upgrade/rollback/uninstall charts/agenttrace on the local cluster (tests/cluster)
	@t0=$$(date +%s); up=; [ -f $(CLUSTER_ENV) ] && up=1; \
	scripts/cluster/up.sh || { [ -n "$$up" ] || scripts/cluster/down.sh; exit 1; }; t1=$$(date +%s); \
	(cd tests/cluster && AGENTTRACE_CLUSTER_ENV=$(CLUSTER_ENV) HELM=$(BIN)/helm GOWORK=off \
		go test -count=1 -timeout 60m -v -run '^TestCluster$$' ./...); rc=$$?; t2=$$(date +%s); \
	if [ -z "$$up" ]; then scripts/cluster/down.sh || rc=1; fi; t3=$$(date +%s); \
	echo "cluster-test: cluster up $$((t1 - t0))s, tests $$((t2 - t1))s, cluster down $$((t3 - t2))s"; exit $$rc

# ---- running locally -----------------------------------------------------
.PHONY: up
# The UI is built first, so the gateway embeds it; without npm the gateway
# serves its placeholder page and the rest runs as usual.
up: $(BIN)/grpcurl ## start everything locally, load demo data, print where to look
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory web; \
		else echo "up: npm not found: the gateway serves a placeholder instead of the web UI (install Node.js >= 20.19 and run make up again)"; fi
	@$(MAKE) --no-print-directory build
	scripts/up.sh

.PHONY: down
down: ## stop what `make up` started
	scripts/down.sh

.PHONY: tidy
tidy: ## go mod tidy in every module
	@for m in $(MODULES); do (cd $$m && GOWORK=off go mod tidy) || exit 1; done
