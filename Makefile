# One entry point for developer tasks. Everything runs from ./.venv, created on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PKGS := ganglion libs services

.PHONY: install lint fmt typecheck test test-fast up down quickstart clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check $(PKGS) tests examples benchmarks
	$(BIN)/ruff format --check $(PKGS) tests examples benchmarks
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format $(PKGS) tests examples benchmarks
	$(BIN)/ruff check --fix $(PKGS) tests examples benchmarks

typecheck: install
	$(BIN)/mypy

# The whole suite: lint, types, then every test against real Postgres, RabbitMQ and Redis.
test: lint
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not e2e" -x -q

up: install
	$(BIN)/ganglion up

down:
	$(BIN)/ganglion down

# Installs, starts Ganglion on the embedded default, runs the example job and shows its result.
quickstart: install
	@bash scripts/quickstart.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
