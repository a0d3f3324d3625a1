#!/usr/bin/env bash
# Install the extra shells the hostile-input tests type restore commands into
# (tests/hostile): zsh and fish from Debian. bash and dash are already there.
# Idempotent; without apt-get (or root/sudo) it only says what is missing,
# and those tests skip the shells they cannot find.
set -euo pipefail

log() { printf '[shells] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for shell in zsh fish; do
  command -v "$shell" >/dev/null 2>&1 || missing+=("$shell")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "zsh and fish are installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "no apt-get: not installing ${missing[*]} (their tests will be skipped)"
  exit 0
fi
log "installing ${missing[*]}"
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
