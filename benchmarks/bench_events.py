#!/usr/bin/env python3
"""Benchmark of event saves (the sentinel, runtime/src/assistant_resurrect/sentinel.py).

On a tmux server with P panes, A of them running stand-in assistants, and the
real tmux-resurrect (cloned from ../shared/mirrors/tmux-resurrect.bundle):

1. event save cost: what one event save runs, tmux-resurrect's `save.sh quiet`
   with our post-save-layout/post-save-all hooks, against the same script with
   our hooks unset (tmux-resurrect alone: the baseline), in R paired rounds;
2. the `event` command (what a script runs to ask for a save) against the
   floor of starting the same Python with `-c pass`;
3. the change-to-saved delay: a state file written (as a hook writes it) until
   the last sidecar holds it, with the sentinel running, R times;
4. the debounce figure: 20 state-dir changes within 2 s, the event saves they
   caused (the design's bound: 2);
5. the sentinel's own cost while nothing changes: CPU ms per minute and RSS.

    python3 benchmarks/bench_events.py                 # 60 panes / 30 assistants, R=10
    python3 benchmarks/bench_events.py --panes 200 --assistants 100 --runs 10

Writes results/events.csv and results/events.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, Server, add_agent_options, agent_from, log, md_table, timed, write_csv

BUNDLE = Path(os.environ.get("AR_SHARED_DIR", str(ROOT.parent / "shared"))) / "mirrors"
COLUMNS = (
    "panes",
    "assistants",
    "runs",
    "event_save_median_ms",
    "resurrect_alone_median_ms",
    "save_ratio",
    "event_cmd_median_ms",
    "python_floor_median_ms",
    "event_cmd_ratio",
    "delay_median_s",
    "delay_max_s",
    "burst_changes",
    "burst_saves",
    "idle_cpu_ms_per_min",
    "sentinel_rss_kb",
    "load_avg",
)


def sidecar_sessions(rdir: Path) -> set[str]:
    last = rdir / "last"
    try:
        name = os.readlink(last).replace("tmux_resurrect_", "assistant_resurrect_")
        doc = json.loads((rdir / name).with_suffix(".json").read_text())
    except (OSError, ValueError):
        return set()
    return {s.get("session_id") for s in doc.get("sessions", [])}


def proc_cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) * 1000.0 / ticks


def proc_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--panes", type=int, default=60)
    ap.add_argument("--assistants", type=int, default=30)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--idle", type=float, default=30.0, help="seconds of idle sentinel measured")
    add_agent_options(ap)
    opts = ap.parse_args()
    bundle = BUNDLE / "tmux-resurrect.bundle"
    if not bundle.is_file():
        log(f"{bundle} is absent: this benchmark needs the real tmux-resurrect")
        return 2
    agent = agent_from(opts)
    work = Path(tempfile.mkdtemp(prefix="ar-bench-events-"))
    plugin = work / "tmux-resurrect"
    subprocess.run(["git", "clone", "-q", str(bundle), str(plugin)], check=True)
    srv = Server(work, opts.panes, opts.assistants)
    srv.start()
    srv.write_state_files()
    hooks = {
        "@resurrect-hook-post-save-layout": f"{agent} save",
        "@resurrect-hook-post-save-all": f"{agent} save-finish",
    }
    srv.cmd("set-option", "-g", "@resurrect-dir", str(srv.rdir))
    srv.cmd("set-option", "-g", "@assistant-resurrect-event-save", "off")
    srv.cmd("run-shell", str(plugin / "resurrect.tmux"))
    script = srv.cmd("show-options", "-gqv", "@resurrect-save-script-path").strip()
    pid = srv.cmd("display-message", "-p", "#{pid}").strip()
    env = dict(srv.env, TMUX=f"{srv.socket_path},{pid},0")

    def set_hooks(on: bool) -> None:
        for option, value in hooks.items():
            if on:
                srv.cmd("set-option", "-g", option, value)
            else:
                srv.cmd("set-option", "-gu", option)

    # 1. event save against tmux-resurrect alone (paired rounds).
    ours, alone = [], []
    set_hooks(True)
    timed([script, "quiet"], env)  # warm-up
    for _ in range(opts.runs):
        set_hooks(False)
        alone.append(timed([script, "quiet"], env).ms)
        set_hooks(True)
        ours.append(timed([script, "quiet"], env).ms)
    saved = sidecar_sessions(srv.rdir)
    expected = {a.session_id for a in srv.started}
    if not expected <= saved:
        log(f"the event save missed {len(expected - saved)} of {len(expected)} sessions")
        return 1

    # 2. `event` against the same Python doing nothing.
    python = str(Path(agent).parent / "python")
    cmd_ms, floor_ms = [], []
    for _ in range(opts.runs):
        floor_ms.append(timed([python, "-c", "pass"], env).ms)
        cmd_ms.append(timed([str(agent), "event", "bench"], env).ms)

    # 3. change-to-saved delay, with the sentinel running (started by save-finish).
    srv.cmd("set-option", "-g", "@assistant-resurrect-event-save", "on")
    timed([script, "quiet"], env)
    lock = srv.state / f"sentinel-{pid}.lock"
    deadline = time.monotonic() + 20
    while not lock.exists() or not lock.read_text().strip():
        if time.monotonic() > deadline:
            log("the sentinel did not start")
            return 1
        time.sleep(0.1)
    sentinel = int(lock.read_text().split()[0])
    claude_pid = next(a.pid for a in srv.started if a.tool == "claude")
    start_time = json.loads((srv.state / f"claude-{claude_pid}.json").read_text()).get("start_time")
    delays = []
    for _ in range(opts.runs):
        sid = str(uuid.uuid4())
        record = {"tool": "claude", "pid": claude_pid, "start_time": start_time, "session_id": sid}
        tmp = srv.state / ".bench.tmp"
        tmp.write_text(json.dumps(record))
        t0 = time.time()
        os.replace(tmp, srv.state / f"claude-{claude_pid}.json")  # what the hook does
        while sid not in sidecar_sessions(srv.rdir):
            if time.time() - t0 > 60:
                log("a change was not saved within 60 s")
                return 1
            time.sleep(0.02)
        delays.append(time.time() - t0)
        time.sleep(2)

    # 4. debounce: 20 changes within 2 s.
    events_log = srv.state / "assistant-events.log"
    time.sleep(4)
    before = len(re.findall(r"event save \d+ done", events_log.read_text()))
    for _ in range(20):
        os.utime(srv.state)
        time.sleep(0.1)
    time.sleep(8)
    burst = len(re.findall(r"event save \d+ done", events_log.read_text())) - before

    # 5. idle cost of the sentinel.
    cpu0 = proc_cpu_ms(sentinel)
    time.sleep(opts.idle)
    idle = (proc_cpu_ms(sentinel) - cpu0) * 60.0 / opts.idle
    rss = proc_rss_kb(sentinel)
    srv.kill()

    row = {
        "panes": opts.panes,
        "assistants": opts.assistants,
        "runs": opts.runs,
        "event_save_median_ms": round(statistics.median(ours), 1),
        "resurrect_alone_median_ms": round(statistics.median(alone), 1),
        "save_ratio": round(statistics.median(ours) / statistics.median(alone), 2),
        "event_cmd_median_ms": round(statistics.median(cmd_ms), 1),
        "python_floor_median_ms": round(statistics.median(floor_ms), 1),
        "event_cmd_ratio": round(statistics.median(cmd_ms) / statistics.median(floor_ms), 2),
        "delay_median_s": round(statistics.median(delays), 2),
        "delay_max_s": round(max(delays), 2),
        "burst_changes": 20,
        "burst_saves": burst,
        "idle_cpu_ms_per_min": round(idle, 1),
        "sentinel_rss_kb": rss,
        "load_avg": os.getloadavg()[0],
    }
    opts.out.mkdir(parents=True, exist_ok=True)
    write_csv(opts.out / "events.csv", [row])
    (opts.out / "events.md").write_text(
        md_table(list(COLUMNS), [[row[c] for c in COLUMNS]])
        + "\nsave_ratio: an event save (tmux-resurrect's save with our hooks) against "
        "tmux-resurrect's save alone, paired rounds; event_cmd_ratio: `assistant-resurrect "
        "event` against the same Python running `-c pass`; delay: a state file replaced "
        "(what a hook does) until the last sidecar holds it; burst: event saves caused by 20 "
        "changes within 2 s; idle: the sentinel's CPU while nothing changes.\n"
    )
    log(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
