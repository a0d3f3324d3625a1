#!/usr/bin/env bash
# The single command that runs every test: lint, pytest (unit, integration
# against real tmux servers, real assistant CLIs, role runs) and, where a
# Docker engine can be started, the Molecule scenarios.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
venv=${AR_DEV_VENV:-$here/.venv}
export PATH="$venv/bin:$PATH"

# AR_CLI_CHANNEL=latest: the real-CLI tests run against the newest registry
# version of every assistant CLI, installed beside the pinned ones.
if [ "${AR_CLI_CHANNEL:-pinned}" = latest ]; then
  export AR_CLI_PREFIX=${AR_CLI_PREFIX:-/opt/assistant-clis-latest}
  echo "== assistant CLIs from the latest channel into $AR_CLI_PREFIX"
  AR_CLI_CHANNEL=latest AR_CLI_PREFIX="$AR_CLI_PREFIX" bash scripts/setup.d/30-assistant-clis.sh
fi

echo "== ruff check, ruff format --check, mypy"
ruff check runtime tests benchmarks roles molecule scripts
ruff format --check runtime tests benchmarks roles molecule scripts
mypy --config-file runtime/pyproject.toml runtime/src
echo "== pytest (host tmux: $(tmux -V 2>&1))"
pytest "$@"

# The tmux matrix: the integration and hostile suites (every save, restore,
# attach and pending path) again against each other tmux release that
# scripts/setup.d/20-tmux-versions.sh unpacked (3.1c, 3.5a); 3.7c runs in a
# container (scripts/test.d/40-tmux-container.sh). Only on a full run (no
# pytest arguments) or when AR_TMUX_MATRIX=1.
full=0
[ "$#" -eq 0 ] && full=1
# The other releases run the same suites with fewer generated cases per
# property (the host's 3.3a run above keeps the full counts).
matrix_knobs=(AR_HOSTILE_SHELL_EXAMPLES=3 AR_HOSTILE_CYCLE_EXAMPLES=2
  AR_HOSTILE_GARBAGE_EXAMPLES=50 AR_HOSTILE_RESTORE_KILLS=3)
if [ "$full" = 1 ] || [ "${AR_TMUX_MATRIX:-0}" = 1 ]; then
  matrix=()
  for t in "${AR_TMUX_PREFIX:-/opt/assistant-resurrect-tmux}"/*/usr/bin/tmux; do
    [ -x "$t" ] && matrix+=("$t")
  done
  if [ "${#matrix[@]}" -eq 0 ]; then
    echo "== tmux matrix: NO other tmux found (run scripts/setup.d/20-tmux-versions.sh)" >&2
    [ "${CI:-}" != true ] || exit 1
  fi
  failed=()
  for t in "${matrix[@]}"; do
    echo "== pytest tests/integration tests/hostile against $("$t" -V) ($t)"
    env "${matrix_knobs[@]}" AR_TMUX="$t" pytest -q tests/integration tests/hostile \
      || failed+=("$("$t" -V)")
  done
  # The psutil process backend (macOS, the BSDs), forced on Linux: the
  # integration suite and the pane guards.
  echo "== pytest tests/integration tests/hostile/test_restore_guards.py with ASSISTANT_RESURRECT_PROCS=psutil"
  ASSISTANT_RESURRECT_PROCS=psutil pytest -q tests/integration tests/hostile/test_restore_guards.py \
    || failed+=("the psutil process backend")
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "== FAILED: ${failed[*]}" >&2
    exit 1
  fi
fi
# The container steps (tmux 3.7c, Molecule): on a full run, or AR_TEST_STEPS=1.
if [ "$full" = 1 ] || [ "${AR_TEST_STEPS:-0}" = 1 ]; then
  for step in scripts/test.d/*.sh; do
    [ -e "$step" ] || continue
    echo "== $step"
    case $step in
      *tmux-container*) env "${matrix_knobs[@]}" AR_DEV_VENV="$venv" bash "$step" ;;
      *) AR_DEV_VENV="$venv" bash "$step" ;;
    esac
  done
fi
