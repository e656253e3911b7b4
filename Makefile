# The two commands of the README: `make demo` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba

.PHONY: demo test lint bench clean host-c host-rust host-examples

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(BIN)/vecpipe demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check vecpipe tests benchmarks examples conftest.py
	$(BIN)/ruff format --check vecpipe tests benchmarks examples conftest.py
	$(BIN)/mypy vecpipe

test: lint
	$(BIN)/python -m pytest

# The host examples (docs/host.md): a C and a Rust program that embed this Python, export
# examples/host/pipeline.py's function with vp.export and call it from their threads, with
# no GIL. Built into build/host, then run once (`host check`).
host-c: $(VENV)/.installed-run
	$(BIN)/python examples/host/build.py --out build/host c --run

host-rust: $(VENV)/.installed-run
	$(BIN)/python examples/host/build.py --out build/host rust --run

host-examples: $(VENV)/.installed-run
	$(BIN)/python examples/host/build.py --out build/host --run

bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .cache .pytest_cache .hypothesis build *.egg-info
