#!/usr/bin/env bash
# SimPLe speed on the Intel Xeon (AVX-512, AMX) machine of 2026-12-04, float32. The "-before" files ran the same
# commands on the code of 9149276 (before the one-pass ChannelNorm and the sign buffer), earlier the same hour.
cd "$(dirname "$0")/../../.."
R=benchmarks/results/2026-12-04-cpu-one-pass-norm
PY=.venv/bin/python
lscpu > $R/lscpu.txt
$PY benchmarks/world_model_speed.py --sizes quick --precisions float32 --layouts channels_last --compile \
  --batch 128 --train-batch 128 --json $R/quick-b128.json 2>&1 | tee $R/quick-b128.txt
$PY benchmarks/world_model_speed.py --sizes paper --precisions float32 --layouts channels_last --compile \
  --json $R/paper.json 2>&1 | tee $R/paper.txt
$PY benchmarks/world_model_speed.py --sizes quick --precisions float32 --layouts channels_last --compile \
  --batch 128 --train-batch 128 --json $R/quick-b128-again.json 2>&1 | tee $R/quick-b128-again.txt
$PY benchmarks/channel_norm_speed.py 2>&1 | tee $R/channel-norm.txt
$PY benchmarks/world_model_speed.py --sizes paper --precisions float32 --layouts channels_last --compile \
  --json $R/paper-again.json 2>&1 | tee $R/paper-again.txt
