#!/usr/bin/env bash
# Every benchmark, one after the other (about 5-10 minutes on 2 cores):
#   benchmarks/run.sh                 # save, hooks, restore, events, role
#   AR_BENCH_SKIP_ROLE=1 benchmarks/run.sh
# Writes benchmarks/results/*.csv, *.md and results/RESULTS.md (all of them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/results
py=${AR_BENCH_PYTHON:-python3}
mkdir -p "$out"

"$py" "$here/bench_save.py" --runs "${AR_BENCH_RUNS:-20}" "$@"
agent=$out/venv/bin/assistant-resurrect # built by bench_save.py
"$py" "$here/bench_hooks.py" --runs 30 --agent "$agent"
"$py" "$here/bench_restore.py" --panes 100 --runs 3 --agent "$agent"
"$py" "$here/bench_events.py" --panes 200 --assistants 100 --runs 10 --agent "$agent"
if [ -z "${AR_BENCH_SKIP_ROLE:-}" ]; then
  "$here/bench_role.sh" 2
fi

{
  echo "# Benchmark results"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) at commit $(git -C "$here" rev-parse --short HEAD)."
  echo "Load average when done: $(cut -d' ' -f1-3 /proc/loadavg)."
  for part in save hooks restore events role; do
    [ -e "$out/$part.md" ] || continue
    echo
    echo "## $part"
    echo
    cat "$out/$part.md"
  done
} >"$out/RESULTS.md"
echo "wrote $out/RESULTS.md" >&2
