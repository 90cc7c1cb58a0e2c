# Fabrique — developer commands. GNU make; recipes use tabs.
#
#   make run            try it: SQLite + in-process jobs, demo space, http://127.0.0.1:$(PORT)
#   make test           the test suite (SQLite unless FABRIQUE_TEST_DATABASE_URL is set)
#   make test-e2e       browser tests (Playwright + Debian chromium)
#   make lint           ruff, import-linter (import cycles), mypy (types), no raw SQL outside the
#                       allow-list of .ci/check_raw_sql.py
#   make messages       extract strings and update the fr/en catalogs
#
# Extra pytest options: make test PYTEST_ARGS="-x -k booking"

PY ?= python3
VENV ?= .venv
PORT ?= 8000
HOST ?= 127.0.0.1
PYTEST_ARGS ?=

BIN := $(VENV)/bin
TRANSLATIONS := frontend/translations
POT := $(TRANSLATIONS)/messages.pot
CATALOGS = $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
CHROMIUM := /usr/bin/chromium
LINT_PATHS = $(wildcard app workers tests bench migrations)

.DEFAULT_GOAL := help

.PHONY: help venv dev translations messages run test test-e2e chromium axe wrk lint \
	bench-booking bench-calendar bench-floor bench-renewals bench-pages clean distclean

help:
	@echo "make run | test | test-e2e | lint | messages | translations | bench-booking | bench-calendar | bench-floor | bench-renewals | bench-pages | clean"
	@echo "variables: PY=$(PY) VENV=$(VENV) HOST=$(HOST) PORT=$(PORT) PYTEST_ARGS=..."

# --- environment ---------------------------------------------------------------------------------
# Stamp files make re-runs instant until pyproject.toml changes.

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.stamp-install: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.stamp-dev: pyproject.toml $(VENV)/.stamp-install
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(VENV)/.stamp-install

dev: venv $(VENV)/.stamp-dev

# --- translations ----------------------------------------------------------------------------------
# .mo files are build products (gitignored). Fuzzy entries are left out on purpose: they are
# machine guesses from `pybabel update`, and showing the English source beats showing a wrong one.

translations: venv
	@if [ -z "$(CATALOGS)" ]; then \
		echo "translations: no catalogs under $(TRANSLATIONS)/ yet, nothing to compile"; \
	else \
		$(BIN)/pybabel -q compile -d $(TRANSLATIONS) -D messages && \
		for po in $(CATALOGS); do \
			[ -f "$${po%.po}.mo" ] || echo "translations: WARNING $$po was skipped (its header is marked '#, fuzzy')"; \
		done; \
	fi

messages: venv
	@mkdir -p $(TRANSLATIONS)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-comments=Translators: \
		--project=Fabrique --copyright-holder="Fabrique contributors" -o $(POT) .
	@if [ -z "$(CATALOGS)" ]; then \
		echo "messages: no catalogs yet; create them with:"; \
		echo "  $(BIN)/pybabel init -i $(POT) -d $(TRANSLATIONS) -D messages -l fr"; \
		echo "  $(BIN)/pybabel init -i $(POT) -d $(TRANSLATIONS) -D messages -l en"; \
	else \
		$(BIN)/pybabel update -i $(POT) -d $(TRANSLATIONS) -D messages; \
	fi

# --- run -----------------------------------------------------------------------------------------

run: venv translations
	$(BIN)/fabrique migrate
	$(BIN)/fabrique demo --host $(HOST) --port $(PORT)
	$(BIN)/fabrique serve --host $(HOST) --port $(PORT)

# --- quality ---------------------------------------------------------------------------------------

test: dev translations
	$(BIN)/pytest -m "not e2e" $(PYTEST_ARGS)

chromium:
	@if [ -x $(CHROMIUM) ]; then \
		:; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "chromium: installing the Debian package (Playwright cannot download its own browsers here)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }; \
	else \
		echo "chromium: $(CHROMIUM) is missing and browser tests need it." >&2; \
		echo "          Install it as root:  sudo apt-get install -y chromium" >&2; \
		exit 1; \
	fi

# The benchmarks drive load with wrk from a separate process; install it like chromium.
wrk:
	@if command -v wrk >/dev/null 2>&1; then \
		:; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "wrk: installing the Debian package (the benchmarks' load generator)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }; \
	else \
		echo "wrk: the benchmarks need it. Install it as root:  sudo apt-get install -y wrk" >&2; \
		exit 1; \
	fi

# axe-core, the accessibility engine the browser tests inject into pages (tests/e2e/axe.py), from
# npm like chromium from Debian: installed by this target, never by hand. Pinned: a new rule set
# is a change to review, not a surprise in CI.
AXE_VERSION := 4.14.1
AXE_JS := node_modules/axe-core/axe.min.js
axe:
	@if [ -f $(AXE_JS) ] && grep -q '"version": "$(AXE_VERSION)"' node_modules/axe-core/package.json; then \
		:; \
	else \
		echo "axe-core: installing axe-core@$(AXE_VERSION) from npm (the browser tests' accessibility checks)"; \
		npm install --no-save --no-audit --no-fund --no-package-lock --silent axe-core@$(AXE_VERSION); \
	fi

test-e2e: dev translations chromium axe
	$(BIN)/pytest -m e2e tests/e2e $(PYTEST_ARGS)

# ruff; import-linter (no cycles between the packages of app/, app.core imports no domain: the
# contracts are in pyproject.toml); mypy (strict on app/core/ and the money code, pyproject.toml).
lint: dev
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python .ci/check_raw_sql.py

# Run as modules from the repository root: `python bench/calendar.py` would put bench/ first on
# sys.path, and bench/calendar.py would then shadow the standard library's `calendar` module
# (imported by http.cookiejar, hence httpx), which crashes at import.
bench-booking: dev wrk
	$(BIN)/python -m bench.booking

bench-calendar: dev wrk
	$(BIN)/python -m bench.calendar

bench-floor: dev wrk
	$(BIN)/python -m bench.floor

# 10,000 subscriptions due today across 20 spaces, renewed by the job (PostgreSQL only; no wrk).
bench-renewals: dev
	$(BIN)/python -m bench.renewals

bench-pages: dev wrk
	$(BIN)/python -m bench.pages

# --- cleanup ---------------------------------------------------------------------------------------
# `clean` never touches var/ (the embedded SQLite database holds real data).

clean:
	rm -f $(TRANSLATIONS)/*/LC_MESSAGES/*.mo
	rm -rf .pytest_cache .ruff_cache test-results build dist *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
