#!/usr/bin/env bash
# Build the images the scenarios use, with no container registry, for every
# Debian suite of the matrix:
#   1. the Debian base images (debootstrap; each skipped when it exists),
#      all suites at once,
#   2. the CLIs once (the Dockerfile's `clis` stage, on the bookworm base),
#   3. the test image of every suite from the repository's Dockerfile, all at
#      once (docker's layer cache makes a rebuild with nothing changed take
#      seconds).
# Needs a running engine (molecule/scripts/engine.sh start).
#
#   molecule/scripts/images.sh                  # bullseye bookworm trixie
#   AR_DEBIAN_SUITES=bookworm molecule/scripts/images.sh
#
# Tags: assistant-resurrect-base:SUITE and assistant-resurrect-test:SUITE
# (molecule.yml picks the latter by AR_DEBIAN_SUITE). AR_REBUILD_BASE=1
# forces new base images. Logs: $AR_MOLECULE_LOGS/images-*.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
read -r -a suites <<<"${AR_DEBIAN_SUITES:-bullseye bookworm trixie}"
cli_suite=bookworm
logdir=${AR_MOLECULE_LOGS:-/tmp/assistant-resurrect-molecule-logs}
mkdir -p "$logdir"
say() { printf '[images] %s\n' "$*" >&2; }

pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done' EXIT

# run LOG CMD...: in the background, output to LOG; its PID in $!
run() { local log=$1; shift; "$@" >"$log" 2>&1 & pids+=("$!"); }
# finish WHAT LOG PID: wait for it; on failure show the log's end and fail
finish() {
  local rc=0
  wait "$3" || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 40 "$2" >&2
    say "$1 failed (exit code $rc; log $2)"
    exit 1
  fi
  say "$1 ready at $((SECONDS - t0)) s"
}

t0=$SECONDS
declare -A base_pid
bases=("${suites[@]}")
[[ " ${suites[*]} " == *" $cli_suite "* ]] || bases+=("$cli_suite")
for s in "${bases[@]}"; do
  say "base image assistant-resurrect-base:$s (log $logdir/images-base-$s.log)"
  AR_DEBIAN_SUITE=$s run "$logdir/images-base-$s.log" \
    "$here/base-image.sh" "assistant-resurrect-base:$s"
  base_pid[$s]=$!
done

build() {  # build SUITE [docker build args...]
  local s=$1; shift
  docker build --build-arg "BASE=assistant-resurrect-base:$s" \
    --build-arg "CLI_BASE=assistant-resurrect-base:$cli_suite" "$@" "$repo"
}

# The CLIs once, as soon as their base exists; the suites' builds then find
# that stage in the layer cache instead of each installing it again.
finish "base image $cli_suite" "$logdir/images-base-$cli_suite.log" "${base_pid[$cli_suite]}"
say "the CLIs (Dockerfile stage clis, log $logdir/images-clis.log)"
run "$logdir/images-clis.log" build "$cli_suite" --target clis -t assistant-resurrect-test:clis
finish "CLI stage" "$logdir/images-clis.log" "$!"

declare -A build_pid
for s in "${suites[@]}"; do
  [ "$s" = "$cli_suite" ] || finish "base image $s" "$logdir/images-base-$s.log" "${base_pid[$s]}"
  say "test image assistant-resurrect-test:$s (log $logdir/images-test-$s.log)"
  run "$logdir/images-test-$s.log" build "$s" -t "assistant-resurrect-test:$s"
  build_pid[$s]=$!
done
for s in "${suites[@]}"; do
  finish "test image $s" "$logdir/images-test-$s.log" "${build_pid[$s]}"
done
pids=()
say "all images ready in $((SECONDS - t0)) s"
