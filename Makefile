# The commands the README shows. Go 1.27.3: go1.26.8 has known
# standard-library vulnerabilities in net/http and crypto/x509.
export GOTOOLCHAIN := go1.27.3
SHELL := /bin/bash

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X github.com/envop/envop/internal/version.Version=$(VERSION) \
           -X github.com/envop/envop/internal/version.Commit=$(COMMIT)

CLUSTER_DIR := .cluster
# Where hack/controlplane/build.sh puts (or finds) the control-plane binaries.
CONTROLPLANE_BIN = $(shell bash hack/controlplane/build.sh --print-dir)
# Where hack/dex/build.sh puts (or finds) the Dex binary of the OIDC tests.
DEX_BIN = $(shell bash hack/dex/build.sh --print-dir)
# Where hack/istio/fetch.sh puts (or finds) Istio's CRDs for the mesh tests.
ISTIO_CRDS = $(shell bash hack/istio/fetch.sh --print-path)
# Test artifacts (the status page's screenshot) are kept in .artifacts/.
GO_TEST_FLAGS ?= -race -timeout 30m -artifacts -outputdir $(CURDIR)/.artifacts

.PHONY: all build test vet fmt-check controlplane dex istio-crds cluster-up cluster-down demo bench trials clean

all: build

build:
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/envop ./cmd/envop

## controlplane: build the pinned etcd, Kubernetes and kwok binaries (cached).
controlplane:
	bash hack/controlplane/build.sh >/dev/null

## dex: build the pinned Dex OpenID provider for the auth tests (cached; needs gcc).
dex:
	bash hack/dex/build.sh >/dev/null

## istio-crds: fetch the pinned Istio CRDs for the service mesh tests (cached).
istio-crds:
	bash hack/istio/fetch.sh >/dev/null

## test: vet, formatting and every test, the cluster tests included. The
## tests that run the binary run the bin/envop built here (ENVOP_BIN); the
## packages that call testcluster.SharedMain share one plane started here
## on free ports (ENVOP_TEST_CLUSTER), stopped when the tests end.
test: controlplane dex istio-crds vet fmt-check build
	mkdir -p .artifacts
	plane="$$(mktemp -d)"; \
	trap 'go run ./hack/localcluster down --dir "$$plane" >/dev/null' EXIT; \
	go run ./hack/localcluster up --free-ports --dir "$$plane" --bin '$(CONTROLPLANE_BIN)' >/dev/null || exit 1; \
	ENVOP_CONTROLPLANE_BIN='$(CONTROLPLANE_BIN)' ENVOP_DEX_BIN='$(DEX_BIN)' ENVOP_ISTIO_CRDS='$(ISTIO_CRDS)' \
		ENVOP_BIN='$(CURDIR)/bin/envop' ENVOP_TEST_CLUSTER="$$plane" go test $(GO_TEST_FLAGS) ./...

vet:
	go vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go'))"; \
	if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## cluster-up: start the local control plane; kubeconfig in .cluster/admin.kubeconfig.
cluster-up: controlplane
	go run ./hack/localcluster up --dir $(CLUSTER_DIR) --bin '$(CONTROLPLANE_BIN)'

## cluster-down: stop every process cluster-up started and remove its state.
cluster-down:
	go run ./hack/localcluster down --dir $(CLUSTER_DIR)

## demo: a local cluster, the operator and the sample environment; Ctrl-C stops it all.
demo: controlplane build
	go run ./hack/demo --bin '$(CONTROLPLANE_BIN)' --envop bin/envop

BENCH_SERVICES ?= 200
BENCH_RUNS ?= 3
# More sizes for the cost curve, one run each; empty runs none.
BENCH_CURVE ?= 1000,2000
## bench: the operator against kubectl on a local plane; writes docs/benchmarks.md.
bench: controlplane build
	go run ./hack/bench --bin '$(CONTROLPLANE_BIN)' --envop bin/envop --services $(BENCH_SERVICES) --runs $(BENCH_RUNS) --curve '$(BENCH_CURVE)'

FUZZ_LOG := $(or $(TMPDIR),/tmp)/envop-trials-fuzz.log
## trials: reliability trials, long form (~15 min); results in docs/reliability.md.
trials: controlplane
	set -o pipefail; go test -run '^$$' -fuzz=FuzzLoad -fuzztime=10m ./internal/manifest/ 2>&1 | tee $(FUZZ_LOG)
	ENVOP_TRIALS=long ENVOP_FUZZ_LOG=$(FUZZ_LOG) ENVOP_CONTROLPLANE_BIN='$(CONTROLPLANE_BIN)' go test -count=1 -run Trial -timeout 60m -v ./internal/trials/

clean: cluster-down
	rm -rf bin
