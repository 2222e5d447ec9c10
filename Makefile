# Everything a fresh machine needs: `make demo` and `make test` create .venv, install once, then run.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=
DEMO   := runs-out/demo-$(shell date +%Y%m%d-%H%M%S)

.PHONY: install demo test test-slow lint bench clean

# torch is pinned first: 2.13.0 is the CPU wheel on these machines; any other request pulls a multi-GB CUDA build.
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/workbench train --agent simple --preset demo --out $(DEMO) $(ARGS)
	$(VENV)/bin/workbench evaluate $(DEMO) --episodes 4 --envs 4 --max-frames 18000
	$(VENV)/bin/workbench replay $(DEMO) --max-frames 18000 --video $(DEMO)/videos/replay.mp4
	@echo "demo run: $(DEMO) (results.json, evaluation-seed0.json, videos/)"

test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 $(ARGS)

test-slow: install
	$(PY) -m pytest -q -m slow $(ARGS)

lint: install
	$(VENV)/bin/ruff check agents envs runs world_models intrinsic tests benchmarks

bench: install
	$(PY) benchmarks/env_throughput.py
	$(PY) benchmarks/world_model_speed.py
	$(PY) benchmarks/cswm_speed.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
