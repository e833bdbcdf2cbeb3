# The course's commands. `make lab` to learn, `make test` to check everything,
# `make test-fast` while changing code. All create .venv on first use and reinstall only
# when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NB_TIMEOUT ?= 600
# Jupyter refuses to run as root unless told (containers, CI).
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
# nbstripout keeps cell ids (they are stable here) and drops outputs, execution counts,
# widget state and execution metadata; tests/test_project.py checks with the same options.
STRIP_ARGS := --keep-id

.DEFAULT_GOAL := help
.PHONY: help install lab test test-fast test-unit test-notebooks grade test-browser lint hooks strip bench clean

help: ## Show this help
	@echo "Dive into Deep Learning, interactive course. Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-15s %s\n", $$1, $$2}'

# Checked before anything is created (3.10: pyproject's requires-python and environment.yml): Debian/Ubuntu ship `venv` without `ensurepip`
# unless python3-venv is installed, and `python3 -m venv` then leaves a broken .venv.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "Python >= 3.10 is needed, $(PYTHON) is " + sys.version.split()[0])'
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
		echo "$(PYTHON) -m venv is not available: sudo apt-get install python3-venv (Debian/Ubuntu), then run make again" >&2; \
		exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[lab,dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the package with its dependencies

lab: $(STAMP) ## Start JupyterLab on notebooks/
	$(BIN)/jupyter lab --config=jupyter_server_config.py $(LAB_ARGS)

test: $(STAMP) ## Everything CI runs: test-fast, the notebooks under nbval and in a browser, the site
	$(MAKE) test-fast
	$(MAKE) test-notebooks
	$(MAKE) test-browser
	$(MAKE) test-site

test-fast: $(STAMP) ## Lint and unit tests, no notebooks and no browser (contributors, minutes)
	$(MAKE) lint
	$(MAKE) test-unit

test-unit: $(STAMP) ## Unit tests of d2lhelpers and the project
	$(BIN)/python -m pytest tests

# The chapters must leave every exercise unanswered and the worked solutions must pass every
# check (conftest.py enforces both); the checks record passes in a throw-away progress file,
# not the learner's.
test-notebooks: $(STAMP) ## Run every notebook and worked solution top to bottom in quick mode (instructors)
	@progress=$$(mktemp -d) && trap 'rm -rf "$$progress"' EXIT && \
	D2L_QUICK=1 D2L_PROGRESS_FILE=$$progress/progress.json $(BIN)/python -m pytest --nbval-lax \
		--nbval-current-env --nbval-cell-timeout=$(NB_TIMEOUT) -p no:cacheprovider notebooks/ solutions/

# Each submission runs headless in its own process with a time limit; grades come from the
# checks' own records (see CONTRIBUTING.md, "Grading").
grade: $(STAMP) ## Grade learners' notebooks: make grade SUBMISSIONS=folder [DEFAULT=1] (writes folder/grades.csv)
	@test -n "$(SUBMISSIONS)" || { echo "name the folder of submitted notebooks: make grade SUBMISSIONS=path/to/folder" >&2; exit 2; }
	$(BIN)/python -m d2lhelpers.checks.grade "$(SUBMISSIONS)" $(if $(filter 1,$(DEFAULT)),--default-mode,)

# Headless Chromium (Debian's `chromium`) drives JupyterLab and Notebook 7; see tests/browser.
# The website's pages (test_site.py) need a built site and a Playwright of their own: make test-site.
test-browser: $(STAMP) ## Run notebooks in JupyterLab in headless Chromium, check plots and widgets
	$(BIN)/python -m pytest -m browser -p no:cacheprovider tests/browser --ignore=tests/browser/test_site.py

# The course website (site/: Sphinx, myst-nb, sphinx-book-theme): every notebook executed
# once and cached per notebook in _build/cache/<mode>, the pages in _build/site. From an empty
# cache the default mode takes about an hour on 2 cores; QUICK=1 builds the same pages from
# quick-mode runs in minutes (CI). Its tools are the `site` extra (Sphinx 9: Python >= 3.11).
SITE_STAMP := $(VENV)/.installed-site
.PHONY: site test-site

$(SITE_STAMP): $(STAMP) pyproject.toml
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11) and "make site needs Python >= 3.11 (Sphinx 9); .venv has " + sys.version.split()[0] + ": make clean, then make site PYTHON=python3.11")'
	$(BIN)/python -m pip install -e '.[lab,dev,site]'
	touch $(SITE_STAMP)

site: $(SITE_STAMP) ## Build the course website in _build/site (cached runs; QUICK=1: quick mode, minutes)
	$(BIN)/python site/build_site.py $(if $(filter 1,$(QUICK)),--quick,)

test-site: $(SITE_STAMP) ## Build the quick-mode website and check its pages in headless Chromium
	$(MAKE) site QUICK=1
	D2L_SITE_DIR=_build/site $(BIN)/python -m pytest -m browser -p no:cacheprovider tests/browser/test_site.py

lint: $(STAMP) ## ruff check and format check, mypy on d2lhelpers (settings in pyproject.toml)
	$(BIN)/ruff check d2lhelpers tests benchmarks notebooks solutions site conftest.py
	$(BIN)/ruff format --check d2lhelpers tests benchmarks site conftest.py
	$(BIN)/mypy

# The hooks run the tools of .venv (see .pre-commit-config.yaml), so nothing is fetched.
hooks: $(STAMP) ## Run ruff, ruff format and nbstripout on every git commit (pre-commit)
	$(BIN)/pre-commit install

strip: $(STAMP) ## nbstripout: remove outputs, execution counts and widget state from notebooks
	$(BIN)/nbstripout $(STRIP_ARGS) notebooks/*.ipynb

bench: $(STAMP) ## Run the benchmarks in benchmarks/ (minutes; prints ratios)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean: ## Remove .venv and caches (the data cache is kept)
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
