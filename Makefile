# Every target creates .venv by itself on a fresh machine (Python 3.12, pinned dependencies).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Python 3.12: on PATH, or under pyenv (whose shim refuses versions that are not selected).
PYTHON ?= $(shell for p in python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -1); do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: help venv test test-fast lint bench demo serve refresh-lists clean

help:
	@echo "make demo   - run the main story on the local AWS (in-process moto, built from infra/template.yaml)"
	@echo "make test   - lint, type-check and run every test"
	@echo "make bench  - benchmarks: verification speed and memory against the baseline"
	@echo "make serve  - run the local AWS as a server on :4566"
	@echo "make refresh-lists - regenerate the verdict lists from the pinned packages (offline; FETCH=1 downloads a new npm pin)"

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 is required; install it (pyenv install 3.12) and retry" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $@

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/core/listguard console/listguard_console functions

test: lint
	$(BIN)/pytest -n 2

test-fast: venv
	$(BIN)/pytest -n 2 -m "not e2e"

bench: venv
	$(BIN)/python bench/run.py

demo: venv
	$(BIN)/listguard demo

serve: venv
	$(BIN)/listguard local serve --port 4566

# The role, disposable and typo lists (layers/core/listguard/verification/data/): docs/verdict-lists.md.
refresh-lists: venv
	$(BIN)/python tools/refresh_lists.py $(if $(FETCH),--fetch)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam bench/.data
