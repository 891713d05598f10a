# Two entry points do all set-up: `make run` and `make test`. Both are idempotent and fast
# when everything is already installed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint typecheck openapi check-openapi bench bench-deps system-deps venv clean \
	node-deps browser-deps web web-typecheck

system-deps:
	@scripts/install-system-deps.sh

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "landmarket needs Python >= 3.11 (set PYTHON=python3.X)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

# The web app (web/): npm packages from the committed lock file, reinstalled when it changes;
# the build (type-check included) redone only when a source, the lock file or the OpenAPI
# document it types the API client from is newer than the last build.
WEB_SOURCES := $(shell find web/src web/vendor-init -type f ! -name schema.d.ts 2>/dev/null) \
	web/index.html web/vite.config.ts web/tsconfig.json web/package.json openapi/openapi.json
WEB_MODULES := web/node_modules/.package-lock.json

node-deps:
	@scripts/install-node.sh

browser-deps:
	@scripts/install-browser.sh

$(WEB_MODULES): web/package-lock.json
	@$(MAKE) --no-print-directory node-deps
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $(WEB_MODULES)

web/dist/index.html: $(WEB_MODULES) $(WEB_SOURCES)
	cd web && npm run --silent build
	@touch web/dist/index.html

## Build the web app into web/dist (quick when it is up to date)
web: web/dist/index.html

## Type-check the web app against the current OpenAPI document (generated client types)
web-typecheck: $(WEB_MODULES)
	cd web && npm run --silent typecheck

## Start the service on its embedded PostGIS with the demo region, on http://$(HOST):$(PORT)
run: system-deps venv web
	$(BIN)/landmarket serve --demo --host $(HOST) --port $(PORT)

lint: venv
	$(BIN)/ruff check src tests migrations benchmarks
	$(BIN)/ruff format --check src tests migrations benchmarks

typecheck: venv
	$(BIN)/mypy

openapi: venv
	$(BIN)/landmarket openapi

check-openapi: venv
	$(BIN)/landmarket openapi --check

## The whole suite: lint, types, OpenAPI freshness, tests on a throwaway PostGIS
test: system-deps browser-deps venv lint typecheck check-openapi web-typecheck web
	$(BIN)/pytest $(PYTEST_ARGS)

TIPG_VENV ?= /tmp/tipg-venv

# Peers the benchmarks compare against: wrk (HTTP/1.1 load generator) and tipg in its own venv
# (on uvicorn with uvloop and httptools, the HTTP stack landmarket serves on).
bench-deps: system-deps
	@command -v wrk >/dev/null || (apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk))
	@$(TIPG_VENV)/bin/python -c 'import tipg, uvloop, httptools' 2>/dev/null || ($(PYTHON) -m venv $(TIPG_VENV) && $(TIPG_VENV)/bin/pip install -q tipg 'uvicorn[standard]')

## Reproducible performance runs (national dataset, every scenario against its baseline);
## results go to benchmarks/results/, the summary table into README.md.
## Options: make bench BENCH_ARGS="--size regional --duration 10 --only ogc"
BENCH_ARGS ?= --readme
bench: bench-deps venv
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist
