# The whole set-up on a fresh machine with Python 3.11:  make demo  /  make test
# Airflow lives in ./airflow_home (git-ignored) unless AIRFLOW_HOME is set.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export AIRFLOW_HOME ?= $(CURDIR)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export AMAZON_NETSUITE_REFERENCE_DIR ?= $(abspath $(CURDIR)/../shared/reference)

.PHONY: help venv test lint pytest demo up bench constraints clean

help:
	@echo "make demo    set up, start the sandbox, run every DAG once on SQLite, print a summary"
	@echo "make test    ruff (with Airflow AIR rules) + pytest"
	@echo "make up      airflow standalone against the sandbox (UI on http://localhost:8080)"
	@echo "make bench   benchmarks (figures, not pass/fail)"

# Create .venv if missing and install the pinned set; quick when nothing changed.
$(STAMP): requirements.txt constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 needed, .venv has {sys.version.split()[0]}"'
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

# Two workers on a 2-core machine; a test class (or module) stays on one worker, its fixtures start once.
PYTEST_WORKERS ?= 2
pytest: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

test: lint pytest

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

up: $(STAMP)
	$(BIN)/python scripts/up.py

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Re-resolve the full pinned set after changing requirements.txt.
constraints:
	rm -rf .venv-constraints && $(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --quiet --upgrade pip
	.venv-constraints/bin/python -m pip install --quiet -r requirements.txt
	{ echo "# Full resolved set (pip freeze of a fresh .venv from requirements.txt); used as pip -c constraints."; \
	  echo "# Regenerate with: make constraints"; .venv-constraints/bin/python -m pip freeze; } > constraints.txt
	rm -rf .venv-constraints

clean:
	rm -rf .sandbox-state .pytest_cache .ruff_cache
