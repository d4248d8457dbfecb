# The README's commands. `make test` and `make demo` set everything up on a fresh machine.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip install --quiet --constraint constraints.txt
STAMP := $(VENV)/.installed

.PHONY: setup system-deps test test-all demo lint bench clean

setup: system-deps $(STAMP)

system-deps:
	@bash scripts/install_system_deps.sh

# Reinstall only when the package's requirements change.
$(STAMP): setup.py constraints.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PIP) --editable '.[dev]'
	touch $@

test: setup
	$(PYTHON) -m pytest

test-all: setup
	$(PYTHON) -m pytest -m "not gpu"

# The main job on the built-in data: train and test on synthetic_cls, then synthetic_parts.
demo: setup
	$(PYTHON) train.py experiment=demo_cls
	$(PYTHON) train.py experiment=demo_parts

lint: setup
	$(VENV)/bin/ruff check pointea tests benchmarks train.py
	$(VENV)/bin/ruff format --check pointea tests benchmarks train.py

bench: setup
	$(PYTHON) benchmarks/attention_scaling.py
	$(PYTHON) benchmarks/data_pipeline.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
