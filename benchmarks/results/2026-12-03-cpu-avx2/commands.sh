#!/usr/bin/env bash
# SimPLe speed on the AMD EPYC (Zen 3, AVX2, no bfloat16 instructions) machine of 2026-12-03, float32 only.
cd "$(dirname "$0")/../../.."
R=benchmarks/results/2026-12-03-cpu-avx2
PY=.venv/bin/python
lscpu > $R/lscpu.txt
$PY benchmarks/world_model_speed.py --sizes paper --precisions float32 --layouts channels_last --compile \
  --json $R/paper.json 2>&1 | tee $R/paper.txt
$PY benchmarks/world_model_speed.py --sizes quick --precisions float32 --layouts channels_last --compile \
  --batch 128 --train-batch 128 --json $R/quick-b128.json 2>&1 | tee $R/quick-b128.txt
$PY benchmarks/frame_head_speed.py 2>&1 | tee $R/frame-head.txt
$PY benchmarks/world_model_speed.py --sizes paper quick --precisions float32 --json $R/cpu-b16.json 2>&1 | tee $R/cpu-b16.txt
echo done > $R/.done
