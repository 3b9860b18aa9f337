# Two commands do everything on a fresh Debian machine (see README):
#   make run    install system and Python dependencies, build, install, run the main job
#   make test   the same set-up, then every test: ctest (plain and ASan/UBSan), pytest, and
#               the fuzz and bad-input tests against an ASan/UBSan build of the numpy module,
#               the documentation site (warnings as errors) and every benchmark once, small
# Other targets: setup (set-up only), install (rebuild the package), docs (the site in
# build/docs), bench-quick, bench (regenerate docs/benchmarks.md: long), clean.

PYTHON ?= python3
PIP := $(PYTHON) -m pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := libfftw3-dev libeigen3-dev libgtest-dev pkg-config \
  alsa-utils espeak-ng  # test data: human voice recordings, synthetic speech
# torch is pinned: 2.13.0 is the CPU build on local disk; anything else pulls CUDA.
TORCH := torch==2.13.0
BUILD_TOOLS := "scikit-build-core>=0.10" "pybind11>=2.12" "cmake>=3.18" ninja

# Sanitizer runtime options for the C++ tests. No leak suppressions: the FFT plan
# cache is never destroyed, so its plans stay reachable at exit.
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: run test setup system-deps python-deps install ctest ctest-sanitize pytest pytest-sanitize docs bench-quick \
  bench clean

run: setup
	$(PYTHON) -m affectkit $(ARGS)

test: setup ctest ctest-sanitize pytest pytest-sanitize docs bench-quick

setup: system-deps python-deps install

system-deps:
	@if dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1; then \
	  echo "Debian packages present: $(DEBIAN_PACKAGES)"; \
	else \
	  $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEBIAN_PACKAGES); \
	fi

python-deps:
	$(PIP) install --quiet $(TORCH) $(BUILD_TOOLS)

# No build isolation: the torch op library must link the torch installed above.
install:
	$(PIP) install --quiet --no-build-isolation ".[test,research,bench,docs]"

ctest:
	cmake -S . -B build/ctest -G Ninja -DAFFECTKIT_BUILD_TESTS=ON
	cmake --build build/ctest
	ctest --test-dir build/ctest --output-on-failure

ctest-sanitize:
	cmake -S . -B build/ctest-sanitize -G Ninja -DAFFECTKIT_BUILD_TESTS=ON \
	  -DAFFECTKIT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build/ctest-sanitize
	$(SANITIZER_ENV) ctest --test-dir build/ctest-sanitize --output-on-failure

pytest:
	$(PYTHON) -m pytest

# The numpy module built with ASan/UBSan next to a copy of the Python package, and
# the tests that feed it bad and odd input run against it. ASan must be the first
# library loaded, and libstdc++ with it (or ASan cannot intercept C++ throws from
# a module dlopen'ed later); leak checks are off, as CPython keeps objects alive
# at exit by design (the C++ tests check leaks). The torch op library is not in
# this build, so its tests are left out.
SANITIZED := build/python-sanitize
SANITIZED_TESTS := tests/python/test_fuzz_api.py tests/python/test_bad_input.py \
  tests/python/test_prosody_fuzz.py tests/python/test_threads.py tests/python/test_interrupt.py
pytest-sanitize:
	cmake -S . -B $(SANITIZED) -G Ninja -DAFFECTKIT_BUILD_PYTHON=ON -DAFFECTKIT_BUILD_TORCH_OPS=OFF \
	  -DAFFECTKIT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython_EXECUTABLE=$$(command -v $(PYTHON)) \
	  -Dpybind11_DIR=$$($(PYTHON) -m pybind11 --cmakedir)
	cmake --build $(SANITIZED)
	rm -rf $(SANITIZED)/package && mkdir -p $(SANITIZED)/package
	cp -r python/affectkit $(SANITIZED)/package/ && cp $(SANITIZED)/_core*.so $(SANITIZED)/package/affectkit/
	cd $(SANITIZED)/package && LD_PRELOAD="$$(g++ -print-file-name=libasan.so) $$(g++ -print-file-name=libstdc++.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(PYTHON) -m pytest -p no:cacheprovider --rootdir=$(CURDIR) -c $(CURDIR)/pyproject.toml \
	  $(addprefix $(CURDIR)/,$(SANITIZED_TESTS)) -k "not causal_conv1d and not torch_ops"

# The site documents the installed package (autodoc imports it): install first. -E: read
# every page again, so that no warning hides in an unchanged page.
docs:
	$(PYTHON) -m sphinx -E -W --keep-going -b html docs build/docs

# Every benchmark once on small inputs, tables into a temporary file (so none can rot).
bench-quick:
	$(PYTHON) benchmarks/run_all --quick

bench:
	$(PYTHON) benchmarks/run_all

clean:
	rm -rf build
