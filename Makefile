# CarVision: `make run` opens the console, `make test` runs every check.
GO        ?= go
BIN       := bin/carvision
PKGS      := ./...
FUZZTIME  ?= 5s
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
REAL_DATA ?= $(abspath ../shared/data/vehicles_us.csv)

.PHONY: all build run test vet fuzz bench e2e clean

all: build

build:
	$(GO) build -trimpath -ldflags "-X carvision/engine/local.Version=$(VERSION)" -o $(BIN) ./cmd/carvision

## run: the console with demo traffic on the embedded default (synthetic data when data/raw/vehicles_us.csv is absent)
run: build
	./$(BIN) console --demo

## test: vet, unit tests with the race detector, short fuzz runs
test: vet
	$(GO) test -race -count=1 $(PKGS)
	$(MAKE) --no-print-directory fuzz

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

## bench: Go benchmarks plus the peer comparison scripts (needs ../shared)
bench: build
	REAL_DATA=$(REAL_DATA) scripts/bench.sh

## e2e: the console in tmux, and over SSH with the real OpenSSH client
e2e: build
	scripts/e2e.sh

clean:
	rm -rf bin
