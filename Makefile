# MedHive: `make run` installs and starts the hub with the seeded v1.0 models; `make test` runs every test.
# Both create .venv on first use. torch is installed first as the CPU build (a loose requirement pulls a
# multi-GB CUDA build); override TORCH_SPEC for another platform.

PYTHON_BIN ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
STAMP      := $(VENV)/.medhive-installed
PYTEST_ARGS ?=

.PHONY: install system-deps run serve test lint clean-venv bench bench-quick

$(STAMP): pyproject.toml
	@$(PYTHON_BIN) -c 'import sys; assert sys.version_info >= (3, 11), "MedHive needs Python >= 3.11"'
	@test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev]"
	@# the editable install leaves MedHive's own modules as source: compile them once, so the first command
	@# does not (and a shell with PYTHONDONTWRITEBYTECODE set does not compile them on every command)
	$(PY) -m compileall -q -j 0 medhive hub assistant federation
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/medhive seed
	$(VENV)/bin/medhive serve

system-deps:
	@bash scripts/system-deps.sh

test: install system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) -m benchmarks.run

bench-quick: install
	$(PY) -m benchmarks.run --quick

clean-venv:
	rm -rf $(VENV)
