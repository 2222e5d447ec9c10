#!/usr/bin/env bash
# DrQ(epsilon) on one GPU machine: as many 100k-step trials (games x seeds, one per core, the GPU shared) as
# finish in LIMIT seconds, then the leaderboard, and each finished trial recorded as shipped data
# (`workbench measured`, into $OUT/measured: copy it to runs/data/measured and commit it).
#
#   benchmarks/gpu_sweep.sh                  # 16 cores + 1 GPU: 8 games x 2 seeds, Dopamine's exact settings
#   DRY_RUN=1 OUT=/tmp/s benchmarks/gpu_sweep.sh   # CPU, one tiny trial: what the default test suite runs
#
# Settings (environment): GAMES, SEEDS, LIMIT (seconds the sweep may run, default 600), OUT, WORKBENCH.
# Trials still running at LIMIT are stopped; the sweep resumes them with the same command (their checkpoints
# stay), and whatever finished is in the leaderboard and in $OUT/measured.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKBENCH=${WORKBENCH:-.venv/bin/workbench}
OUT=${OUT:-runs-out/gpu-sweep}
LIMIT=${LIMIT:-600}
if [ "${DRY_RUN:-0}" = 1 ]; then
  GAMES=${GAMES:-Pong}; SEEDS=${SEEDS:-1}; PRESET=drq-eps-tiny; GPUS=0
  EVAL=(--eval-episodes 2 --eval-envs 2 --eval-max-frames 2000)
else
  GAMES=${GAMES:-Krull,RoadRunner,Pong,Breakout,Boxing,MsPacman,Seaquest,Qbert}; SEEDS=${SEEDS:-2}
  PRESET=drq-eps-atari100k; EVAL=(--eval-episodes 100 --eval-envs 8)
  trials=$(( $(tr ',' '\n' <<< "$GAMES" | wc -l) * SEEDS ))
  GPUS=$(python3 -c "print(round(1 / $trials, 4))")   # the one GPU shared by every trial
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no nvidia-smi: is there a GPU?"
fi
mkdir -p "$OUT"
echo "gpu_sweep: games $GAMES x $SEEDS seeds, preset $PRESET, ${GPUS} GPU per trial, limit ${LIMIT}s -> $OUT"
status=0
timeout --signal=INT --kill-after=60 "$LIMIT" "$WORKBENCH" sweep --agent drq-eps --preset "$PRESET" \
  --games "$GAMES" --seeds "$SEEDS" --cpus-per-trial 1 --gpus-per-trial "$GPUS" "${EVAL[@]}" \
  --status-every 60 --out "$OUT/sweep" dqn.threads=1 || status=$?
[ "$status" = 0 ] || echo "gpu_sweep: the sweep stopped (exit $status) after at most ${LIMIT}s; finished trials follow"
finished=()
for run in "$OUT"/sweep/runs/*/; do
  if [ -f "$run/results.json" ] && compgen -G "$run/evaluation-seed*.json" > /dev/null; then finished+=("$run"); fi
done
echo "gpu_sweep: ${#finished[@]} trial(s) finished"
[ "${#finished[@]}" -gt 0 ] || exit 1
for run in "${finished[@]}"; do
  "$WORKBENCH" measured "$run" --root "$OUT/measured" || true   # an existing record is never overwritten
done
"$WORKBENCH" leaderboard "${finished[@]}" --out "$OUT/leaderboard" --reps 2000
