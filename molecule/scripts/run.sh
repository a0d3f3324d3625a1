#!/usr/bin/env bash
# Everything the Molecule scenarios need, start to finish:
# start a private Docker engine (or use a running one), build the base and
# test images, run Molecule, and ALWAYS stop the engine we started (by its
# PID, in a trap) and remove the scenario containers, even on failure.
#
#   molecule/scripts/run.sh                      # molecule test --all
#   molecule/scripts/run.sh test -s default      # any molecule arguments
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

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "${AR_KEEP_ENGINE:-0}" != 1 ]; then
    # scenario containers we created (molecule labels them owner=molecule)
    ids=$(docker ps -aq --filter label=owner=molecule 2>/dev/null || true)
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    "$here/engine.sh" stop || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$SECONDS
"$here/engine.sh" start
"$here/images.sh"
say "engine and images ready in $((SECONDS - t0)) s"

cd "$repo"
export NO_COLOR=1 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
[ "$#" -gt 0 ] || set -- test --all
t0=$SECONDS
rc=0
molecule "$@" || rc=$?
say "molecule $* finished in $((SECONDS - t0)) s with exit code $rc"
exit "$rc"
