# hookline: see README.md.
#   make run    start hookline locally (embedded SQLite store, dev config)
#   make test   vet, gofmt, every test against DynamoDB Local and moto (started here), short fuzz runs
SHELL := /bin/bash
GO    ?= go
# Count budgets, not durations: go1.26's fuzz coordinator can fail a clean run with
# "context deadline exceeded" when a -fuzztime duration ends (go.dev/issue/75804).
FUZZTIME ?= 30000x

.PHONY: run test vet fmt-check unit fuzz-short fuzz bench events build

run:
	$(GO) run ./cmd/hookline serve

test: vet fmt-check unit fuzz-short

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The integration tests need DynamoDB Local and moto: start them here (the
# scripts install DynamoDB Local on first use), stop them whatever happens,
# and make a missing service a failure, never a skip.
unit:
	@set -euo pipefail; \
	trap '.ci/dynamodb-local stop >/dev/null 2>&1 || true; .ci/moto stop >/dev/null 2>&1 || true' EXIT; \
	ddb=$$(.ci/dynamodb-local start); eval "$$ddb"; \
	moto=$$(.ci/moto start); eval "$$moto"; \
	HOOKLINE_REQUIRE_SERVICES=1 $(GO) test -count=1 ./...

# Each fuzz target briefly (go test -fuzz takes one target and package at a time).
FUZZ_TARGETS := \
	FuzzVerify:./shared/provider/journeybee \
	FuzzVerify:./shared/provider/leadron \
	FuzzVerify:./shared/provider/tomba \
	FuzzMembers:./shared/provider/tomba \
	FuzzHandle:./shared/ingest

fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} $${t#*:} for $(FUZZTIME)"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) "$${t#*:}" 2>&1) || { echo "$$out"; exit 1; }; \
	done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=3000000x

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./shared/...

# Regenerate events/ from shared/samples (a test fails if they drift apart).
events:
	$(GO) run ./cmd/hookline samples --out events

# Lambda bootstraps as `sam build` makes them: linux/arm64, static, stripped.
FUNCTIONS := journeybee leadron tomba processor sweeper
build:
	@for f in $(FUNCTIONS); do \
		mkdir -p bin/$$f; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o bin/$$f/bootstrap ./functions/$$f || exit 1; \
		ls -l bin/$$f/bootstrap; \
	done
