# Heed's entry points. `make bench` runs the main job, `make test` the test suite; both install
# the C libraries first when they are missing. (`./heed.sh TARGET` does the same on a machine
# without make: it installs make, then runs it.)

# OpenBLAS (cblas.h, libopenblas), LAPACKE (lapacke.h), zlib (zlib.h, libz: HeedNN reads gzipped
# datasets) and pkg-config, which Package.swift uses to find their headers and libraries; and
# Fashion-MNIST (/usr/share/datasets/fashion-mnist), which `heed` trains on and the trainer's
# tests read (they skip without it, so CI must have it to test anything real).
DEB_PACKAGES := libopenblas-dev liblapacke-dev zlib1g-dev pkg-config dataset-fashion-mnist

SWIFT ?= swift

.PHONY: all deps bench test example clean

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

# The main job. Until the benchmark (heed-bench) exists this is the demo: a tensor expression,
# its gradient, and one SGD step, printed.
bench: deps
	$(SWIFT) build -c release
	$(SWIFT) run -c release heed-demo

# --disable-swift-testing: the suite is XCTest; without the flag Swift Testing adds a closing
# "0 tests" line that reads as if nothing ran.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --disable-swift-testing

# A separate package that depends on Heed by path, so only the public API is in reach.
example: deps
	$(SWIFT) build --package-path Examples
	$(SWIFT) run --package-path Examples TinyRegression
	$(SWIFT) run --package-path Examples ReadmeExample

clean:
	$(SWIFT) package clean
	$(SWIFT) package --package-path Examples clean
