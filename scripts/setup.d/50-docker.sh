#!/usr/bin/env bash
# Install what the Molecule scenarios need: a Docker engine (docker.io) and
# debootstrap (to build the Debian base image without a container registry).
# Installs packages only; nothing long-running is started here
# (scripts/test.d/50-molecule.sh starts and stops dockerd itself).
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[setup 50-docker] no apt-get: install a Docker engine and debootstrap yourself" >&2
  exit 0
fi
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
  echo "[setup 50-docker] installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
fi
# docker.io's postinstall may start the daemon through systemd on a booted
# host; that is the host's business. On a container/CI host without systemd
# nothing runs.
