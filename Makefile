# hookline: see README.md.
#   make run    start hookline locally (embedded SQLite store, dev config)
#   make test   vet, gofmt, every test against DynamoDB Local and moto (started here), short fuzz runs
SHELL := /bin/bash
GO    ?= go
# Count budgets, not durations: go1.26's fuzz coordinator can fail a clean run with
# "context deadline exceeded" when a -fuzztime duration ends (go.dev/issue/75804).
FUZZTIME ?= 30000x

.PHONY: run test vet fmt-check lint-template unit fuzz-short fuzz bench bench-lambda bench-serve bench-cost bench-compare loadtest events build invoke

run:
	$(GO) run ./cmd/hookline serve

test: vet fmt-check lint-template unit fuzz-short

# template.yaml: cfn-lint (it expands the SAM transform itself) must report nothing, informational findings included.
lint-template:
	.ci/cfn-lint

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The integration tests need DynamoDB Local and moto: start them here (the
# scripts install DynamoDB Local on first use), stop them whatever happens,
# and make a missing service a failure, never a skip. The console's browser
# tests need Chromium: .ci/chromium installs Debian's package when missing.
unit:
	@set -euo pipefail; \
	trap '.ci/dynamodb-local stop >/dev/null 2>&1 || true; .ci/moto stop >/dev/null 2>&1 || true' EXIT; \
	ddb=$$(.ci/dynamodb-local start); eval "$$ddb"; \
	moto=$$(.ci/moto start); eval "$$moto"; \
	chromium=$$(.ci/chromium install); \
	HOOKLINE_CHROMIUM=$$chromium HOOKLINE_REQUIRE_SERVICES=1 $(GO) test -count=1 ./...

# Each fuzz target briefly (go test -fuzz takes one target and package at a time).
FUZZ_TARGETS := \
	FuzzVerify:./shared/provider/journeybee \
	FuzzVerify:./shared/provider/leadron \
	FuzzVerify:./shared/provider/tomba \
	FuzzHandle:./shared/ingest \
	FuzzDocument:./shared/deliver

fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} $${t#*:} for $(FUZZTIME)"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) "$${t#*:}" 2>&1) || { echo "$$out"; exit 1; }; \
	done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=3000000x

# Every figure the issues ask for, then one table of them all (.ci/bench-table).
bench:
	@set -euo pipefail; out=$$(mktemp); trap 'rm -f "$$out"' EXIT; \
	$(MAKE) --no-print-directory bench-serve | tee -a "$$out"; \
	$(GO) test -run '^$$' -bench 'BenchmarkVerify$$|BenchmarkVerifyManyMembers$$|BenchmarkHandle$$' -benchmem ./shared/... | tee -a "$$out"; \
	$(GO) test -run '^$$' -bench RunnerToHTTPSink -benchtime 5000x ./shared/deliver | tee -a "$$out"; \
	$(GO) test -run '^$$' -bench 'SlackPrograms|ForwardingPrograms' -benchtime 2000x ./shared/deliver | tee -a "$$out"; \
	$(GO) test -run '^$$' -bench EndToEnd -benchtime 1x ./cmd/hookline | tee -a "$$out"; \
	$(MAKE) --no-print-directory bench-lambda | tee -a "$$out"; \
	$(MAKE) --no-print-directory bench-cost | tee -a "$$out"; \
	echo; .ci/bench-table < "$$out"

# hookline serve (a real process, SQLite store) under hookline load: 20,000 signed deliveries,
# 20% redeliveries, concurrency 50; prints the table.
bench-serve:
	@set -euo pipefail; dir=$$(mktemp -d); trap 'kill $$pid 2>/dev/null || true; rm -rf "$$dir"' EXIT; \
	$(GO) build -o "$$dir/hookline" ./cmd/hookline; \
	(cd "$$dir" && exec ./hookline serve --addr 127.0.0.1:18080 --console-addr 127.0.0.1:0 --data "$$dir/data" >"$$dir/serve.log" 2>&1) & pid=$$!; \
	for i in $$(seq 100); do curl -fs http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.1; done; \
	"$$dir/hookline" load --url http://127.0.0.1:18080 --n 20000 --concurrency 50

# Per Lambda function: arm64 bootstrap size, init under the emulator, warm invoke, peak RSS (DynamoDB Local + moto).
bench-lambda:
	@set -euo pipefail; \
	trap '.ci/dynamodb-local stop >/dev/null 2>&1 || true; .ci/moto stop >/dev/null 2>&1 || true' EXIT; \
	ddb=$$(.ci/dynamodb-local start); eval "$$ddb"; \
	moto=$$(.ci/moto start); eval "$$moto"; \
	HOOKLINE_REQUIRE_SERVICES=1 $(GO) test -run '^$$' -bench BenchmarkLambda -benchtime 200x ./cmd/hookline

# What one accepted event delivered to one HTTP destination costs on AWS, in $ per million events with the
# share of each part (hookline cost: the real bootstraps under the emulator; DynamoDB Local, asked for
# ReturnConsumedCapacity, and moto behind recording proxies; list prices dated in shared/costmeter).
bench-cost:
	@set -euo pipefail; \
	trap '.ci/dynamodb-local stop >/dev/null 2>&1 || true; .ci/moto stop >/dev/null 2>&1 || true' EXIT; \
	ddb=$$(.ci/dynamodb-local start); eval "$$ddb"; \
	moto=$$(.ci/moto start); eval "$$moto"; \
	$(GO) run ./cmd/hookline cost

# hookline serve of a baseline build from git (BASE=<rev>, default b7f90f6), of this tree, and a null
# net/http server, side by side under the same load (JourneyBee only and mixed; c=50, 20,000 deliveries),
# ROUNDS=3 interleaved rounds: deliveries/s, p99, peak RSS, non-2xx, new/baseline and new/null.
bench-compare:
	@BASE='$(BASE)' ROUNDS='$(ROUNDS)' N='$(N)' CONCURRENCY='$(CONCURRENCY)' GO='$(GO)' .ci/bench-compare

# The full load and fault tests with 20,000 deliveries each (20% redeliveries, concurrency 50):
# two signature-verifying sinks; kill -9 mid-load; recovering, rejecting and hanging
# destinations. make test runs the same tests with 1,000-6,000.
loadtest:
	HOOKLINE_LOAD_N=20000 $(GO) test -count=1 -run '^(TestLoadWithSinks|TestKill9MidLoad|TestDestinationFaultsUnderLoad)$$' -v -timeout 30m ./cmd/hookline

# Regenerate events/ (every function's samples, env.local.json) from shared/samples (a test fails if they drift apart).
events:
	$(GO) run ./cmd/hookline samples --out events

# Lambda bootstraps exactly as `sam build` builds them (BuildMethod makefile, CodeUri .: `make build-<LogicalId>`
# with ARTIFACTS_DIR). `hookline invoke` sets LAMBDA_GOOS/LAMBDA_GOARCH to this machine's.
LAMBDA_GOOS   ?= linux
LAMBDA_GOARCH ?= arm64
LAMBDAS       := JourneyBeeFunction LeadronFunction TombaFunction ProcessorFunction SweeperFunction
lambda = GOOS=$(LAMBDA_GOOS) GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath \
	-ldflags='-s -w' -o $(or $(ARTIFACTS_DIR),bin/$(@:build-%=%))/bootstrap ./functions/$(1)
.PHONY: $(LAMBDAS:%=build-%)
build-JourneyBeeFunction: ; $(call lambda,journeybee)
build-LeadronFunction: ; $(call lambda,leadron)
build-TombaFunction: ; $(call lambda,tomba)
build-ProcessorFunction: ; $(call lambda,processor)
build-SweeperFunction: ; $(call lambda,sweeper)
build: $(LAMBDAS:%=build-%)
	@ls -l $(LAMBDAS:%=bin/%/bootstrap)

# make invoke FN=<LogicalId> EVENT=<file> [TIMES=n] [ENV_FILE=env.json]: without ENV_FILE against DynamoDB Local
# and moto (left running; events/env.local.json's table, queue and config, set up as hookline standins does), with
# ENV_FILE against what it names, with this shell's AWS credentials.
FN    ?= JourneyBeeFunction
EVENT ?= events/journeybee/lead_created.json
TIMES ?= 1
invoke:
	@set -euo pipefail; \
	if [ -n "$(ENV_FILE)" ]; then exec $(GO) run ./cmd/hookline invoke --times $(TIMES) --env-file "$(ENV_FILE)" $(FN) $(EVENT); fi; \
	ddb=$$(.ci/dynamodb-local start); eval "$$ddb"; moto=$$(.ci/moto start); eval "$$moto"; \
	$(GO) run ./cmd/hookline invoke --times $(TIMES) --local $(FN) $(EVENT)
