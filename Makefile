# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint format chaos bench clean help

help:
	@echo "make run    - install into .venv and run the whole system (web, worker, beat, embedded servers)"
	@echo "make test   - install into .venv and run linters and the test suite on real servers"
	@echo "make lint   - ruff, hadolint and the import-linter architecture contracts"
	@echo "make format - ruff format + import sort"
	@echo "make chaos  - the chaos suite, full form (real stack, faults on a schedule, ~7 min)"
	@echo "make bench  - the benchmark: JSON, chart and docs/benchmarks.md table (~10 min)"

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m devtools.run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(STAMP) lint
	$(PY) -m pytest $(PYTEST_ARGS)

# The short chaos form runs inside `make test` as tests/chaos/test_chaos_short.py (marker: chaos).
chaos: $(STAMP)
	$(PY) -m chaos $(CHAOS_ARGS)

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
