#!/usr/bin/env bash
# Everything the Molecule scenarios need, start to finish:
# start a private Docker engine (or use a running one), build the base and
# test images, run Molecule, and ALWAYS stop the engine we started (by its
# PID, in a trap; an engine that already ran is left running) and remove the
# containers of the scenarios it ran, even on failure.
#
#   molecule/scripts/run.sh                      # the matrix: `molecule test -s S` for
#                                                # every scenario:suite of AR_MOLECULE_MATRIX
#                                                # (default: default on bullseye, bookworm,
#                                                # trixie; upgrade and uninstall on bookworm),
#                                                # AR_MOLECULE_JOBS (default 3) at a time,
#                                                # each logged to a file, all run even when
#                                                # one fails
#   molecule/scripts/run.sh test -s default      # any molecule arguments, on the suite
#                                                # AR_DEBIAN_SUITE (default bookworm)
#   AR_KEEP_ENGINE=1 molecule/scripts/run.sh converge -s default
#                                                # leave dockerd running (stop it
#                                                # later: molecule/scripts/engine.sh stop)
#
# Exit code 3: no Docker capability on this machine (message says why).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${AR_DEV_VENV:-$repo/.venv}
[ -x "$venv/bin/molecule" ] && export PATH="$venv/bin:$PATH"
say() { printf '[molecule] %s\n' "$*" >&2; }

command -v molecule >/dev/null 2>&1 || {
  say "molecule is not installed (run scripts/setup-dev.sh)"
  exit 3
}

