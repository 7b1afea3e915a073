#!/usr/bin/env bash
# End-to-end tests: the real AXME Python SDK (axme==0.2.0 from PyPI) against the real `axp` binary.
#
#   tests/sdk-python/run.sh [pytest args...]      e.g.  run.sh -k seed -s
#
# The caller builds the server first (`cargo build -p axp`); this script never builds Rust code.
# AXP_BIN overrides the binary (default: <repo>/target/debug/axp). PYTHON overrides the interpreter
# used to create the venv (default: python3; axme needs Python >= 3.11).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
AXP_BIN="${AXP_BIN:-$REPO_ROOT/target/debug/axp}"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

if [[ ! -x "$AXP_BIN" ]]; then
  echo "error: axp binary not found or not executable: $AXP_BIN" >&2
  echo "       build it first with 'cargo build -p axp' (from $REPO_ROOT), or set AXP_BIN." >&2
  exit 2
fi
export AXP_BIN

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "error: $PYTHON is missing or older than 3.11 (axme==0.2.0 requires Python >= 3.11); set PYTHON." >&2
  exit 2
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "creating venv at $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
# Reinstall only when requirements.txt changed since the last successful install.
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$HERE/requirements.txt"
  echo "$WANT" > "$STAMP"
fi

cd "$HERE"
exec "$VENV/bin/python" -m pytest -q "$@"
