# cdrpipe: the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO    ?= go
BIN   := bin/cdrpipe
OUT   := out
# Each demo run gets its own topic and group, so it starts from nothing.
DEMO_ID := $(shell date +%Y%m%d%H%M%S)
DEMO_DB := cdrpipe_demo
DEMO_SUBSCRIBERS ?= 500000
BENCH_CDRS ?= 2000000
BENCH_RATE ?= 50000
BENCH_DURATION ?= 60s

# The integration tests need the local stack; they fail (never skip) when
# it is unreachable under CI=true.
export CDRPIPE_KAFKA_BROKERS ?= 127.0.0.1:9092
export CDRPIPE_CLICKHOUSE_ADDR ?= 127.0.0.1:9000

.PHONY: all build up down status up-cluster down-cluster status-cluster test test-faults unit fuzz demo bench bench-quality vet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/cdrpipe

up:
	bash deploy/local/up.sh

down:
	bash deploy/local/down.sh

status:
	bash deploy/local/status.sh

# The cluster stack for integration tests (beside the single-node one): 3 Kafka nodes
# (19092-19094), ZooKeeper (12181), 2 ClickHouse replicas (19000, 19001). See
# deploy/local/README.md; one service at a time: deploy/local/cluster/ctl.sh.
up-cluster:
	bash deploy/local/cluster/up.sh

down-cluster:
	bash deploy/local/cluster/down.sh

status-cluster:
	bash deploy/local/cluster/status.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

# Unit tests only: no services needed.
unit:
	$(GO) test -short -count=1 ./...

# Everything: brings both stacks up first, then runs unit and integration
# tests against the real brokers and servers: once with Debian's ClickHouse
# 18.16, once more with a current release (chdb-core, CURRENT_CLICKHOUSE);
# the cluster tests use the cluster stack each time.
CURRENT_CLICKHOUSE ?= 127.0.0.1:9100
test: up up-cluster vet
	$(GO) test -count=1 -timeout 12m ./...
	CDRPIPE_CLICKHOUSE_ADDR=$(CURRENT_CLICKHOUSE) $(GO) test -count=1 -timeout 12m ./...
	$(MAKE) test-faults

# Fault tests: the binary killed, stopped and restarted, and the stack's
# services restarted under it; each result must equal an undisturbed run.
# They restart services, so they run alone, after everything else.
test-faults: up up-cluster
	$(GO) test -tags faults -p 1 -count=1 -timeout 20m -run Fault ./cmd/cdrpipe

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./pipeline/decode
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./pipeline/formats/delimited
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./pipeline/formats/asterisk
	$(GO) test -run '^$$' -fuzz FuzzParseCSV -fuzztime 30s ./pipeline/formats/freeswitch
	$(GO) test -run '^$$' -fuzz FuzzParseJSON -fuzztime 30s ./pipeline/formats/freeswitch
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./pipeline/formats/tgpp
	$(GO) test -run '^$$' -fuzz FuzzSplit -fuzztime 30s ./pipeline/formats/tgpp

# An hour of traffic for a mid-size operator through the real pipeline,
# then a report against the planted truth.
demo: up build
	@mkdir -p $(OUT)
	$(BIN) gen --subscribers $(DEMO_SUBSCRIBERS) --out $(OUT)/demo.jsonl --truth $(OUT)/demo-truth.json
	$(BIN) produce --topic cdrs-demo-$(DEMO_ID) $(OUT)/demo.jsonl
	clickhouse-client --host 127.0.0.1 --port 9000 -q "DROP DATABASE IF EXISTS $(DEMO_DB)"
	CDRPIPE_PRIVACY_CALLEE_KEY=$$(openssl rand -hex 32) $(BIN) run --config deploy/local/traffic-model.yaml --topic cdrs-demo-$(DEMO_ID) --group cdrpipe-demo-$(DEMO_ID) --database $(DEMO_DB) --until-caught-up
	$(BIN) report --database $(DEMO_DB) --truth $(OUT)/demo-truth.json --min-quality 0.99
	@echo "Callees are stored as keyed pseudonyms (privacy.callee_key, docs/privacy.md):"
	clickhouse-client --host 127.0.0.1 --port 9000 -q "SELECT caller, callee, start_time FROM $(DEMO_DB).cdrs WHERE caller != '' LIMIT 3 FORMAT PrettyCompact"
	$(BIN) retention --database $(DEMO_DB) --dry-run

# Benchmarks: the hot steps one by one (Go benchmarks, -benchmem), then
# the whole pipeline on the real stack (throughput against a plain kafka-go
# consumer of the same topic, flag latency at a fixed rate), then engine
# memory with millions of callers. Results and how to read them:
# benchmarks/README.md; raw output in out/.
bench: up build
	@mkdir -p $(OUT)
	$(GO) test -p 1 -run '^$$' -bench 'DecodeMix|Decode$$|Engine$$|EngineHeavy|TableUpsert|EncodeCDRs' -cpu 1 -benchmem -count 1 ./pipeline/decode ./pipeline/engine ./pipeline/sink | tee $(OUT)/bench.txt
	$(GO) test -p 1 -run '^$$' -bench 'StatePerCaller|DecodeDetect' -benchtime 3x -benchmem -count 1 ./pipeline/... | tee -a $(OUT)/bench.txt
	$(GO) test -run '^$$' -bench 'Pseudonym' -cpu 1 -benchmem -count 1 ./privacy | tee -a $(OUT)/bench.txt
	$(GO) test -run '^$$' -bench 'Lookup' -benchtime 40000x -count 1 ./feed | tee -a $(OUT)/bench.txt
	$(GO) test -run '^$$' -bench '^BenchmarkDecode' -cpu 1 -benchmem -count 1 ./pipeline/formats/... | tee -a $(OUT)/bench.txt
	$(GO) run ./benchmarks/throughput e2e --cdrs $(BENCH_CDRS) --two-stages --out $(OUT)/bench-e2e.md
	$(GO) run ./benchmarks/throughput latency --rate $(BENCH_RATE) --duration $(BENCH_DURATION) --out $(OUT)/bench-latency.md
	$(GO) run ./benchmarks/memory --out $(OUT)/bench-memory.md

# Detection quality on a traffic model with traps (legitimate heavy
# callers, low-rate abusers, noise) through the real pipeline; prints
# precision, recall and F1 per trait and for the blocklist, and a table per
# caller class. Results: benchmarks/README.md.
bench-quality: up
	@mkdir -p $(OUT)
	$(GO) run ./benchmarks/quality --hours 24 --out $(OUT)/quality.md

clean:
	rm -rf bin $(OUT)
