# Every target creates .venv by itself on a fresh machine (Python 3.12, pinned dependencies).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Python 3.12: on PATH, or under pyenv (whose shim refuses versions that are not selected).
PYTHON ?= $(shell for p in python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -1); do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo $$p; break; }; done)

# checkov and SAM CLI pin packages to other versions than the project's: each has its own environment,
# made from its pinned list in tools/ (see tools/*.txt).
TOOLS := .tools
CHECKOV := $(TOOLS)/checkov/bin/checkov
SAM := $(TOOLS)/sam/bin/sam

.PHONY: help venv tools test test-fast lint bench demo serve refresh-lists clean

help:
	@echo "make demo   - run the main story on the local AWS (in-process moto, built from infra/template.yaml)"
	@echo "make test   - lint, type-check and run every test"
	@echo "make bench  - benchmarks: verification speed and memory against the baseline"
	@echo "make bench-remediation - a remediation's cost per contact, and the arithmetic of a 1 M segment"
	@echo "make serve  - run the local AWS as a server on :4566"
	@echo "make tools  - install checkov and SAM CLI in their own environments under .tools/ (make test does)"
	@echo "make refresh-lists - regenerate the verdict lists from the pinned packages (offline; FETCH=1 downloads a new npm pin)"
	@echo "make chaos  - the fault-injection sweep: every AWS call of every flow fails in turn (FLOW=name for one)"

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 is required; install it (pyenv install 3.12) and retry" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $@

tools: $(TOOLS)/checkov/.installed $(TOOLS)/sam/.installed

$(TOOLS)/%/.installed: tools/%.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 is required; install it (pyenv install 3.12) and retry" >&2; exit 1; }
	rm -rf $(TOOLS)/$*
	$(PYTHON) -m venv $(TOOLS)/$*
	$(TOOLS)/$*/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

# checkov: every failed check is fixed or skipped in the template with its reason (Metadata: checkov: skip).
# --skip-download: no call to Prisma Cloud for guideline links.
lint: venv $(TOOLS)/checkov/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/core/listguard console/listguard_console functions tests bench tools
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation --file infra/template.yaml

# LISTGUARD_REQUIRE_TOOLS: a test that needs a tool of .tools/ fails here instead of skipping.
test: lint $(TOOLS)/sam/.installed
	LISTGUARD_REQUIRE_TOOLS=1 $(BIN)/pytest -n 2

test-fast: venv
	$(BIN)/pytest -n 2 -m "not e2e"

# Both run whatever the first says; make fails if either goal fails.
bench: venv
	status=0; $(BIN)/python bench/run.py || status=1; $(BIN)/python bench/imports.py || status=1; exit $$status

# The remediation: each step's CPU per contact, measured, and the arithmetic of a 1 M segment.
.PHONY: bench-remediation
bench-remediation: venv
	$(BIN)/python bench/remediation.py

demo: venv
	$(BIN)/listguard demo

serve: venv
	$(BIN)/listguard local serve --port 4566

# The role, disposable and typo lists (layers/core/listguard/verification/data/): docs/verdict-lists.md.
refresh-lists: venv
	$(BIN)/python tools/refresh_lists.py $(if $(FETCH),--fetch)

# The fault-injection sweep (console/listguard_console/chaos): per flow, AWS calls, faults injected, equal end
# states, documented failures and violations; exit 1 on any violation. FLOW=import-confirmed runs one flow.
.PHONY: chaos
chaos: venv
	$(BIN)/python -m listguard_console.chaos $(if $(FLOW),--flow $(FLOW))

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .aws-sam bench/.data
