# smki: two commands do everything on a fresh machine with Go 1.26.
#   make run   runs the RA/CA server on the embedded store with a fresh test PKI
#   make test  runs every test (unit, conformance, e2e on the real binary)
SHELL   := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO      ?= go
BIN     := bin/smki
PKGS    := ./...
FUZZTIME ?= 5s

# Every build says what it is (smki version, /healthz, smki_build_info):
# the version from git describe, the commit and its time, stamped so they
# hold even where Go records no VCS data (GOFLAGS=-buildvcs=false).
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
REVISION    ?= $(shell git rev-parse HEAD 2>/dev/null)
COMMIT_TIME ?= $(shell git log -1 --format=%cI 2>/dev/null)
BUILDINFO   := github.com/smki/smki/internal/buildinfo
LDFLAGS     := -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).revision=$(REVISION) -X $(BUILDINFO).commitTime=$(COMMIT_TIME)

# Release builds: stripped, reproducible (no paths, no build ID, the
# commit time as the only time), linux/amd64 and linux/arm64, with cgo for
# the PKCS#11 KMS (an HSM); arm64 needs a cross compiler
# (Debian: apt-get install gcc-aarch64-linux-gnu).
DIST        := dist
DIST_ARCHES := amd64 arm64
CC_amd64    ?= gcc
CC_arm64    ?= aarch64-linux-gnu-gcc
# Everything of the environment that changes the code generated (the
# micro-architecture levels, experiments, compiler flags, a GOFLAGS of
# -race or -cover, another toolchain) is fixed here, so two machines
# building one commit get the same bytes (internal/reprobuild checks it).
DIST_ENV    := GOFLAGS=-mod=readonly GOAMD64=v1 GOARM64=v8.0 GOEXPERIMENT= GOTOOLCHAIN=local \
               CGO_CFLAGS='-O2 -g0' CGO_CPPFLAGS= CGO_CXXFLAGS= CGO_LDFLAGS= SOURCE_DATE_EPOCH=0

.PHONY: all build dist run test test-short race conformance mutants bench fuzz fuzz-smoke lint clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/smki

dist:
	@case "$(VERSION)" in *-dirty) echo "make dist: the tree has uncommitted changes ($(VERSION)); a release is built from a commit: commit or stash first" >&2; exit 1;; esac
	@rm -rf $(DIST) && mkdir -p $(DIST)
	@set -e; for arch in $(DIST_ARCHES); do \
	  cc=$$(case $$arch in amd64) echo "$(CC_amd64)";; arm64) echo "$(CC_arm64)";; esac); \
	  command -v $$cc >/dev/null || { echo "make dist: $$cc (C compiler for linux/$$arch) not found; install it or set CC_$$arch" >&2; exit 1; }; \
	  echo "build $(DIST)/smki-$(VERSION)-linux-$$arch"; \
	  env $(DIST_ENV) CGO_ENABLED=1 CC=$$cc GOOS=linux GOARCH=$$arch $(GO) build -trimpath -buildvcs=false \
	    -ldflags "-s -w -buildid= $(LDFLAGS)" -o $(DIST)/smki-$(VERSION)-linux-$$arch ./cmd/smki; \
	done
	cd $(DIST) && sha256sum smki-* > SHA256SUMS && cat SHA256SUMS

run: build
	./$(BIN) serve --dev

# Unit and package tests, then the e2e tests (which build their own binary
# from this tree, see e2e/main_test.go) through the conformance report,
# then each fuzz target briefly. internal/skipcheck lists the tests each
# run skipped; under CI=true a skip not on its allow-list fails the run.
test:
	$(GO) vet $(PKGS)
	$(GO) test -json -count=1 -timeout 20m $$($(GO) list $(PKGS) | grep -v '/e2e$$') | $(GO) run ./internal/skipcheck
	$(GO) test -race -json -count=1 -timeout 20m $(RACE_PKGS) | $(GO) run ./internal/skipcheck
	@$(GO) test -count=1 -v -run '^TestServerReachable$$' ./internal/pgtest | grep -E 'PostgreSQL half' || true
	$(MAKE) --no-print-directory conformance
	$(MAKE) --no-print-directory fuzz-smoke FUZZTIME=20000x

# The race detector (needs cgo: gcc) over the packages whose job is
# concurrency, in make test (about a minute on 2 cores): group commit and
# both stores, the verifier's caches, feed and issuance list, the OCSP
# responder's Syncs, the repository, and the CLI, which tests run in
# parallel. make race runs every package but e2e under it (ca and ra take
# 6-7 minutes each there; about 15 minutes in all on 2 cores).
RACE_PKGS := ./store/... ./verifier/... ./ocsp/ ./repo/ ./cli/...

race:
	$(GO) test -race -json -count=1 -timeout 60m $$($(GO) list $(PKGS) | grep -v '/e2e$$') | $(GO) run ./internal/skipcheck

# Runs the e2e tests tagged with requirement IDs and writes
# docs/conformance.md; fails if a test fails or a requirement is unproven.
conformance:
	$(GO) test -count=1 -timeout 20m -json ./e2e/ | $(GO) run ./internal/skipcheck -tee | $(GO) run ./internal/conformancegen -out docs/conformance.md

# Mutation check: one product mutation per requirement R1-R7 and L6, each
# of which some test must catch (internal/mutants; takes ~15 minutes).
mutants:
	$(GO) run ./internal/mutants

test-short:
	$(GO) test -short -count=1 $(PKGS)

# Benchmarks print their ratio against an in-run baseline.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 60m ./ca/ ./store/... ./ra/ ./ra/raserver/ ./verifier/... ./ocsp/ ./repo/

# Each fuzz target, for FUZZTIME (make fuzz FUZZTIME=5m for a long run).
# make test bounds the smoke run by executions (20000x), not by time: Go's
# fuzz coordinator can report a spurious "context deadline exceeded" when a
# short duration expires while a worker is mid-exchange, which is noise in CI.
fuzz-smoke fuzz:
	@set -e; for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sed 's|/[^/]*$$||' | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$spec/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$spec $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$spec || exit 1; \
	  done; \
	done

fuzz: FUZZTIME = 2m

# staticcheck, pinned (go run fetches it from the module proxy once; it
# is not a dependency of the module); staticcheck.conf says what it skips.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

clean:
	rm -rf bin data $(DIST)
