#!/usr/bin/env bash
# SimPLe on one accelerator in under 8 minutes: device facts, benchmarks/world_model_speed.py in float32 and
# bfloat16, then a paper-preset SimPLe run cut short (the random collection, 500 model updates, 20 PPO
# iterations in imagination, one collection) with its phase times; one JSON file ($OUT/gpu_check.json) and a table.
#
#   benchmarks/gpu_check.sh                              # one GPU: paper size, the paper preset
#   benchmarks/gpu_check.sh --device cpu --size tiny     # CPU dry run in seconds (the default test suite's)
#
# On this workplace's lent GPU machine (its python3 holds a CUDA torch but no env packages): here, once,
# benchmarks/gpu_wheels.sh; then one device run with carry [".whl"] and the command
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:. &&
#   PYTHON=python3 OUT=$OUT RUN_DIR=/tmp/gpu-check-run benchmarks/gpu_check.sh
# (five files come back in $OUT; the run directory stays there).
#
# Settings (environment): OUT (default runs-out/gpu-check), RUN_DIR (the cut-short run, default $OUT/run), GAME
# (Pong), BENCH_SECONDS (per benchmark measurement), PYTHON, WORKBENCH (default: $PYTHON -m runs.cli). Each step
# has its own time limit (200 s, 240 s: 7 min 20 s in all), so a slow step is reported, not waited for.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=cuda; SIZE=paper
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    *) echo "gpu_check: unknown argument $1 (allowed: --device D, --size paper|quick|tiny)" >&2; exit 2 ;;
  esac
done
case "$SIZE" in
  paper) PRESET=simple-paper; UPDATES=500; PPO=20; STEPS=() ;;
  quick) PRESET=simple-quick; UPDATES=100; PPO=6; STEPS=() ;;
  tiny) PRESET=simple-tiny; UPDATES=4; PPO=2; STEPS=(loop.random_steps=64 loop.real_steps_per_iteration=64) ;;
  *) echo "gpu_check: unknown --size $SIZE (allowed: paper, quick, tiny)" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-.venv/bin/python}; read -r -a WORKBENCH <<< "${WORKBENCH:-$PYTHON -m runs.cli}"
OUT=${OUT:-runs-out/gpu-check}; RUN_DIR=${RUN_DIR:-$OUT/run}; GAME=${GAME:-Pong}
# A CPU dry run measures small: without bfloat16 instructions (AMD Zen 3, say) one 2048^2 bfloat16 product takes
# about a minute, and a tiny bfloat16 update at batch 16 some 13 s.
if [ "$DEVICE" = cpu ]; then SECONDS_EACH=${BENCH_SECONDS:-0.05}; SMALL=(--matmul-size 256 --batch 2 --train-batch 2)
else SECONDS_EACH=${BENCH_SECONDS:-5}; SMALL=(); fi
if [ -e "$OUT/gpu_check.json" ]; then echo "gpu_check: $OUT/gpu_check.json exists; choose another OUT" >&2; exit 2; fi
mkdir -p "$OUT"
echo "gpu_check: $SIZE size on $DEVICE -> $OUT"

command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm \
  --format=csv > "$OUT/nvidia-smi.csv" || true
timeout 200 "$PYTHON" benchmarks/world_model_speed.py --device "$DEVICE" --sizes "$SIZE" \
  --precisions float32 bfloat16 --layouts channels_last contiguous --seconds "$SECONDS_EACH" "${SMALL[@]}" \
  --game "$GAME" --json "$OUT/benchmark.json" | tee "$OUT/benchmark.txt" \
  || echo "gpu_check: the benchmark failed or ran out of time"
timeout 240 "${WORKBENCH[@]}" train --agent simple --preset "$PRESET" --game "$GAME" --device "$DEVICE" --no-progress \
  --out "$RUN_DIR" loop.iterations=1 loop.model_steps_first="$UPDATES" loop.ppo_iterations="$PPO" \
  loop.ppo_last_multiplier=1 eval_episodes=1 eval_envs=1 eval_max_episode_frames=2000 "${STEPS[@]}" \
  > "$OUT/run.log" 2>&1 || echo "gpu_check: the cut-short run failed or ran out of time (see $OUT/run.log)"
"$PYTHON" benchmarks/gpu_check_report.py "$OUT" --run-dir "$RUN_DIR" --device "$DEVICE" --size "$SIZE"
