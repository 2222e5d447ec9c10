#!/usr/bin/env bash
# SimPLe speed on the Intel Xeon (AVX-512, AMX) machine of 2026-12-05, float32, after the small-map convolutions
# became matmuls. "paper-before" ran the same command on the code of c689651 (the commit before them), in a git
# worktree at $BEFORE, in the same hour.
cd "$(dirname "$0")/../../.."
R=benchmarks/results/2026-12-05-cpu-matmul-conv
PY=$PWD/.venv/bin/python
BEFORE=${BEFORE:-/tmp/before}
PAPER="--sizes paper --precisions float32 --layouts channels_last --compile"
QUICK="--sizes quick --precisions float32 --layouts channels_last --compile --batch 128 --train-batch 128"
lscpu > $R/lscpu.txt
$PY benchmarks/low_res_conv_speed.py --size paper --batch 16 2>&1 | tee $R/low-res-conv.txt
$PY benchmarks/world_model_speed.py $PAPER --json $R/paper.json 2>&1 | tee $R/paper.txt
(cd $BEFORE && PYTHONPATH=$BEFORE $PY benchmarks/world_model_speed.py $PAPER --json $OLDPWD/$R/paper-before.json) \
  2>&1 | tee $R/paper-before.txt
$PY benchmarks/world_model_speed.py $QUICK --json $R/quick-b128.json 2>&1 | tee $R/quick-b128.txt
$PY benchmarks/world_model_speed.py $PAPER --json $R/paper-again.json 2>&1 | tee $R/paper-again.txt
