#!/usr/bin/env bash
# Sets up autan in ./.venv and runs it: a completion from the local engine, no download of
# weights. Until the bundled default model ships, `autan generate` without --model makes a
# small demo checkpoint (random weights, so the text is not meaningful) under ~/.cache/autan.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# The CPU build of torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
# Where that exact build is not available, any torch >= 2.11 will do.
.venv/bin/python -m pip install -q torch==2.13.0 || .venv/bin/python -m pip install -q "torch>=2.11"
.venv/bin/python -m pip install -q -e ".[test]"

.venv/bin/autan generate --prompt 'def add(a, b):' --max-tokens 24
