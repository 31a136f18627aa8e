# Sentinel: `make run` (demo end to end) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   := sentinel-data/demo

.PHONY: run test lint bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml setup.py $(wildcard collectors/*.pyx collectors/*/*.pyx) | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,dev,google]"
	touch $@

install: $(VENV)/.installed

run: install
	@test -f $(DEMO)/sentinel.toml || $(BIN)/sentinel demo --out $(DEMO)
	$(BIN)/sentinel --config $(DEMO)/sentinel.toml scan

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf sentinel-data .pytest_cache
