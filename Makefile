# Synthos backend — the commands a developer and CI use.
#
#   make run     the whole service locally (SQLite, local S3/SQS emulator, workers)
#   make test    every test, as CI runs it
#   make deploy STAGE=dev    the stack on AWS, then database migrations
#
# Each target installs what it needs first (a venv in .venv, npm packages in
# backend/node_modules); installs are skipped while their inputs are unchanged.

SHELL := /bin/bash
.DEFAULT_GOAL := help

STAGE ?= dev
REGION ?=
SERVICE_DIR ?= backend
PYTHON ?= python3
VENV := .venv
PY := $(abspath $(VENV))/bin/python
SLS := npx --no-install serverless
REGION_FLAG := $(if $(REGION),--region $(REGION),)
SLS_FLAGS := --stage $(STAGE) $(REGION_FLAG) $(if $(PARAMS),$(foreach p,$(PARAMS),--param="$(p)"),)
PYTEST_ARGS ?=
FN ?= api
EVENT ?= events/function-url-health.json

.PHONY: help install install-python install-node install-checkov system-deps run migrate test test-fast lint \
	format package deploy deploy-api remove logs info invoke-local bench clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

install: install-python install-node install-checkov ## Python venvs (.venv, .venv-checkov) and npm packages

install-python: $(VENV)/.installed
$(VENV)/.installed: backend/requirements-lambda.txt backend/requirements.txt backend/requirements-dev.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r backend/requirements-dev.txt
	touch $@

# checkov pins boto3/botocore versions of its own, so it lives in its own venv.
install-checkov: .venv-checkov/.installed
.venv-checkov/.installed: backend/requirements-checkov.txt
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --upgrade pip
	.venv-checkov/bin/python -m pip install --quiet -r backend/requirements-checkov.txt
	touch $@

install-node: backend/node_modules/.installed
backend/node_modules/.installed: backend/package.json backend/package-lock.json
	cd backend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-deps: ## Debian packages the tests need (PostgreSQL server), if missing
	bash scripts/system-deps.sh

run: install-python ## Run the API, emulator and workers locally on http://127.0.0.1:8000
	cd backend && $(PY) -m local_stack

migrate: install-python ## Upgrade the local (or SYNTHOS_DATABASE_URL) database
	cd backend && $(PY) -m app.migrate

test: install system-deps ## All tests (unit, API, integration on PostgreSQL, deploy against moto)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install-python ## Tests that need neither PostgreSQL nor the Serverless CLI
	$(PY) -m pytest -m "not postgres and not deploy" $(PYTEST_ARGS)

lint: install-python ## ruff (lint and format check)
	$(VENV)/bin/ruff check backend tests bench
	$(VENV)/bin/ruff format --check backend tests bench

format: install-python
	$(VENV)/bin/ruff format backend tests bench
	$(VENV)/bin/ruff check --fix backend tests bench

package: install-node ## Build the deployment artifacts into backend/.serverless
	cd $(SERVICE_DIR) && $(SLS) package $(SLS_FLAGS)

deploy: install-node ## Deploy the whole stack, then run database migrations
	cd $(SERVICE_DIR) && $(SLS) deploy $(SLS_FLAGS)
	cd $(SERVICE_DIR) && $(SLS) invoke -f migrate $(SLS_FLAGS) --log

# `deploy function` trips over artifacts left by `package` or an earlier deploy
# (EEXIST on a symlink), so start it from a clean .serverless/.
deploy-api: install-node ## Update only the api function's code
	rm -rf $(SERVICE_DIR)/.serverless
	cd $(SERVICE_DIR) && $(SLS) deploy function -f api $(SLS_FLAGS)

remove: install-node ## Delete the stage's stack (empty the data bucket first)
	cd $(SERVICE_DIR) && $(SLS) remove $(SLS_FLAGS)

info: install-node ## Print the stage's endpoints (function URL, HTTP API URL)
	cd $(SERVICE_DIR) && $(SLS) info $(SLS_FLAGS)

logs: install-node ## Tail the api function's logs (FN=jobs for another function)
	cd $(SERVICE_DIR) && $(SLS) logs -f $(FN) --tail $(SLS_FLAGS)

invoke-local: install ## Run a handler locally with an event file (FN=..., EVENT=...)
	cd $(SERVICE_DIR) && VIRTUAL_ENV=$(abspath $(VENV)) SYNTHOS_LOCAL_MODE=true \
		$(SLS) invoke local -f $(FN) --path $(EVENT) $(SLS_FLAGS)

bench: install-python ## Benchmarks (cold start; the engine bench needs `bench/make-bench-env.sh`)
	$(PY) bench/cold_start.py
	@if [ -x .venv-bench/bin/python ]; then .venv-bench/bin/python bench/synth.py; \
	else echo "bench/synth.py skipped: run bench/make-bench-env.sh first (installs SDV)"; fi

clean:
	rm -rf backend/.serverless .cache .pytest_cache .ruff_cache
