# Groundswell: `make demo` runs the product on the embedded default; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install demo test test-python test-postgres bench clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -r requirements-dev.txt -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/groundswell db upgrade
	$(BIN)/groundswell demo

test: install test-python

test-python: install
	$(BIN)/python -m pytest

# The same Python suite against the machine's PostgreSQL (fails if it is unreachable).
test-postgres: install
	DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) instance/*.db instance/*.db-* .pytest_cache
