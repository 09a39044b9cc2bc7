# Scoria — build, run, test. `make run` starts the all-in-one; `make test` runs every test.
GO      ?= go
BIN     ?= bin
DATA    ?= scoria-data
PKGS    := ./...

.PHONY: all build run test test-unit lint bench load clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

## run: the all-in-one on 127.0.0.1:8776 (SQLite, in-process bus, local files under $(DATA))
run: build
	./$(BIN)/scoria --data-dir $(DATA)

## test: formatting, vet, and the whole suite with the race detector. Integration tests find
## MariaDB and RabbitMQ through SCORIA_TEST_MYSQL_URL / SCORIA_TEST_RABBIT_URL (local defaults)
## and fail instead of skipping when CI=true.
test: lint
	$(GO) test -race -count=1 -timeout 30m $(PKGS)
	SCORIA_TEST_BROKER_RESTART=1 $(GO) test -race -count=1 -run '^TestBrokerRestart$$' ./internal/rpc/amqp/

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

## load: the load tool against split services on MariaDB + RabbitMQ (see README "Speed")
load: build
	$(GO) run ./test/load/cmd/scoria-load-bench

clean:
	rm -rf $(BIN)