jobs_pids=()
engine_pidfile=${AR_ENGINE_DIR:-/tmp/assistant-resurrect-engine}/dockerd.pid
engine_ours=0  # 1 once this run started the dockerd (another run's stays up)
containers=()  # name prefixes of the scenarios' instances this run runs (ar-SCENARIO-)
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${jobs_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${jobs_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "${AR_KEEP_ENGINE:-0}" != 1 ]; then
    # the instances of our scenarios only (other runs may share the engine)
    # (by name prefix: a scenario may have several, as fleet's ar-fleet-*)
    for c in "${containers[@]}"; do
      ids=$(docker ps -aq --filter "name=^$c" 2>/dev/null || true)
      [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    done
    # the engine only if this run started it
    [ "$engine_ours" != 1 ] || "$here/engine.sh" stop || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The matrix: scenario:suite (molecule.yml reads the suite from
# AR_DEBIAN_SUITE; the instances are named ar-SCENARIO-...). Longest first:
# fleet (four hosts), then default (it runs the real CLIs). A new scenario
# joins the default matrix here, in this one list.
default_matrix="fleet:bookworm default:bullseye default:bookworm default:trixie upgrade:bookworm uninstall:bookworm"
read -r -a matrix <<<"${AR_MOLECULE_MATRIX:-$default_matrix}"
suites=()
if [ "$#" -gt 0 ]; then
  suites=("${AR_DEBIAN_SUITE:-bookworm}")
else
  for job in "${matrix[@]}"; do
    [[ " ${suites[*]} " == *" ${job#*:} "* ]] || suites+=("${job#*:}")
  done
fi
# Each scenario:suite keeps its own Molecule state (instances, inventory),
# so suites can run side by side and one suite's state never leaks into
# another's run.
state_root=${XDG_CACHE_HOME:-$HOME/.cache}/assistant-resurrect-molecule
ephemeral() { echo "$state_root/$1-$2"; }  # ephemeral SCENARIO SUITE

t0=$SECONDS
engine_before=$(cat "$engine_pidfile" 2>/dev/null || true)
"$here/engine.sh" start
engine_after=$(cat "$engine_pidfile" 2>/dev/null || true)
[ -z "$engine_after" ] || [ "$engine_after" = "$engine_before" ] || engine_ours=1
[ "$engine_ours" = 1 ] || say "the engine was already running: this run leaves it running"
AR_DEBIAN_SUITES="${suites[*]}" "$here/images.sh"
say "engine and images ready in $((SECONDS - t0)) s"

cd "$repo"
export NO_COLOR=1 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
t0=$SECONDS
if [ "$#" -gt 0 ]; then
  export AR_DEBIAN_SUITE=${suites[0]}
  # the scenario named on the command line gets its per-suite state folder
  # (`--all`, or no scenario: Molecule's own folders, one suite at a time)
  args=("$@")
  for i in "${!args[@]}"; do
    case "${args[$i]}" in
      -s | --scenario-name) scenario=${args[$((i + 1))]:-} ;;
      --scenario-name=*) scenario=${args[$i]#*=} ;;
    esac
  done
  if [ -n "${scenario:-}" ] && [ -z "${MOLECULE_EPHEMERAL_DIRECTORY:-}" ]; then
    export MOLECULE_EPHEMERAL_DIRECTORY
    MOLECULE_EPHEMERAL_DIRECTORY=$(ephemeral "$scenario" "$AR_DEBIAN_SUITE")
  fi
  [ -z "${scenario:-}" ] || containers+=("ar-$scenario-")
  rc=0
  molecule "$@" || rc=$?
  say "molecule $* (Debian $AR_DEBIAN_SUITE) finished in $((SECONDS - t0)) s with exit code $rc"
  exit "$rc"
fi

# The matrix, in parallel (the jobs mostly wait on containers and CLIs).
scenarios=()
for job in "${matrix[@]}"; do scenarios+=("${job%%:*}-${job#*:}"); done
logdir=${AR_MOLECULE_LOGS:-/tmp/assistant-resurrect-molecule-logs}
mkdir -p "$logdir"
max=${AR_MOLECULE_JOBS:-3}
declare -A pid_of start_of rc_of took_of
running=0
next=0
finish_one() {
  # wait for whichever scenario ends first
  local done_pid rc=0
  wait -n -p done_pid "${jobs_pids[@]}" || rc=$?
  for s in "${!pid_of[@]}"; do
    if [ "${pid_of[$s]}" = "$done_pid" ]; then
      rc_of[$s]=$rc
      took_of[$s]=$((SECONDS - start_of[$s]))
      unset "pid_of[$s]"
      say "$s: exit code $rc after ${took_of[$s]} s (log $logdir/$s.log)"
    fi
  done
  local keep=()
  for p in "${jobs_pids[@]}"; do [ "$p" = "$done_pid" ] || keep+=("$p"); done
  jobs_pids=("${keep[@]}")
  running=$((running - 1))
}
while [ "$next" -lt "${#scenarios[@]}" ] || [ "$running" -gt 0 ]; do
  if [ "$next" -lt "${#scenarios[@]}" ] && [ "$running" -lt "$max" ]; then
    job=${matrix[$next]}
    s=${scenarios[$next]}
    next=$((next + 1))
    say "$s: molecule test -s ${job%%:*} on Debian ${job#*:} (log $logdir/$s.log)"
    AR_DEBIAN_SUITE=${job#*:} MOLECULE_EPHEMERAL_DIRECTORY=$(ephemeral "${job%%:*}" "${job#*:}") \
      molecule test -s "${job%%:*}" >"$logdir/$s.log" 2>&1 &
    pid_of[$s]=$!
    containers+=("ar-${job%%:*}-")
    start_of[$s]=$SECONDS
    jobs_pids+=("$!")
    running=$((running + 1))
    continue
  fi
  finish_one
done

failed=()
for s in "${scenarios[@]}"; do
  if [ "${rc_of[$s]}" != 0 ]; then
    failed+=("$s")
    echo "======== $s (FAILED) — end of $logdir/$s.log"
    grep -v -e 'RETRYING' "$logdir/$s.log" | tail -n 120
  fi
done
echo "======== Molecule summary (wall $((SECONDS - t0)) s)"
for s in "${scenarios[@]}"; do
  printf '  %-18s %-6s %4s s\n' "$s" "$([ "${rc_of[$s]}" = 0 ] && echo ok || echo FAILED)" "${took_of[$s]}"
done
[ "${#failed[@]}" -eq 0 ] || exit 1
