# hookline: see README.md. `make run` starts hookline locally; `make test` runs every check.
SHELL := /bin/bash
GO    ?= go

.PHONY: run test vet fmt-check unit bench
run:
	$(GO) run ./cmd/hookline serve

test: vet fmt-check unit

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./shared/...
