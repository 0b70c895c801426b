# `make demo` and `make test` do all set-up themselves (scripts/setup.sh is idempotent). `make demo` sets up the
# core install only (no browser); `make test` adds the extras, ffmpeg and Debian's chromium for the browser test.
PY := .venv/bin/python
DEMO_OUT ?= demo-output

.PHONY: setup setup-test demo test test-ray test-all lint bench check-install clean

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --test

demo: setup
	$(PY) -m scorebridge demo -o $(DEMO_OUT)

test: setup-test
	$(PY) -m pytest -q

# the Ray engine's tests alone (also part of make test)
test-ray: setup-test
	$(PY) -m pytest -q -m ray

test-all: setup-test
	$(PY) -m pytest -q -m ""

lint: setup-test
	.venv/bin/ruff check src tests bench

bench:
	@bash scripts/setup.sh --bench
	for f in bench/bench_*.py; do $(PY) $$f || exit 1; done

# a fresh venv in a temp folder, `pip install .` (core only), then render + translate (needs the network)
check-install:
	@bash scripts/check_install.sh

clean:
	rm -rf $(DEMO_OUT) build dist src/*.egg-info
