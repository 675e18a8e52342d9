# Two entry points (see README Quick start):
#   make serve  - set up .venv with the runtime and run the local server on embedded defaults
#   make test   - set up .venv with everything the suite needs, then lint, type-check and run all tests
# For the edit-run loop: make test-fast - lint, type-check, then the tests not marked slow (no real
# Chatterbox model, no browser, no SAM build), stopping at the first failure.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: serve test test-fast check pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt infra/scripts/install_chatterbox_cpu.sh \
		infra/scripts/install_sam.sh infra/scripts/install_browser.sh tests/e2e/package-lock.json | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	PYTHON=$(BIN)/python infra/scripts/install_chatterbox_cpu.sh
	PYTHON=$(PYTHON) infra/scripts/install_sam.sh $(VENV)/sam
	infra/scripts/install_browser.sh
	touch $(VENV)/.runtime $@

serve: $(VENV)/.runtime
	$(BIN)/python local_server.py

check: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy core handlers local_server.py tests bench

pytest: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: check pytest

test-fast: check
	$(BIN)/python -m pytest -m "not slow" -x -q $(PYTEST_ARGS)

bench: $(VENV)/.dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
