#!/usr/bin/env bash
# Build the two images the scenarios use, with no container registry:
#   1. the Debian base image (debootstrap; skipped when it exists),
#   2. the test image from the repository's Dockerfile (docker's layer cache
#      makes a rebuild with nothing changed take seconds).
# Needs a running engine (molecule/scripts/engine.sh start).
#
#   molecule/scripts/images.sh
#
# AR_BASE_IMAGE / AR_TEST_IMAGE override the tags; AR_REBUILD_BASE=1 forces
# a new base image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
base=${AR_BASE_IMAGE:-assistant-resurrect-base:bookworm}
image=${AR_TEST_IMAGE:-assistant-resurrect-test:bookworm}
say() { printf '[images] %s\n' "$*" >&2; }

t0=$SECONDS
"$here/base-image.sh" "$base"
say "base image ready in $((SECONDS - t0)) s"

t0=$SECONDS
log=$(mktemp /tmp/ar-docker-build.XXXXXX.log)
say "building $image from $repo/Dockerfile (log $log)"
if ! docker build --build-arg "BASE=$base" -t "$image" "$repo" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  say "docker build failed"
  exit 1
fi
rm -f "$log"
say "test image ready in $((SECONDS - t0)) s"
