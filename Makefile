# huzhu: `make demo` serves the app on http://127.0.0.1:8000, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS ?= test,spark

.PHONY: demo test setup lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q "setuptools>=69,<81" wheel
	# xstatic-bootstrap ships only an sdist that imports pkg_resources (gone in setuptools 81).
	$(BIN)/pip install -q --no-build-isolation "xstatic-bootstrap>=5.3,<5.4"
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

setup: $(STAMP)

# The demo runs in debug mode (error pages with details, keys generated on first use);
# production leaves HUZHU_DEBUG unset: see the README, "Running in production".
demo: setup
	HUZHU_DEBUG=1 $(BIN)/huzhu demo
	HUZHU_DEBUG=1 $(BIN)/huzhu serve

test: setup
	$(BIN)/ruff check .
	# The layers (pyproject.toml, [tool.importlinter]) and the types (strict for rules and
	# lib; a baseline that only shrinks for the rest: tools/mypy_baseline.py).
	$(BIN)/lint-imports --no-cache
	$(BIN)/python tools/mypy_baseline.py
	$(BIN)/python -m pytest
	# The Django suite again, on a real PostgreSQL server the tests start and stop.
	HUZHU_TEST_DB=postgresql $(BIN)/python -m pytest tests --ignore=tests/rules --ignore=tests/browser

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python tools/mypy_baseline.py

clean:
	rm -rf $(VENV) var
