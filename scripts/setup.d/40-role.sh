#!/usr/bin/env bash
# Role tests (tests/role): a local wheel folder with psutil and setuptools so
# that the role's pip step runs with --no-index (the documented offline path).
# tests/role/conftest.py makes the same folder on first use when this step
# did not run.
set -euo pipefail
venv=${AR_DEV_VENV:-$(cd "$(dirname "$0")/../.." && pwd)/.venv}
dest=/var/tmp/assistant-resurrect-role-wheels
if [ -e "$dest/.complete" ]; then
  echo "[setup] role wheel folder ready: $dest"
  exit 0
fi
mkdir -p "$dest"
"$venv/bin/pip" download --quiet --dest "$dest" --only-binary=:all: \
  'psutil>=5.9' 'setuptools>=61' wheel
touch "$dest/.complete"
echo "[setup] role wheel folder: $dest"
