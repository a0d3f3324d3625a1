#!/usr/bin/env bash
# Rehearse CI the way CI runs it: a fresh clone of the committed main (what CI
# checks out, not the work tree), pytest's temporary folders as a fresh
# machine has them (/tmp/pytest-of-<user>/pytest-0/...), `CI=true bash .ci/run`
# with no terminal on stdin. Optionally under load: two busy loops for the
# whole run (a slow, shared CI machine). Prints the wall time and the exit
# code, exits with the run's exit code.
#
#   scripts/rehearse-ci.sh [--load] [--keep] [--command 'CMD']
#
#   --load         two busy loops (one per CPU of a 2-CPU runner) for the whole run
#   --keep         keep the clone afterwards (it is removed otherwise)
#   --command CMD  run CMD in the clone instead of `bash .ci/run` (still with
#                  CI=true and stdin from /dev/null), e.g. a quick rehearsal:
#                  AR_DEV_VENV=$PWD/.venv scripts/rehearse-ci.sh \
#                      --command 'bash scripts/test.sh tests/unit -q'
#
# Before it removes /tmp/pytest-of-<user> it waits (up to $AR_REHEARSE_WAIT
# seconds, 1800) for other pytest runs of the same user to end.
#
# The clone goes beside the repository (../ci-check-<n>), so that paths the
# project takes relative to its folder (../shared) resolve as they do here.
set -euo pipefail

usage() { sed -n '2,23s/^# \{0,1\}//p' "$0"; }

load=false
keep=false
wait_max=${AR_REHEARSE_WAIT:-1800}
command='bash .ci/run'
while [ $# -gt 0 ]; do
  case $1 in
    --load) load=true ;;
    --keep) keep=true ;;
    --command)
      [ $# -ge 2 ] || { echo "rehearse-ci: --command needs an argument" >&2; exit 2; }
      command=$2
      shift
      ;;
    --command=*) command=${1#--command=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "rehearse-ci: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
parent=$(dirname "$repo")
n=1
while [ -e "$parent/ci-check-$n" ]; do n=$((n + 1)); done
clone=$parent/ci-check-$n

loops=()
run=
cleanup() {
  local pid
  if [ -n "$run" ] && kill -0 "$run" 2>/dev/null; then
    echo "rehearse-ci: interrupted: ending the run (process group $run)" >&2
    kill -TERM -- "-$run" 2>/dev/null || kill -TERM "$run" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$run" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$run" 2>/dev/null || true
    wait "$run" 2>/dev/null || true
  fi
  for pid in "${loops[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  loops=()
  if [ "$keep" = true ]; then
    echo "rehearse-ci: clone kept at $clone"
  elif [ -d "$clone" ]; then
    rm -rf "$clone"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "rehearse-ci: cloning the committed main of $repo into $clone"
git clone -q --branch main "$repo" "$clone"
echo "rehearse-ci: at $(git -C "$clone" log -1 --format='%h %s')"

# pytest numbers its temporary folders per user; a fresh machine starts at
# pytest-0, which makes every tmp_path shorter than on a machine that ran it.
# Another pytest of this user still running keeps its tmp_path there: wait
# for it rather than pull the folder from under it.
is_pytest() { # PID runs pytest (pytest, python .../pytest, python -m pytest) in
  # our /tmp (not in a container) with pytest's default temp folder
  local -a argv
  local arg
  [ "$(readlink "/proc/$1/ns/mnt" 2>/dev/null)" = "$(readlink /proc/self/ns/mnt)" ] || return 1
  { mapfile -d "" -t argv <"/proc/$1/cmdline"; } 2>/dev/null || return 1
  [ "${#argv[@]}" -gt 0 ] || return 1
  for arg in "${argv[@]}"; do
    case $arg in --basetemp | --basetemp=*) return 1 ;; esac
  done
  case ${argv[0]##*/} in
    pytest | py.test) return 0 ;;
    python*) ;;
    *) return 1 ;;
  esac
  [ "${argv[1]:-}" = -m ] && [ "${argv[2]:-}" = pytest ] && return 0
  case ${argv[1]:-} in */pytest | pytest) return 0 ;; esac
  return 1
}
other_pytests() {
  local pid
  for pid in $(pgrep -u "$(id -u)" . || true); do
    is_pytest "$pid" && echo "$pid"
  done
  return 0
}
waited=0
while busy=$(other_pytests) && [ -n "$busy" ]; do
  if [ "$waited" -ge "$wait_max" ]; then
    echo "rehearse-ci: pytest still running ($(echo $busy)); not removing its temp folder" >&2
    exit 3
  fi
  [ "$waited" -gt 0 ] || echo "rehearse-ci: waiting for running pytest ($(echo $busy)) to end"
  sleep 10
  waited=$((waited + 10))
done
rm -rf "/tmp/pytest-of-$(id -un)"

if [ "$load" = true ]; then
  for _ in 1 2; do
    (while :; do :; done) &
    loops+=("$!")
  done
  echo "rehearse-ci: load: busy loops ${loops[*]}"
fi

echo "rehearse-ci: running: CI=true $command (in $clone, stdin from /dev/null)"
start=$(date +%s)
rc=0
# In its own session (so an interrupt can end the whole run: pytest, its
# tmux servers) and in the background (so the traps run at once, not after it).
(cd "$clone" && CI=true exec setsid bash -c "$command") </dev/null &
run=$!
wait "$run" || rc=$?
run=
elapsed=$(($(date +%s) - start))
printf 'rehearse-ci: wall time %dm%02ds, exit code %d%s\n' \
  $((elapsed / 60)) $((elapsed % 60)) "$rc" "$([ "$load" = true ] && echo ' (under load)')"
exit "$rc"
