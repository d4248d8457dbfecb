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

# The main job on the built-in data: train and test on synthetic_cls, then synthetic_parts,
# then render the segmenter's predictions on test shapes (the checkpoint it was tested with).
DEMO_DIR := outputs/demo/$(shell date +%Y-%m-%d_%H-%M-%S)
demo: setup
	$(PYTHON) train.py experiment=demo_cls hydra.run.dir=$(DEMO_DIR)/cls
	$(PYTHON) train.py experiment=demo_parts hydra.run.dir=$(DEMO_DIR)/parts
	$(PYTHON) -m pointea.cli.visualize data=synthetic_parts num_shapes=16 \
		ckpt_path=$$($(PYTHON) -c "import json; print(json.load(open('$(DEMO_DIR)/parts/metrics.json'))['checkpoint'])") \
		output_dir=$(DEMO_DIR)/parts/visualize
	@echo "contact sheet: $(DEMO_DIR)/parts/visualize/contact_sheet.png"
	@echo "plots: $(DEMO_DIR)/cls/plots $(DEMO_DIR)/parts/plots"

lint: setup
	$(VENV)/bin/ruff check pointea tests benchmarks train.py
	$(VENV)/bin/ruff format --check pointea tests benchmarks train.py

bench: setup
	$(PYTHON) benchmarks/attention_scaling.py
	$(PYTHON) benchmarks/data_pipeline.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
