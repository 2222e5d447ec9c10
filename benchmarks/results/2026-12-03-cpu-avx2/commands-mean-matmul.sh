#!/usr/bin/env bash
# The same machine, after world_model_speed.py divides by the mean of the matmul's rate before and after each row.
cd "$(dirname "$0")/../../.."
R=benchmarks/results/2026-12-03-cpu-avx2
PY=.venv/bin/python
$PY benchmarks/world_model_speed.py --sizes paper --precisions float32 --layouts channels_last \
  --json $R/paper-mean-matmul.json 2>&1 | tee $R/paper-mean-matmul.txt
$PY benchmarks/world_model_speed.py --sizes quick --precisions float32 --layouts channels_last --compile \
  --batch 128 --train-batch 128 --json $R/quick-b128-mean-matmul.json 2>&1 | tee $R/quick-b128-mean-matmul.txt
