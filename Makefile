# Build and run tooling. `make run` for a local demo, `make test` for the suite.
# Recipes use .venv/ (built by `make install`) and never the system Python.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
ADDR ?= 127.0.0.1:8000

# Tests always run on PostgreSQL and Redis; override on the command line or in
# the environment, e.g. `make test DATABASE_URL=postgres://...`.
# Two roles (README "Database roles"): the tests connect as the app's role, which owns
# nothing; the owner creates and migrates the test database. The superuser's URL is
# used only by `manage.py database_roles`, which makes both roles (`make services`).
TEST_DATABASE_URL := $(or $(DATABASE_URL),postgres://chronology_app:chronology_app@127.0.0.1:5432/chronology)
TEST_DATABASE_OWNER_URL := $(or $(DATABASE_OWNER_URL),postgres://chronology_owner:chronology_owner@127.0.0.1:5432/chronology)
TEST_DATABASE_ADMIN_URL := $(or $(DATABASE_ADMIN_URL),postgres://postgres@127.0.0.1:5432/postgres)
TEST_DB_ENV = DATABASE_URL='$(TEST_DATABASE_URL)' DATABASE_OWNER_URL='$(TEST_DATABASE_OWNER_URL)'
TEST_REDIS_URL := $(or $(REDIS_URL),redis://127.0.0.1:6379/0)
# In CI a test database left by an earlier run must not hide a migration change.
PYTEST_DB_FLAG := $(if $(CI),--create-db,)
PYTEST_ARGS ?=

.PHONY: help install run test lint lint-imports typecheck migrations-check security bandit pip-audit compose-check services browser clean bench faults

help:
	@echo "make run               install, migrate, load the demo data, serve http://$(ADDR)/ with a Celery worker and beat"
	@echo "make test              install, start PostgreSQL/Redis if needed, run pytest"
	@echo "make lint              ruff check ."
	@echo "make lint-imports      the apps import downward only (import-linter, pyproject.toml)"
	@echo "make typecheck         mypy with django-stubs over the files listed in pyproject.toml"
	@echo "make migrations-check  fail if a model change has no migration"
	@echo "make security          bandit (medium and above) over our code, pip-audit over requirements.txt"
	@echo "make install           build .venv and node_modules (cheap when nothing changed)"
	@echo "make compose-check     validate docker-compose.yml (needs docker compose or docker-compose)"
	@echo "make browser           install Debian's chromium for the browser tests, if missing"
	@echo "make bench             build a synthetic county (BENCH_CHILDREN, default 100000) and measure it"
	@echo "make faults            only the fault tests (tests/faults): killed workers, Redis stopped and flushed, PostgreSQL restarted"

install: $(PY_STAMP) $(NODE_STAMP)

# Rebuilt when a requirements file changes. A .venv whose Python no longer runs
# (or is older than 3.12) is thrown away and made again.
$(PY_STAMP): requirements.txt requirements-dev.txt
	@if ! $(PY) -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then \
		python=$$(scripts/find-python.sh); \
		echo "Creating $(VENV) with $$python ($$($$python --version))"; \
		rm -rf $(VENV); \
		"$$python" -m venv $(VENV); \
	fi
	$(PY) -m pip install --disable-pip-version-check --no-input -q -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json $(wildcard package-lock.json)
	@command -v npm >/dev/null || { echo "npm is needed for the front-end packages: install Node.js 20+." >&2; exit 1; }
	@if [ -f package-lock.json ]; then \
		echo "npm ci"; npm ci --no-audit --no-fund; \
	else \
		echo "npm install (no package-lock.json)"; npm install --no-audit --no-fund; \
	fi
	@touch $@

# Without DATABASE_URL, scripts/run-dev.sh starts an embedded PostgreSQL (data in
# var/postgres; `rm -rf var/` starts afresh); it makes the roles, migrates, loads
# the demo and serves.
run: export DEBUG ?= true
run: install
	@PY=$(PY) CELERY=$(VENV)/bin/celery ADDR=$(ADDR) scripts/run-dev.sh

services: $(PY_STAMP)
	@DATABASE_URL='$(TEST_DATABASE_URL)' REDIS_URL='$(TEST_REDIS_URL)' scripts/services-up.sh
	@DEBUG=true $(TEST_DB_ENV) DATABASE_ADMIN_URL='$(TEST_DATABASE_ADMIN_URL)' \
		$(PY) manage.py database_roles --test-databases

# pytest's own summary is the last line. Exit status 5 (no tests collected) is
# a failure, as is any other non-zero status.
# Browser tests (tests/browser) drive Debian's chromium through Playwright, whose own
# browser download does not work on our machines. Without root or apt-get this only
# warns; the browser tests then skip, except in CI, where they fail.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "Installing chromium from Debian (apt-get)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "$(CHROMIUM) is missing and cannot be installed here (needs root and apt-get)." >&2; \
		fi; \
	fi

test: install services browser
	@echo "pytest $(PYTEST_DB_FLAG) $(PYTEST_ARGS)  [DATABASE_URL=$(TEST_DATABASE_URL) DATABASE_OWNER_URL=$(TEST_DATABASE_OWNER_URL) REDIS_URL=$(TEST_REDIS_URL)]"
	@status=0; \
	DEBUG=true $(TEST_DB_ENV) REDIS_URL='$(TEST_REDIS_URL)' \
		$(PY) -m pytest $(PYTEST_DB_FLAG) $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: that is a failure." >&2; fi; \
	exit $$status

lint: install
	$(VENV)/bin/ruff check .

# docs/architecture.md, "Layers": safeguarding > escalation > neglect_tool > chronology > agencies > core.
lint-imports: install
	$(VENV)/bin/lint-imports

# The Django plugin imports safeguarding.settings but never connects: a dummy
# DATABASE_URL keeps settings from starting the embedded PostgreSQL.
TYPECHECK_ENV = DEBUG=true DATABASE_URL=postgres://typecheck@127.0.0.1:1/typecheck \
	DATABASE_OWNER_URL=postgres://typecheck@127.0.0.1:1/typecheck REDIS_URL=redis://127.0.0.1:1/0
typecheck: install
	$(TYPECHECK_ENV) $(VENV)/bin/mypy

# Security scans, both with 0 findings. bandit's waivers are in .ci/bandit-baseline.json
# (docs/security.md, "Scans in CI"); a new finding, or a second one of the same kind in that file, fails.
BANDIT_EXCLUDE := ./tests,./.venv,./node_modules,./staticfiles,./var
security: bandit pip-audit

bandit: install
	$(VENV)/bin/bandit -q -r . -ll -x $(BANDIT_EXCLUDE) -b .ci/bandit-baseline.json
	@echo "bandit: 0 findings of medium severity or above"

# Fails on any known vulnerability; skips with a warning only when no vulnerability
# service can be reached from this machine (scripts/pip-audit-check.py).
pip-audit: install
	$(PY) scripts/pip-audit-check.py

migrations-check: export DEBUG ?= true
migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

compose-check:
	@if docker compose version >/dev/null 2>&1; then \
		docker compose config -q && echo "docker compose config: OK"; \
	elif command -v docker-compose >/dev/null 2>&1; then \
		docker-compose config -q && echo "docker-compose config: OK"; \
	else \
		echo "Neither 'docker compose' nor 'docker-compose' is installed." >&2; exit 1; \
	fi

# The bench has a database of its own (never the tests' or the demo's); a county of
# the same size is kept between runs (BENCH_REBUILD=1 builds afresh). It needs wrk
# (Debian's package) for the ingest figures. README, "Performance".
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/chronology_bench
BENCH_CHILDREN ?= 100000
bench: install services
	@command -v wrk >/dev/null || { \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; \
		else echo "wrk is needed for the ingest figures (Debian: apt-get install wrk)." >&2; exit 1; fi; }
	DEBUG=true DATABASE_URL='$(BENCH_DATABASE_URL)' DATABASE_OWNER_URL='' REDIS_URL='$(TEST_REDIS_URL)' \
		BENCH_CHILDREN=$(BENCH_CHILDREN) $(PY) -m bench.run

# The fault tests alone (they also run in `make test`).
faults: install services
	DEBUG=true $(TEST_DB_ENV) REDIS_URL='$(TEST_REDIS_URL)' \
		$(PY) -m pytest $(PYTEST_DB_FLAG) -m faults tests/faults $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules staticfiles var .pytest_cache .ruff_cache
