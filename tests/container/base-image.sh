#!/usr/bin/env bash
# The debootstrap base image of a Debian suite for the tmux-matrix container
# (tests/container/Dockerfile), built by molecule/scripts/base-image.sh.
#
#   tests/container/base-image.sh [IMAGE]   # default assistant-resurrect-tmux-matrix-base:forky
#
# AR_DEBIAN_SUITE picks the suite (forky). Debian 12's debootstrap (1.0.128)
# predates forky and has no script for it; newer debootstraps make forky an
# alias of sid's script. Here, without touching the host's debootstrap, a
# private DEBOOTSTRAP_DIR holds links to the host's functions and scripts
# plus that one alias, and base-image.sh's debootstrap reads it from there.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
suite=${AR_DEBIAN_SUITE:-forky}
image=${1:-assistant-resurrect-tmux-matrix-base:$suite}
host_dir=/usr/share/debootstrap

cleanup() { [ -z "${overlay:-}" ] || rm -rf "$overlay"; }
trap cleanup EXIT
if [ -z "${DEBOOTSTRAP_DIR:-}" ] && [ -d "$host_dir/scripts" ] && [ ! -e "$host_dir/scripts/$suite" ]; then
  overlay=$(mktemp -d /var/tmp/ar-debootstrap.XXXXXX)
  mkdir "$overlay/scripts"
  for f in "$host_dir"/*; do [ "$f" = "$host_dir/scripts" ] || ln -s "$f" "$overlay/"; done
  for f in "$host_dir"/scripts/*; do ln -s "$f" "$overlay/scripts/"; done
  ln -s "$host_dir/scripts/sid" "$overlay/scripts/$suite"
  printf '[tmux-matrix] debootstrap %s has no script for %s: using sid'"'"'s (DEBOOTSTRAP_DIR=%s)\n' \
    "$(dpkg-query -W -f '${Version}' debootstrap 2>/dev/null || echo '?')" "$suite" "$overlay" >&2
  export DEBOOTSTRAP_DIR=$overlay
fi
AR_DEBIAN_SUITE=$suite bash "$here/molecule/scripts/base-image.sh" "$image"
