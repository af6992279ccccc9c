# lxdstar — build, test bed and tests. `make test` is what CI runs (.ci/run).

# Use `go` from PATH; fall back to the toolchain in /usr/local/go.
export PATH := $(PATH):/usr/local/go/bin

GO      ?= go
TESTBED := tests/testbed/testbed.sh

.PHONY: all build test vet fmt demo bench fuzz testbed-up testbed-up-main testbed-down testbed-status

all: build

build:
	$(GO) build -o bin/lxdstar ./cmd/lxdstar

# The real test bed (see tests/testbed/testbed.sh): LXD 5.0 main, second, a
# 2-member cluster and "fault", a daemon only the fault-injection tests kill
# and restart; and Incus 6.0 (from bookworm-backports), which the suite runs
# against too.
testbed-up:
	$(TESTBED) up all

testbed-up-main:
	$(TESTBED) up main

testbed-down:
	$(TESTBED) down all

testbed-status:
	$(TESTBED) status

# LXDSTAR_REQUIRE_TESTBED=1: the integration tests fail, rather than skip,
# when the test bed does not answer. tests/gotest.sh keeps the whole output in
# /tmp/lxdstar-test.log and ends a failed run with a summary of what failed.
test: testbed-up
	$(GO) vet ./...
	GO=$(GO) LXDSTAR_REQUIRE_TESTBED=1 tests/gotest.sh -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

fmt:
	$(GO) fmt ./...

# Installs and starts the whole test bed (LXD and Incus), then runs the
# quickstart against each server.
demo: testbed-up build
	bin/lxdstar scripts/examples/quickstart.star
	bin/lxdstar --endpoint /var/lib/incus/unix.socket scripts/examples/quickstart.star

# Benchmarks against pylxd, lxc, incus and curl on the main daemon and Incus
# (GitHub issues #8 and #18): full size, about 55 minutes on the shared
# two-core test bed (ten of them the soak, several creating and deleting
# 1000 instances); writes docs/BENCHMARKS.md (see bench/).
bench: testbed-up-main build
	@command -v curl >/dev/null && test -x /usr/bin/time || apt-get install -y -q curl time </dev/null
	$(GO) run ./bench -size full -lxdstar bin/lxdstar -out docs/BENCHMARKS.md

# Fuzz each target for FUZZTIME (default 30s; `make fuzz FUZZTIME=5m`). The
# seeds (testdata/fuzz/<name>/) already run with every `go test`; a crasher
# is written there too: fix it, and keep it as a seed.
fuzz:
	@set -e; for t in lxdmod/rest:FuzzParseResponse lxdmod/rest:FuzzParseEvent lxdmod/rest:FuzzCLIConfig \
		internal/starjson:FuzzJSONRoundTrip internal/starargs:FuzzParseFileMode builtins:FuzzYAMLRoundTrip; do \
		echo "fuzz: $${t#*:} ($(if $(FUZZTIME),$(FUZZTIME),30s))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(if $(FUZZTIME),$(FUZZTIME),30s) ./$${t%%:*}; \
	done
