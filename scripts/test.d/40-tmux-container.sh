#!/usr/bin/env bash
# The tmux matrix's container leg: tests/integration and tests/hostile against
# Debian forky's tmux (3.7c), which needs a newer libc than the host has.
#
#   scripts/test.d/40-tmux-container.sh [PYTEST ARGS]   # default: tests/integration tests/hostile
#
# 1. starts the Docker engine (molecule/scripts/engine.sh start; an engine that
#    already answers is used and left running);
# 2. builds the images when missing or changed, without a registry:
#    tests/container/base-image.sh (debootstrap of forky from the host's Debian
#    mirror, once) and tests/container/Dockerfile (docker's layer cache);
# 3. runs pytest in a throwaway container on a read-only bind mount of this
#    repository at /src (the runtime comes from /src/runtime/src, pytest's
#    basetemp and hypothesis's data stay in the container's /tmp);
# 4. removes the container and stops the engine it started
#    (AR_KEEP_ENGINE=1 keeps it running).
#
# Exit status: pytest's. A machine without Docker capability (no docker or
# dockerd, not root) fails the step with a clear message; set
# AR_TMUX_CONTAINER_OPTIONAL=1 (or AR_MOLECULE_OPTIONAL=1) to skip it loudly.
# AR_HOSTILE_* knobs (tests/hostile/conftest.py) are passed into the container.
# The container gets CAP_SYS_ADMIN so that `unshare -m` works for
# test_hooks_work_in_a_systemd_like_environment, and --init reaps the
# stand-in assistants the tests kill (PID 1 must reap orphans).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
suite=${AR_TMUX_CONTAINER_SUITE:-forky}
base_image=assistant-resurrect-tmux-matrix-base:$suite
test_image=assistant-resurrect-tmux-matrix:$suite
container=assistant-resurrect-tmux-matrix-$$
optional=${AR_TMUX_CONTAINER_OPTIONAL:-${AR_MOLECULE_OPTIONAL:-0}}
say() { printf '== tmux-container: %s\n' "$*" >&2; }

no_capability() {
  say "NOT RUN — $* (see the message above)"
  if [ "$optional" = 1 ]; then
    say "SKIPPED because AR_TMUX_CONTAINER_OPTIONAL/AR_MOLECULE_OPTIONAL=1"
    exit 0
  fi
  say "failing; set AR_TMUX_CONTAINER_OPTIONAL=1 to skip on purpose"
  exit 1
}

# An engine that answers before we start one is someone else's: never stop it.
started_engine=0
if ! timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  started_engine=1
fi
rc=0
bash "$here/molecule/scripts/engine.sh" start || rc=$?
[ "$rc" = 3 ] && no_capability "this machine has no usable Docker engine"
[ "$rc" = 0 ] || { say "engine.sh start failed ($rc)"; exit "$rc"; }

cleanup() {
  docker rm -f "$container" >/dev/null 2>&1 || true
  if [ "$started_engine" = 1 ] && [ "${AR_KEEP_ENGINE:-0}" != 1 ]; then
    bash "$here/molecule/scripts/engine.sh" stop
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
rc=0
AR_DEBIAN_SUITE=$suite bash "$here/tests/container/base-image.sh" "$base_image" || rc=$?
[ "$rc" = 3 ] && no_capability "the base image cannot be built here (needs root and debootstrap)"
[ "$rc" = 0 ] || { say "building $base_image failed ($rc)"; exit "$rc"; }
say "docker build $test_image"
docker build -q --build-arg "BASE=$base_image" -t "$test_image" "$here/tests/container" >/dev/null \
  || { say "docker build failed"; exit 1; }
say "images ready in $((SECONDS - t0)) s"

[ $# -gt 0 ] || set -- tests/integration tests/hostile
env_args=()
while IFS= read -r name; do
  env_args+=(-e "$name")
done < <(compgen -e | grep -E '^(AR_HOSTILE_|AR_STRICT$)' || true)

# The real plugins' bundles (../shared/mirrors), read-only, where they are:
# the event-save and continuum tests clone tmux-resurrect and tmux-continuum
# from them (without them they skip, which AR_STRICT=1 fails).
if [ -d "$here/../shared/mirrors" ]; then
  env_args+=(-v "$(cd "$here/../shared/mirrors" && pwd -P):/shared/mirrors:ro" -e AR_SHARED_DIR=/shared)
fi

t0=$SECONDS
rc=0
docker run --name "$container" --init --cap-add SYS_ADMIN \
  -v "$here:/src:ro" "${env_args[@]}" "$test_image" \
  pytest -p no:cacheprovider --basetemp=/tmp/pytest "$@" || rc=$?
say "pytest in the container exited $rc after $((SECONDS - t0)) s"
exit "$rc"
