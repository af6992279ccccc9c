# lxdstar — build, test bed and tests. `make test` is what CI runs (.ci/run).

# Use `go` from PATH; fall back to the toolchain in /usr/local/go.
export PATH := $(PATH):/usr/local/go/bin

GO      ?= go
TESTBED := tests/testbed/testbed.sh

.PHONY: all build test vet fmt demo bench testbed-up testbed-up-main testbed-down testbed-status

all: build

build:
	$(GO) build -o bin/lxdstar ./cmd/lxdstar

# The real-LXD test bed (see shared/TESTBED.md): main, second and a 2-member cluster.
testbed-up:
	$(TESTBED) up all

testbed-up-main:
	$(TESTBED) up main

testbed-down:
	$(TESTBED) down all

testbed-status:
	$(TESTBED) status

test: testbed-up
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

fmt:
	$(GO) fmt ./...

demo: testbed-up-main build
	bin/lxdstar scripts/examples/quickstart.star

bench:
	@echo "no benchmarks yet"
