# leadscore: the two commands are `make demo` and `make test`; both install what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ENGINES_STAMP := $(VENV)/.installed-engines
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/seeds dbt_project/tests -type f 2>/dev/null) dbt_project/dbt_project.yml dbt_project/profiles.yml

export UV_COMPILE_BYTECODE := 1
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false

.PHONY: install manifest demo test test-fast lint fmt bench airflow clean help install-engines postgres-binaries test-engines

help:
	@echo "make demo     install if needed, then run the hourly DAG end to end on synthetic data"
	@echo "make test     install if needed, then run the test suite"
	@echo "make test-fast  the fast tier: tests/unit and the dbt unit tests (under 90 s)"
	@echo "make test-engines  also install dbt-postgres, dbt-spark and Postgres, then prove the dbt"
	@echo "              project gives identical outputs on DuckDB, Postgres and Spark"
	@echo "make lint     ruff (Python) and SQLFluff (dbt models); make fmt rewrites both into that style"
	@echo "make bench    benchmark at scale S (10k leads); SCALE=\"M L\" for 100k / 1M leads"
	@echo "make airflow  Airflow UI on localhost:8080 with the CRM sandbox (Ctrl-C stops it)"
	@echo "make clean    remove generated data, the warehouse, runs and Airflow state (keeps .venv)"

# Create .venv, bootstrap uv inside it with pip if uv is not on PATH, install the pinned lock
# (bytecode compiled: imports of GX/Airflow are 2x faster) and this package (the `leadscore`
# CLI). Re-runs only when the lock or pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@UV=$$(command -v uv || true); \
	if [ -z "$$UV" ]; then \
		$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade >/dev/null; \
		test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv; \
		UV=$(BIN)/uv; \
	fi; \
	$$UV pip install --quiet --python $(BIN)/python -r requirements.txt && \
	$$UV pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# cosmos renders the DAG's dbt tasks from the manifest (fast DAG parsing, no dbt at parse time).
$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	@cd dbt_project && LEADSCORE_WAREHOUSE=$(CURDIR)/warehouse/lead_scoring.duckdb \
		../$(BIN)/dbt parse --quiet --profiles-dir . --project-dir .
	@touch $(MANIFEST)

manifest: $(MANIFEST)

demo: $(MANIFEST)
	$(BIN)/leadscore demo

airflow: $(MANIFEST)
	$(BIN)/leadscore airflow

lint: $(STAMP)
	$(BIN)/ruff check plugins dags tests
	$(BIN)/ruff format --check plugins dags tests
	cd dbt_project && ../$(BIN)/sqlfluff lint models tests --disable-progress-bar --nocolor --processes 2
	$(BIN)/python -m lead_scoring_dev.sql_lint dbt_project
	$(BIN)/lint-imports --no-cache

# Benchmark (figures, not pass/fail): scale S by default; `make bench SCALE="M L"` for more.
SCALE ?= S
bench: $(MANIFEST)
	$(BIN)/leadscore bench $(foreach s,$(SCALE),--scale $(s))

# Rewrites Python and SQL into the house style (what `make lint` checks).
fmt: $(STAMP)
	$(BIN)/ruff check --fix plugins dags tests
	$(BIN)/ruff format plugins dags tests
	cd dbt_project && ../$(BIN)/sqlfluff fix models tests --disable-progress-bar --nocolor

# tests/unit (no dbt, no Airflow), tests/dbt, tests/e2e (Airflow, dbt, GX, the sandbox),
# tests/tools (sandbox, generator, bench); see docs/architecture.md.
test: $(MANIFEST)
	$(BIN)/python -m pytest

test-fast: $(MANIFEST)
	$(BIN)/python -m pytest tests/unit tests/dbt/test_dbt_unit_tests.py

# The extra dbt adapters of the portability check (requirements-engines.txt, compiled with
# requirements.txt as constraints) in the same .venv; re-installs only when that file changes.
$(ENGINES_STAMP): requirements-engines.txt $(STAMP)
	@UV=$$(command -v uv || echo $(BIN)/uv); \
	$$UV pip install --quiet --python $(BIN)/python -r requirements-engines.txt
	@touch $(ENGINES_STAMP)

install-engines: $(ENGINES_STAMP)

# Debian's Postgres server binaries (initdb, pg_ctl) for the throwaway test cluster.
postgres-binaries:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing Debian's postgresql package (server binaries for the test cluster)"; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi

# The same dbt project built on DuckDB, Postgres and Spark from one fixture: every model,
# seed and test on each, identical fingerprints (tests/dbt/test_engines.py, marker `engines`).
test-engines: $(MANIFEST) $(ENGINES_STAMP) postgres-binaries
	$(BIN)/python -m pytest tests/dbt/test_engines.py -m engines

clean:
	rm -rf var warehouse landing runs reports dbt_project/target dbt_project/logs
