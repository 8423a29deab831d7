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

.PHONY: install run test clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/python -m vector_store_api.local.server

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
