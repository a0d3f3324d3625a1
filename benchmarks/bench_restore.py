#!/usr/bin/env python3
"""Benchmark of restore: `assistant-resurrect restore --layout LAYOUT` (the
post-restore-all hook) typing the resume commands of N saved assistants.

A tmux server with N panes running stand-in assistants is saved with the
agent; the server is killed and started again with the same sessions,
windows, panes and directories running plain shells (what tmux-resurrect
leaves before its hook runs); once every shell shows its prompt, restore is
timed, then the time until every resumed assistant runs. Restore runs in
`@assistant-resurrect-start immediate` mode: no client is attached here, and
the default (`attached`) mode would wait for one. Each of R runs starts from
a fresh server.

    python3 benchmarks/bench_restore.py --panes 100 --runs 5

Writes results/restore.csv and results/restore.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Server,
    add_agent_options,
    agent_from,
    children_of,
    log,
    machine,
    md_table,
    stats,
    timed,
    write_csv,
)

LAYOUT = "tmux_resurrect_20260101T000000.txt"


def wait_prompts(server: Server, timeout: float = 120.0) -> None:
    """Until every pane shows something (its shell's prompt)."""
    deadline = time.monotonic() + timeout
    while True:
        ids = server.cmd("list-panes", "-a", "-F", "#{pane_id}").split()
        empty = [i for i in ids if not server.cmd("capture-pane", "-p", "-t", i).strip()]
        if len(ids) == server.panes and not empty:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(empty)} panes show no prompt after {timeout:.0f}s")
        time.sleep(0.2)


def resumed(server: Server, wanted: set[str]) -> int:
    """How many of the wanted session IDs run in an assistant below a pane."""
    pane_pids = {int(x) for x in server.cmd("list-panes", "-a", "-F", "#{pane_pid}").split()}
    found = set()
    for _, args in children_of(pane_pids):
        found.update(a for a in args if a in wanted)
    return len(found)


def bench(agent: Path, panes: int, assistants: int, runs: int, work: Path) -> dict[str, object]:
    server = Server(work, panes, assistants)
    layout = server.rdir / LAYOUT
    layout.write_text("")
    try:
        log(f"restore {panes}x{assistants}: saving the assistants")
        server.start()
        server.write_state_files()
        s = timed([str(agent), "-L", server.socket, "save", str(layout)], dict(server.env))
        if s.status != 0:
            raise RuntimeError(f"save failed: {s.stderr.decode()}")
        sidecar = server.rdir / LAYOUT.replace("tmux_resurrect_", "assistant_resurrect_").replace(
            ".txt", ".json"
        )
        saved = json.loads(sidecar.read_text())["sessions"]
        wanted = {x["session_id"] for x in saved if x.get("session_id")}
        if len(wanted) != assistants:
            raise RuntimeError(f"{len(wanted)} sessions with an ID saved, expected {assistants}")
    finally:
        server.kill()
    restore_ms: list[float] = []
    running_ms: list[float] = []
    rss: list[int] = []
    for i in range(runs):
        try:
            server.start(shells_only=True)
            server.cmd("set", "-g", "@assistant-resurrect-start", "immediate")
            wait_prompts(server)
            t0 = time.perf_counter()
            r = timed(
                [str(agent), "-L", server.socket, "restore", "--layout", str(layout)],
                dict(server.env),
            )
            if r.status != 0:
                raise RuntimeError(f"restore failed: {r.stderr.decode()}")
            deadline = time.monotonic() + 60
            n = 0
            while time.monotonic() < deadline:
                n = resumed(server, wanted)
                if n == len(wanted):
                    break
                time.sleep(0.05)
            running = (time.perf_counter() - t0) * 1000.0
            if n != len(wanted):
                raise RuntimeError(f"run {i}: {n} of {len(wanted)} assistants resumed")
            restore_ms.append(r.ms)
            running_ms.append(running)
            rss.append(r.maxrss_kb)
            log(f"run {i}: restore {r.ms:.0f} ms, all {n} assistants run after {running:.0f} ms")
        finally:
            server.kill()
    rm, rmin, rmax = stats(restore_ms)
    am, amin, amax = stats(running_ms)
    return {
        "panes": panes,
        "assistants": assistants,
        "runs": runs,
        "restore_median_ms": round(rm),
        "restore_min_ms": round(rmin),
        "restore_max_ms": round(rmax),
        "all_running_median_ms": round(am),
        "all_running_min_ms": round(amin),
        "all_running_max_ms": round(amax),
        "peak_rss_kb": max(rss),
        "resumed": len(wanted),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--panes", type=int, default=100)
    ap.add_argument("--assistants", type=int, help="default: every pane")
    ap.add_argument("--runs", type=int, default=5)
    add_agent_options(ap)
    opts = ap.parse_args()
    agent = agent_from(opts)
    assistants = opts.assistants or opts.panes
    opts.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ar-bench-restore-") as tmp:
        row = bench(agent, opts.panes, assistants, opts.runs, Path(tmp))
    write_csv(opts.out / "restore.csv", [row])
    md = f"Restore, {opts.runs} runs (agent: `{agent}`).\n\nMachine: {machine()}\n\n" + md_table(
        [
            "panes",
            "assistants",
            "restore command ms, median (min-max)",
            "until all assistants run, ms",
            "peak RSS MiB",
            "resumed",
        ],
        [
            [
                row["panes"],
                row["assistants"],
                f"{row['restore_median_ms']} ({row['restore_min_ms']}-{row['restore_max_ms']})",
                f"{row['all_running_median_ms']} ({row['all_running_min_ms']}-"
                f"{row['all_running_max_ms']})",
                f"{int(row['peak_rss_kb']) / 1024:.1f}",  # type: ignore[call-overload]
                row["resumed"],
            ]
        ],
    )
    (opts.out / "restore.md").write_text(md)
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
