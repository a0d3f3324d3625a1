#!/usr/bin/env bash
# The single command that runs every test: lint, pytest (unit, integration
# against real tmux servers, real assistant CLIs, role runs) and, where a
# Docker engine can be started, the Molecule scenarios.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
venv=${AR_DEV_VENV:-$here/.venv}
export PATH="$venv/bin:$PATH"

echo "== ruff"
ruff check runtime tests benchmarks roles molecule
echo "== pytest"
pytest "$@"
for step in scripts/test.d/*.sh; do
  [ -e "$step" ] || continue
  echo "== $step"
  AR_DEV_VENV="$venv" bash "$step"
done
