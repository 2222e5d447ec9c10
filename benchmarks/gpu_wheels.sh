#!/usr/bin/env bash
# The wheels benchmarks/gpu_check.sh needs on a lent GPU machine, whose image holds a CUDA torch (Python 3.12)
# but not the env packages: gymnasium, ale-py (with the ROMs), stable-baselines3, in the versions installed here,
# into .whl/ (about 4 MB; kept out of git by .git/info/exclude). Run here, once, where pip reaches the registry.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  "gymnasium==$(version gymnasium)" "farama-notifications==$(version farama-notifications)" \
  "ale-py==$(version ale-py)" "stable-baselines3==$(version stable-baselines3)"
ls -la .whl
