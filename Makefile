# kuberos-registry: `make help` lists every target.

SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

BIN := $(CURDIR)/bin
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
KUBEBUILDER_ASSETS := $(BIN)/k8s
export KUBEBUILDER_ASSETS

# Tests that start a control plane are slow to compile the first time; give them room.
TEST_TIMEOUT ?= 20m

.PHONY: help
help: ## List every target with what it does.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

.PHONY: build
build: ## Build the webhook and the CLI into bin/.
	go build -trimpath -o $(BIN)/kuberos-registry-webhook ./cmd/kuberos-registry-webhook
	go build -trimpath -o $(BIN)/kuberos-registry ./cmd/kuberos-registry

.PHONY: envtest-assets
envtest-assets: ## Build kube-apiserver, etcd and kubectl into bin/k8s (minutes, once).
	@bash hack/tools/build-control-plane.sh

# FUZZTIME bounds each fuzz target of `make fuzz`; `make test` fuzzes each for FUZZTIME_TEST.
FUZZTIME ?= 60s
FUZZTIME_TEST ?= 5s
FUZZ_TARGETS := ./pkg/registry/:FuzzParseEntries ./pkg/registry/:FuzzParseNames \
	./webhook/:FuzzHandle

.PHONY: test
test: envtest-assets cert-manager registry ## Run every test: unit tests and end to end against a real control plane.
	go test -count=1 -timeout $(TEST_TIMEOUT) ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_TEST)

.PHONY: fuzz
fuzz: ## Fuzz both annotation parsers and the handler, FUZZTIME (60s) each.
	@for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; name=$${target##*:}; \
		echo "fuzzing $$name in $$pkg for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

.PHONY: test-unit
test-unit: ## Run the tests that need no control plane.
	go test -count=1 $$(go list ./... | grep -v /e2e)

.PHONY: e2e
e2e: envtest-assets cert-manager registry ## Run the end-to-end tests only, verbosely.
	go test -count=1 -timeout $(TEST_TIMEOUT) -v ./e2e/...

.PHONY: demo
demo: envtest-assets ## Run the main job on a local control plane and print what changed.
	@echo "compiling the demo (the first time takes a minute or two)"
	go run ./hack/demo

.PHONY: manifests
manifests: ## Render the chart into manifests/kuberos-registry.yaml and the README's values table.
	go run ./hack/manifests

.PHONY: cert-manager
cert-manager: ## Build cert-manager's controllers, run out of cluster by the chart tests (once).
	@bash hack/certmanager/build.sh

.PHONY: registry
registry: ## Build the CNCF Distribution registry v3.1.2 into bin/, for the registry tests (once).
	@bash hack/tools/build-registry.sh

.PHONY: bench
bench: envtest-assets ## Measure speed, scale and memory; write BENCHMARKS.md and bench/.
	@bash hack/bench/run.sh

IMAGE ?= ghcr.io/kuberos-io/kuberos-registry-webhook:$(shell awk '/^appVersion:/ {gsub(/"/, "", $$2); print $$2}' charts/kuberos-registry/Chart.yaml)

.PHONY: image
image: ## Build the webhook image (needs a Docker engine), tagged as the chart's default.
	docker build -t $(IMAGE) .

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Check formatting, go vet and golangci-lint.
	@test -z "$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*'))" || \
		{ echo "gofmt needed on:"; gofmt -l $$(find . -name '*.go' -not -path './bin/*'); exit 1; }
	go vet ./...
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	@echo "building golangci-lint $(GOLANGCI_LINT_VERSION) into bin/ (about a minute, once)"
	@mkdir -p $(BIN)
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@mv $(BIN)/golangci-lint $(GOLANGCI_LINT)

.PHONY: fmt
fmt: ## Format the code with gofmt.
	gofmt -w $$(find . -name '*.go' -not -path './bin/*')

.PHONY: tidy
tidy: ## Tidy every go.mod: the main module and the tool modules under hack/.
	go mod tidy
	cd hack/tools && go mod tidy
	cd hack/certmanager && go mod tidy
	cd hack/bench && go mod tidy

.PHONY: clean
clean: ## Remove built binaries (bin/k8s is kept: it takes minutes to rebuild).
	rm -f $(BIN)/kuberos-registry-webhook $(BIN)/kuberos-registry
