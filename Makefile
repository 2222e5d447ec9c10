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

# The main job on embedded Ray, small budget: a one-trial sweep (train, evaluate, leaderboard) of the composed
# agent (SimPLe imagination + arrow-of-time safety penalty + C-SWM curiosity, the policy on a C-SWM encoder, every
# learner a Ray actor), then a replay video of the trained agent.
demo: install
	$(VENV)/bin/workbench sweep --agent composed --preset composed-simple-arrow-cswm-ray-demo --games Pong --seeds 1 \
		--cpus-per-trial 0.5 --eval-episodes 4 --eval-envs 4 --eval-max-frames 18000 --out $(DEMO) $(ARGS)
	$(VENV)/bin/workbench replay $(DEMO)/runs/composed-Pong-seed0 --max-frames 18000 --video $(DEMO)/replay.mp4
	@echo "demo sweep: $(DEMO) (runs/composed-Pong-seed0/, leaderboard/, replay.mp4)"

test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 $(ARGS)

test-slow: install
	$(PY) -m pytest -q -m slow $(ARGS)

lint: install
	$(VENV)/bin/ruff check agents envs runs world_models intrinsic tests benchmarks

bench: install
	$(PY) benchmarks/env_throughput.py
	$(PY) benchmarks/world_model_speed.py
	$(PY) benchmarks/frame_head_speed.py
	$(PY) benchmarks/channel_norm_speed.py
	$(PY) benchmarks/low_res_conv_speed.py
	$(PY) benchmarks/cswm_speed.py
	$(PY) benchmarks/ray_scaling.py
	$(PY) benchmarks/dqn_update_speed.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
