# smki: two commands do everything on a fresh machine with Go 1.26.
#   make run   runs the RA/CA server on the embedded store with a fresh test PKI
#   make test  runs every test (unit, conformance, e2e on the real binary)
GO      ?= go
BIN     := bin/smki
PKGS    := ./...
FUZZTIME ?= 5s

.PHONY: all build run test test-short bench fuzz fuzz-smoke lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/smki

run: build
	./$(BIN) serve --dev

# e2e tests build their own binary from the same tree (see e2e/main_test.go).
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(MAKE) --no-print-directory fuzz-smoke FUZZTIME=3s

test-short:
	$(GO) test -short -count=1 $(PKGS)

# Benchmarks print their ratio against an in-run baseline.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./ca/ ./verifier/...

# Each fuzz target, for FUZZTIME (make fuzz FUZZTIME=5m for a long run).
fuzz-smoke fuzz:
	@set -e; for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sed 's|/[^/]*$$||' | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$spec/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$spec $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$spec || exit 1; \
	  done; \
	done

fuzz: FUZZTIME = 2m

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)

clean:
	rm -rf bin data
