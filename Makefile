# The course's commands. `make lab` to learn, `make test` to check everything.
# Both create .venv on first use and reinstall only when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NB_TIMEOUT ?= 600
# Jupyter refuses to run as root unless told (containers, CI).
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

.DEFAULT_GOAL := help
.PHONY: help install lab test test-unit test-notebooks lint strip bench clean

help: ## Show this help
	@echo "Dive into Deep Learning, interactive course. Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-15s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "Python >= 3.10 is needed")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the package with its dependencies

lab: $(STAMP) ## Start JupyterLab on notebooks/
	$(BIN)/jupyter lab --config=jupyter_server_config.py $(LAB_ARGS)

test: $(STAMP) ## Lint, unit tests, then every notebook under nbval in quick mode
	$(MAKE) lint
	$(MAKE) test-unit
	$(MAKE) test-notebooks

test-unit: $(STAMP) ## Unit tests of d2lhelpers and the project
	$(BIN)/python -m pytest tests

test-notebooks: $(STAMP) ## Run every notebook top to bottom in quick mode (instructors)
	D2L_QUICK=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=$(NB_TIMEOUT) -p no:cacheprovider notebooks/

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check d2lhelpers tests benchmarks notebooks
	$(BIN)/ruff format --check d2lhelpers tests benchmarks

strip: $(STAMP) ## Remove outputs, execution counts and widget state from notebooks
	$(BIN)/python -m d2lhelpers.tools.strip notebooks

bench: $(STAMP) ## Run the benchmarks in benchmarks/ (minutes; prints ratios)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean: ## Remove .venv and caches (the data cache is kept)
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
