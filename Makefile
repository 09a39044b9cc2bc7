# Scoria — build, run, test. `make run` starts the all-in-one; `make test` runs every test.
GO      ?= go
BIN     ?= bin
DATA    ?= scoria-data
PKGS    := ./...
# The Ceph RBD driver needs cgo with librados-dev and librbd-dev: built in (tags ceph and
# go-ceph's pacific, for Debian 12's Ceph 16.2) when pkg-config finds them or, as Debian ships
# no .pc files for them, when a C program including librbd.h links with -lrbd -lrados; left
# out otherwise (CEPH_TAGS= forces that). Through GOFLAGS the tags also reach the `go build`
# the end-to-end tests run.
CEPH_TAGS ?= $(shell { pkg-config --exists rados rbd || printf '\043include <rbd/librbd.h>\nint main(void){return 0;}\n' | \
	$${CC:-cc} -x c - -o /dev/null -lrbd -lrados; } >/dev/null 2>&1 && echo ceph,pacific)
ifneq ($(CEPH_TAGS),)
export GOFLAGS := $(strip $(shell $(GO) env GOFLAGS) -tags=$(CEPH_TAGS))
endif

.PHONY: all build run test test-suite test-env-down test-unit lint fuzz bench load clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

## run: the all-in-one on 127.0.0.1:8776 (SQLite, in-process bus, local files under $(DATA))
run: build
	./$(BIN)/scoria --data-dir $(DATA)

## test: set up what the tests need (deploy/test-env.sh: Debian packages, MariaDB, RabbitMQ,
## Keystone, a single-node Ceph, tgtd, an NFS server; idempotent), then formatting, vet, and the whole suite
## with the race detector. The second make reads the Makefile again, so that the RBD driver's
## build tags see the librbd that the set-up may just have installed. Integration tests find
## their services through SCORIA_TEST_* variables (local defaults; Ceph's from its env file)
## and fail instead of skipping when CI=true. SCORIA_TEST_SETUP=0 skips the set-up.
CEPH_DIR ?= /tmp/scoria-ceph
export CEPH_DIR

test:
	deploy/test-env.sh
	$(MAKE) --no-print-directory test-suite

## test-env-down: stop what the set-up started (by its recorded PIDs; packages and data stay)
test-env-down:
	deploy/test-env-down.sh

test-suite: lint
	set -a; if [ -f "$(CEPH_DIR)/env" ]; then . "$(CEPH_DIR)/env"; fi; set +a; \
	$(GO) test -race -count=1 -timeout 30m $(PKGS) && \
	SCORIA_TEST_BROKER_RESTART=1 $(GO) test -race -count=1 -run '^TestBrokerRestart$$' ./internal/rpc/amqp/
	$(MAKE) --no-print-directory fuzz

## fuzz: each fuzz target of the API's request framework for FUZZ_TIME, from its committed
## corpus (<package>/testdata/fuzz/<target>/; a failing input is written there: commit it).
## `go test -fuzz` takes one target per run. Plain `go test` runs the corpus as regression tests.
## FUZZ_TARGETS are <package>:<target>: the body decoder in the framework (internal/api/wire),
## the others through the handlers (internal/api).
FUZZ_TIME    ?= 20s
FUZZ_TARGETS := ./internal/api/wire/:FuzzDecodeJSON ./internal/api/:FuzzListQuery \
	./internal/api/:FuzzMicroversion ./internal/api/:FuzzVolumeAction
fuzz:
	@for pt in $(FUZZ_TARGETS); do \
	  p=$${pt%%:*}; t=$${pt#*:}; \
	  echo "fuzz $$t for $(FUZZ_TIME) ($$p)"; \
	  $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZ_TIME) $$p || exit 1; \
	done

## test-unit: only what needs no service
test-unit:
	$(GO) test -short -count=1 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## bench: go test benchmarks of the hot handlers and queries
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## fault: a longer soak of the randomized fault test (make test runs it for 30 s per deployment);
## FAULT_DURATION per deployment, SCORIA_FAULT_SEED to replay a seed
FAULT_DURATION ?= 10m
.PHONY: fault
fault:
	SCORIA_FAULT_DURATION=$(FAULT_DURATION) $(GO) test -count=1 -v -timeout 2h -run '^TestFault' ./test/fault/

## load: the load tool against split services on MariaDB + RabbitMQ (see README "Speed")
load: build
	$(GO) run ./test/load/cmd/scoria-load-bench

clean:
	rm -rf $(BIN)
