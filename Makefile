# Entry points for building, testing and deploying the Discord endpoint.
# Run `make help` for the list of targets and the variables they read.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Interpreter that creates the virtual environment. Python 3.11 matches the
# default Lambda runtime, so the layer can ship precompiled .pyc files.
PYTHON ?= python3.11
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.requirements-installed
PIP_VERSION := 26.3

# Terraform workspace, one per environment: local, dev, prod, ...
ENV ?= local

export CHECKPOINT_DISABLE := 1

##@ General

.PHONY: help
help: ## Show the targets and the variables they read.
	@awk 'BEGIN { FS = ":.*## " } \
		/^##@/ { printf "\n%s\n", substr($$0, 5) } \
		/^[a-zA-Z_-]+:.*## / { printf "  %-20s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@printf '\nVariables: ENV=%s (Terraform workspace), PYTHON=%s (interpreter for .venv)\n' '$(ENV)' '$(PYTHON)'
	@printf 'Local runner: RUNNER_ARGS (options for scripts/local_runner.py, e.g. --port 8080 for a fixed port)\n'

##@ Development

# The stamp depends on both requirements files, so editing either one
# rebuilds the environment from scratch instead of layering installs.
$(VENV_STAMP): requirements-dev.txt lambda-requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet pip==$(PIP_VERSION)
	$(VENV_PYTHON) -m pip install --quiet -r requirements-dev.txt
	touch $@

.PHONY: venv
venv: $(VENV_STAMP) ## Create or refresh .venv from requirements-dev.txt.

.PHONY: test
test: $(VENV_STAMP) ## Run the test suite (pytest).
	$(VENV_PYTHON) -m pytest

# terraform fmt needs no providers, so it gets an empty CLI config instead of
# reading (or warning about) the user's own.
.PHONY: lint
lint: $(VENV_STAMP) ## Check Python with ruff and Terraform with terraform fmt.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive

.PHONY: bench
bench: $(VENV_STAMP) ## Run the benchmarks; record the figures in docs/BENCHMARKS.md.
	@for script in bench/bench_*.py; do \
		echo "== $$script"; \
		$(VENV_PYTHON) "$$script"; \
	done

##@ Deployment

# ENV=local runs the offline harness (tests/harness): a moto server on
# 127.0.0.1 and a scratch copy of the module under .local/terraform, so the
# repository's .terraform/, lock file and state stay untouched. Any other ENV
# runs Terraform here against real AWS through scripts/terraform_env.sh, which
# also reads BACKEND_CONFIG, PLAN_OUT, PLAN and AUTO_APPROVE.
HARNESS := $(VENV_PYTHON) -m tests.harness
LOCAL_KEY = $$($(VENV_PYTHON) scripts/dev_keys.py public $(ENV))

.PHONY: init
init: $(VENV_STAMP) ## Initialise Terraform for ENV (BACKEND_CONFIG=file.hcl for the S3 backend).
ifeq ($(ENV),local)
	$(HARNESS) init $(ENV)
else
	scripts/terraform_env.sh init '$(ENV)'
endif

.PHONY: plan
plan: $(VENV_STAMP) ## Plan ENV's workspace with environments/ENV.tfvars (PLAN_OUT=file saves it).
ifeq ($(ENV),local)
	$(HARNESS) plan $(ENV) --var discord_public_key=$(LOCAL_KEY)
else
	scripts/terraform_env.sh plan '$(ENV)'
endif

.PHONY: deploy
deploy: $(VENV_STAMP) ## Build and apply ENV, then serve it if local. AWS asks yes unless AUTO_APPROVE=1; PLAN=file applies a saved plan.
ifeq ($(ENV),local)
	$(HARNESS) deploy $(ENV) --var discord_public_key=$(LOCAL_KEY)
# Local endpoint: serve the deployed zips when the runner's `serve` target exists.
	@if $(MAKE) -n serve >/dev/null 2>&1; then $(MAKE) --no-print-directory serve ENV=$(ENV); fi
else
	scripts/terraform_env.sh deploy '$(ENV)'
endif

.PHONY: destroy
destroy: $(VENV_STAMP) ## Destroy ENV's workspace; local also stops its runner. AWS asks yes unless AUTO_APPROVE=1.
ifeq ($(ENV),local)
	$(HARNESS) destroy $(ENV) --var discord_public_key=$(LOCAL_KEY)
	$(VENV_PYTHON) scripts/local_services.py stop-runner --env '$(ENV)'
else
	scripts/terraform_env.sh destroy '$(ENV)'
endif

##@ Discord

# Guild commands appear at once, so GUILD_ID suits development. Without it, the
# guild id comes from DISCORD_GUILD_ID or discord_guild_id in ENV's tfvars, and
# the commands are global only when neither is set. GLOBAL=1 registers global
# commands even then. DRY_RUN=1 prints the request instead of sending it.
GUILD_ID ?=
GLOBAL ?=
DRY_RUN ?=

.PHONY: register-commands
register-commands: $(VENV_STAMP) ## Register the slash commands for ENV (guild GUILD_ID if set; GLOBAL=1 global; DRY_RUN=1 prints).
	$(VENV_PYTHON) scripts/register_commands.py --env '$(ENV)' \
		$(if $(GUILD_ID),--guild-id '$(GUILD_ID)') $(if $(GLOBAL),--global) \
		$(if $(DRY_RUN),--dry-run)

##@ Local endpoint

# Extra options for scripts/local_runner.py, e.g. RUNNER_ARGS='--function-name NAME'.
RUNNER_ARGS ?=
# Endpoint for `make smoke`; empty means the local runner's URL.
URL ?=

.PHONY: serve
serve: $(VENV_STAMP) ## Serve ENV's deployed function on 127.0.0.1 in the background (pid in .local/run, log in .local/log).
	$(VENV_PYTHON) scripts/local_services.py start --env '$(ENV)' $(if $(RUNNER_ARGS),-- $(RUNNER_ARGS))

.PHONY: stop
stop: ## Stop the local runner and the local AWS API by their recorded process ids.
	$(VENV_PYTHON) scripts/local_services.py stop

.PHONY: smoke
smoke: $(VENV_STAMP) ## Check URL (default: the local runner) as Discord does, signing with ENV's test key if it has one.
	@url='$(URL)'; \
	if [ -z "$$url" ]; then \
		url=$$(cat .local/run/runner.url 2>/dev/null) || { echo "No URL: pass URL=... or run make serve" >&2; exit 2; }; \
	fi; \
	key=(); if [ -f '.local/keys/$(ENV).key' ]; then key=(--env '$(ENV)'); fi; \
	$(VENV_PYTHON) scripts/smoke.py "$$url" "$${key[@]}"
