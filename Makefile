# The two set-up commands of the README: `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin

$(BIN)/waterbudget: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

.PHONY: install demo test lint bench
install: $(BIN)/waterbudget

## the main job: database, broker, ingestor and a device simulator (embedded where not configured)
demo: install
	$(BIN)/waterbudget demo

## every check CI runs: lint, types, unit and integration tests
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/pytest

bench: install
	$(BIN)/python -m ingest.benchmark
