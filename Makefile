# Two commands on a fresh machine: `make run` (install + serve) and `make test` (install + test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# Offline assets. On a machine with internet nothing is needed: tiktoken and fastembed download
# what they need. Where a sibling ../shared folder holds them (as on our CI), use it.
OFFLINE_ASSETS := $(abspath ../shared)
ifneq ($(wildcard $(OFFLINE_ASSETS)/tiktoken-cache),)
export TIKTOKEN_CACHE_DIR ?= $(OFFLINE_ASSETS)/tiktoken-cache
endif
ifneq ($(wildcard $(OFFLINE_ASSETS)/models/all-MiniLM-L6-v2-onnx/model.onnx),)
export LOCAL_EMBEDDING_MODEL_DIR ?= $(OFFLINE_ASSETS)/models/all-MiniLM-L6-v2-onnx
endif

# AWS deployment checks (`make validate`, run by `make test`): cfn-lint, `sam validate --lint`,
# `sam validate` and a `sam build` smoke build, from their own venv so the app's dependencies and
# the AWS tooling never constrain each other. Nothing here talks to AWS: no credentials, no network
# except PyPI (the layer's wheels); the region is only needed by the SAM translator.
TOOLS_VENV ?= .venv-tools
TOOLS_BIN := $(TOOLS_VENV)/bin
SAM_CLI_VERSION := 1.170.0
CFN_LINT_VERSION := 1.58.0
TOOLS_STAMP := $(TOOLS_VENV)/.installed-sam-$(SAM_CLI_VERSION)-cfn-lint-$(CFN_LINT_VERSION)
SAM_BUILD_DIR ?= .aws-sam/build
AWS_OFFLINE_ENV := env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 SAM_CLI_TELEMETRY=0

.PHONY: install run test clean validate typecheck bench browser admin-build admin-check

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/python -m vector_store_api.local.server

test: install typecheck validate browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The admin console (issue 16; README "Admin console"). Its browser tests drive Debian's chromium
# through Python's playwright (Playwright's own browser download is not used), installed here when
# missing (CI runs as root on a fresh machine).
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "browser: installing Debian's chromium for the admin console's browser tests"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# Rebuilds admin/ into shared/vector_store_api/admin_console/static (commit the result); `make test`
# checks the build stamp (tests/unit/test_admin_console_static.py), admin-check rebuilds and compares.
admin-build:
	cd admin && npm ci --no-audit --no-fund && npm run build

admin-check:
	@out=$$(mktemp -d) && cd admin && npm ci --no-audit --no-fund >/dev/null && ADMIN_OUT_DIR=$$out npm run build >/dev/null \
		&& diff -r $$out ../shared/vector_store_api/admin_console/static && echo "admin-check: the committed build is current"; \
		status=$$?; rm -rf $$out; exit $$status

# mypy --strict on shared/ and the Lambda handlers; the settings are [tool.mypy] in pyproject.toml.
typecheck: install
	$(BIN)/python -m mypy

# Benchmarks (issue 6; not part of `make test`): see bench/README.md. E.g. BENCH_ARGS="--chunks 100000".
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

$(TOOLS_STAMP):
	rm -rf $(TOOLS_VENV)
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_BIN)/pip install --quiet --upgrade pip
	$(TOOLS_BIN)/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION) cfn-lint==$(CFN_LINT_VERSION)
	touch $@

# The smoke build needs python3.11 on PATH (SAM builds python3.11 functions with a matching local
# Python when there is no container); without one it is skipped, with a notice.
validate: $(TOOLS_STAMP)
	$(AWS_OFFLINE_ENV) $(TOOLS_BIN)/cfn-lint template.yaml
	$(AWS_OFFLINE_ENV) $(TOOLS_BIN)/sam validate --lint
	$(AWS_OFFLINE_ENV) $(TOOLS_BIN)/sam validate
	@if command -v python3.11 >/dev/null 2>&1; then \
		mkdir -p $(dir $(SAM_BUILD_DIR)); \
		echo "$(AWS_OFFLINE_ENV) PYTHON=$(abspath $(TOOLS_BIN)/python) $(TOOLS_BIN)/sam build --build-dir $(SAM_BUILD_DIR)"; \
		$(AWS_OFFLINE_ENV) PYTHON=$(abspath $(TOOLS_BIN)/python) $(TOOLS_BIN)/sam build --build-dir $(SAM_BUILD_DIR) >$(SAM_BUILD_DIR).log 2>&1 \
			|| { cat $(SAM_BUILD_DIR).log; exit 1; }; \
		echo "sam build OK (log: $(SAM_BUILD_DIR).log)"; \
	else \
		echo "validate: python3.11 not on PATH, skipping the sam build smoke check"; \
	fi

clean:
	rm -rf $(VENV) $(TOOLS_VENV) .pytest_cache .mypy_cache .aws-sam
