#!/usr/bin/env bash
# Prepare a fresh Debian/Ubuntu machine to run the whole test suite:
# system packages, the dev virtualenv (.venv, made from /usr/bin/python3 so
# that ordinary users can run it too) and every scripts/setup.d/*.sh step.
# Idempotent; run as root (or with sudo) on a fresh machine.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

log() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v apt-get >/dev/null 2>&1; then
  log "installing system packages (tmux, git, python3-venv, procps, sqlite3, nodejs, npm)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq \
    tmux git python3 python3-venv procps sqlite3 util-linux sudo passwd jq >/dev/null
  command -v npm >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >/dev/null
fi

venv=${AR_DEV_VENV:-$here/.venv}
if [ ! -x "$venv/bin/python" ]; then
  log "creating the dev virtualenv $venv from /usr/bin/python3"
  /usr/bin/python3 -m venv "$venv"
fi
log "installing Python dev requirements"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -r requirements-dev.txt
"$venv/bin/pip" install -q -e runtime/

for step in scripts/setup.d/*.sh; do
  [ -e "$step" ] || continue
  log "running $step"
  AR_DEV_VENV="$venv" bash "$step"
done
log "done: activate with 'source $venv/bin/activate'"
