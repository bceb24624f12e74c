# Two commands on a fresh machine: `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1

.PHONY: demo test lint typecheck imports unit system-deps reinstall bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip>=24" "setuptools>=69" wheel
	$(BIN)/pip install -q -e ".[dev]" -C editable_mode=strict
	touch $@

# Re-link the strict editable install after adding, removing or renaming a module.
reinstall: $(STAMP)
	flock $(VENV)/.lock $(BIN)/pip install -q --no-deps --no-build-isolation -e . -C editable_mode=strict

# PostgreSQL server binaries for the store tests (the fixture starts its own server on 127.0.0.1),
# and Chromium for the portal's browser tests.
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "installing PostgreSQL server binaries (Debian package postgresql)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q postgresql; \
	fi
	@# Debian's Chromium for the portal's Playwright browser tests (`playwright install` cannot download here).
	@if ! test -x /usr/bin/chromium; then \
	  echo "installing Chromium (Debian package chromium) for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; \
	fi

demo: $(STAMP)
	$(BIN)/lockgate demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The four folders are checked as the installed lockgate.* packages, so each module has one name;
# the tests are checked as files.
typecheck: $(STAMP)
	$(BIN)/mypy -p lockgate.adapters -p lockgate.federation -p lockgate.ui -p lockgate.migrate
	$(BIN)/mypy tests

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP) system-deps
	$(BIN)/pytest

test: $(STAMP) system-deps reinstall lint typecheck imports unit

# The in-process benchmarks. bench_airflow.py, bench_portal.py and bench_openlineage.py start real
# servers and take minutes: run them one at a time (benchmarks/README.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_graph.py
	$(BIN)/python benchmarks/bench_automation.py
	$(BIN)/python benchmarks/bench_dbt_ingest.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
