# InsureFlow — two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
INSTANCE ?= instance
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test bench lint install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## make run: install, initialise ./instance (SQLite, keys, demo data, bpmn/ deployed), serve on :5000
run: install
	$(BIN)/insureflow --instance $(INSTANCE) init --demo
	$(BIN)/insureflow --instance $(INSTANCE) serve --host $(HOST) --port $(PORT)

## make test: install what the tests need (PostgreSQL too, when root) and run the whole suite on both databases
test: install-test
	@eval "$$(scripts/pg-test-server.sh)" && \
	  $(BIN)/ruff check . && \
	  $(BIN)/python -m pytest -n 2 -q

## make bench: the engine benchmark against bare SpiffWorkflow (not part of make test)
bench: install-test
	$(BIN)/python bench/engine_bench.py

lint: install-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
