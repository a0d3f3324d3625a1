#!/usr/bin/env python3
"""Benchmark of the Claude Code command hooks, run the way Claude runs them:
`sh -c '<agent> hook claude-session-start'` with the JSON payload on stdin, as
a child of a process named `claude`, inside a tmux pane ($TMUX and $TMUX_PANE
set, so the hook also reads the capture options from tmux).

The `claude` here is a small Python driver (so the hook finds a Claude
ancestor, as in real use); it times each hook command from spawn to exit and
checks that the state file names its own PID and the payload's session ID.

    python3 benchmarks/bench_hooks.py --runs 30

Writes results/hooks.csv and results/hooks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_agent_options, agent_from, log, machine, md_table, stats, write_csv

DRIVER = r"""#!{python}
# A stand-in for Claude Code: runs its command hooks through sh, timed.
import json, os, sys, uuid
sys.path.insert(0, {bench!r})
from common import timed

cfg = json.load(open(sys.argv[1]))
env = dict(os.environ)
out = {{"start": [], "end": [], "start_rss": [], "end_rss": [], "start_cpu": [],
       "end_cpu": [], "checked": 0}}
for i in range(cfg["warmup"] + cfg["runs"]):
    sid = str(uuid.uuid4())
    payload = json.dumps({{
        "session_id": sid, "hook_event_name": "SessionStart", "source": "startup",
        "cwd": os.getcwd(), "model": "claude-sonnet-4-5",
        "transcript_path": os.path.join(env["HOME"], ".claude", "projects", "x", sid + ".jsonl"),
    }}).encode()
    s = timed(["/bin/sh", "-c", cfg["agent"] + " hook claude-session-start"], env, payload)
    state = os.path.join(env["TMUX_ASSISTANT_RESURRECT_DIR"], f"claude-{{os.getpid()}}.json")
    doc = json.load(open(state))
    if s.status != 0 or doc["session_id"] != sid or doc["pid"] != os.getpid():
        sys.exit(f"hook did not record the session: {{s.stderr!r}} {{doc}}")
    e = timed(["/bin/sh", "-c", cfg["agent"] + " hook claude-session-end"], env, b'{{}}')
    if e.status != 0 or os.path.exists(state):
        sys.exit(f"SessionEnd hook did not remove the state file: {{e.stderr!r}}")
    if i >= cfg["warmup"]:
        out["start"].append(s.ms); out["end"].append(e.ms)
        out["start_rss"].append(s.maxrss_kb); out["end_rss"].append(e.maxrss_kb)
        out["start_cpu"].append(s.cpu_ms); out["end_cpu"].append(e.cpu_ms)
        out["checked"] += 1
json.dump(out, open(cfg["out"], "w"))
"""


def bench(agent: Path, runs: int, warmup: int, work: Path) -> list[dict[str, object]]:
    tmux = subprocess.run(["sh", "-c", "command -v tmux"], capture_output=True, text=True)
    tmux_exe = tmux.stdout.strip() or "tmux"
    home = work / "home"
    home.mkdir()
    state = work / "state"
    state.mkdir(mode=0o700)
    socket = f"ar-bench-hooks-{os.getpid()}"
    env = {
        "HOME": str(home),
        "PATH": f"{os.path.dirname(tmux_exe)}:/usr/local/bin:/usr/bin:/bin",
        "TMUX_ASSISTANT_RESURRECT_DIR": str(state),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    driver = work / "bin" / "claude"
    driver.parent.mkdir()
    driver.write_text(DRIVER.format(python=sys.executable, bench=str(Path(__file__).parent)))
    driver.chmod(0o755)
    cfg = work / "cfg.json"
    result = work / "out.json"
    cfg.write_text(
        json.dumps(
            {
                "agent": shlex.quote(str(agent)),
                "runs": runs,
                "warmup": warmup,
                "out": str(result),
            }
        )
    )

    def tmux_cmd(*args: str) -> str:
        return subprocess.run(
            [tmux_exe, "-L", socket, *args], env=env, check=True, capture_output=True, text=True
        ).stdout

    sock_path = ""
    try:
        tmux_cmd("-f", "/dev/null", "new-session", "-d", "-s", "bench", "sleep 3600")
        tmux_cmd("set", "-g", "@assistant-resurrect-capture-env", "AWS_PROFILE KUBECONFIG")
        info = tmux_cmd("display-message", "-p", "-t", "bench", "#{socket_path},#{pid},#{pane_id}")
        sock_path, server_pid, pane_id = info.strip().split(",")
        env_in_tmux = dict(env, TMUX=f"{sock_path},{server_pid},0", TMUX_PANE=pane_id)
        log(f"hooks: {warmup} warm-up + {runs} timed runs of each hook")
        subprocess.run([str(driver), str(cfg)], env=env_in_tmux, cwd=str(home), check=True)
    finally:
        subprocess.run([tmux_exe, "-L", socket, "kill-server"], env=env, capture_output=True)
        if sock_path:  # tmux leaves the socket file behind
            time.sleep(0.2)
            with contextlib.suppress(OSError):
                os.unlink(sock_path)
    out = json.loads(result.read_text())
    rows: list[dict[str, object]] = []
    for name, key in (("claude-session-start", "start"), ("claude-session-end", "end")):
        med, lo, hi = stats(out[key])
        rows.append(
            {
                "hook": name,
                "runs": out["checked"],
                "median_ms": round(med, 1),
                "min_ms": round(lo, 1),
                "max_ms": round(hi, 1),
                "cpu_median_ms": round(stats(out[f"{key}_cpu"])[0], 1),
                "peak_rss_kb": max(out[f"{key}_rss"]),
            }
        )
        log(f"{name}: median {med:.1f} ms (min {lo:.1f}, max {hi:.1f})")
    return rows


def markdown(rows: list[dict[str, object]]) -> str:
    return md_table(
        [
            "hook command (through sh, as Claude runs it)",
            "median ms (min-max)",
            "CPU ms",
            "peak RSS MiB",
        ],
        [
            [
                f"`assistant-resurrect hook {r['hook']}`",
                f"{r['median_ms']} ({r['min_ms']}-{r['max_ms']})",
                r["cpu_median_ms"],
                f"{int(r['peak_rss_kb']) / 1024:.1f}",  # type: ignore[call-overload]
            ]
            for r in rows
        ],
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    add_agent_options(ap)
    opts = ap.parse_args()
    agent = agent_from(opts)
    opts.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ar-bench-hooks-") as tmp:
        rows = bench(agent, opts.runs, opts.warmup, Path(tmp))
    write_csv(opts.out / "hooks.csv", rows)
    md = (
        f"Claude command hooks, {opts.runs} timed runs each (agent: `{agent}`).\n\n"
        f"Machine: {machine()}\n\n" + markdown(rows)
    )
    (opts.out / "hooks.md").write_text(md)
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
