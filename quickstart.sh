#!/usr/bin/env bash
# Sets up autan in ./.venv at the pinned versions of constraints.txt, then runs one completion
# with the bundled model. Nothing but packages is downloaded; the model ships in the package.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf 'quickstart: %s\n' "$*"; }
# -qq: pip's errors only. Each step says what it installs, and the pins leave nothing for pip to
# warn about; a failing step still shows pip's error and stops here.
pip_install() { .venv/bin/python -m pip install -qq --constraint constraints.txt "$@"; }

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "quickstart: autan needs Python 3.11 or newer; python3 is $(python3 --version)" >&2
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    step "creating .venv with $(python3 --version)"
    python3 -m venv .venv
fi
step "installing pip and setuptools"
pip_install pip setuptools
# torch first, on its own, so its build is settled before anything depends on it: the CPU build
# where pip is set up to find one (as on CI's machines), else the index's default build.
step "installing PyTorch $(grep -i '^torch==' constraints.txt | cut -d= -f3) (CPU build)"
pip_install torch
step "installing autan and its test tools"
pip_install --no-build-isolation -e ".[test]"

step "completing 'def add(a, b):' with the bundled model"
.venv/bin/autan generate --prompt 'def add(a, b):' --max-tokens 24
