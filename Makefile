# `make demo` and `make test` do all set-up themselves (scripts/setup.sh is idempotent).
PY := .venv/bin/python
DEMO_OUT ?= demo-output

.PHONY: setup demo test test-all lint bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m scorebridge demo -o $(DEMO_OUT)

test: setup
	$(PY) -m pytest -q

test-all: setup
	$(PY) -m pytest -q -m ""

lint: setup
	.venv/bin/ruff check src tests bench

bench:
	@bash scripts/setup.sh --bench
	for f in bench/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(DEMO_OUT) build dist src/*.egg-info
