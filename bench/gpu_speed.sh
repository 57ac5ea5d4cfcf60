#!/usr/bin/env bash
# Issue 7's device check: throughput of PGD-10 AT per precision / channels-last / compile, projected GPU-hours, and
# the spine ratios (incl. torchattacks when its wheel is carried in .whl/). Writes results under $OUT.
set -uo pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:src
else
    export PYTHONPATH=src
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 bench/run.py --device cuda --width 64 --images 10240 --batch 256 --transfer-images 5120 --out "$OUT" 2>&1 | tee "$OUT/spine.txt"
python3 bench/throughput.py --out "$OUT" 2>&1 | tee "$OUT/throughput.txt"
