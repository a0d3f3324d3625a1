#!/usr/bin/env python3
"""Benchmark of the save hook: `assistant-resurrect save LAYOUT` (the installed
entry point, as tmux-resurrect's post-save-layout hook runs it: inside the
server, its sentinel running, which serves the save) against the floor of the
same job: one `tmux list-panes -a -F ...` plus one `ps -eo pid=,ppid=,args=`.
The cold save (`-L SOCKET save LAYOUT`, never served: the first save of a
server, before its sentinel starts) is timed in the same rounds.

For each scenario (P panes, A of them running an assistant) a tmux server is
started on a private socket, W warm-up saves are run, then R rounds, each
timing the floor and a save back to back (paired, so both see the same
machine state). Every save's sidecar is checked: sessions == A.

    python3 benchmarks/bench_save.py                  # all scenarios, R=20
    python3 benchmarks/bench_save.py --scenarios 200x100 --runs 30

Writes results/save.csv (one row per scenario), results/save_runs.csv (every
timed run) and results/save.md (the Markdown table).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Server,
    add_agent_options,
    agent_from,
    log,
    machine,
    md_table,
    stats,
    timed,
    write_csv,
)

SCENARIOS = ((116, 40), (124, 60), (124, 100), (200, 100), (500, 250))
LAYOUT = "tmux_resurrect_20260101T000000.txt"
FLOOR_FORMAT = (
    "#{session_name}\t#{window_index}\t#{pane_index}\t#{pane_id}\t#{pane_pid}\t"
    "#{pane_current_command}\t#{pane_current_path}"
)
COLUMNS = (
    "panes",
    "assistants",
    "processes",
    "runs",
    "save_median_ms",
    "save_min_ms",
    "save_max_ms",
    "floor_median_ms",
    "floor_min_ms",
    "floor_max_ms",
    "ratio",
    "sentinel_cpu_ms",
    "cold_median_ms",
    "cold_ratio",
    "save_cpu_median_ms",
    "peak_rss_kb",
    "sessions",
    "sessions_with_id",
    "load_avg",
)


def parse_scenarios(text: str) -> list[tuple[int, int]]:
    out = []
    for item in text.split(","):
        p, _, a = item.strip().partition("x")
        out.append((int(p), int(a)))
    return out


def load_avg() -> float:
    """The 1-minute load average (other work on the machine inflates wall times)."""
    with open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])


def count_processes() -> int:
    return sum(1 for n in os.listdir("/proc") if n.isdigit())


def check_sidecar(server: Server) -> tuple[int, int]:
    """(sessions, sessions with an ID) in the sidecar the last save wrote; the
    IDs must be the ones the stand-ins were started with."""
    sidecar = server.rdir / LAYOUT.replace("tmux_resurrect_", "assistant_resurrect_").replace(
        ".txt", ".json"
    )
    doc = json.loads(sidecar.read_text())
    sessions = doc["sessions"]
    expected = {a.session_id for a in server.started}
    with_id = sum(1 for s in sessions if s.get("session_id") in expected)
    return len(sessions), with_id


def bench(
    agent: Path,
    panes: int,
    assistants: int,
    runs: int,
    warmup: int,
    work: Path,
    baseline: Optional[Path] = None,
) -> tuple[dict[str, object], list[dict[str, object]]]:
    server = Server(work, panes, assistants)
    try:
        log(f"scenario {panes}x{assistants}: starting the tmux server")
        server.start()
        server.write_state_files()
        layout = server.rdir / LAYOUT
        layout.write_text("")
        # The hook as tmux-resurrect runs it: inside the server ($TMUX), no -L; the
        # server's sentinel runs (as after any save-finish) and serves it. The cold
        # save (-L: never served) is timed in the same rounds.
        hook_env = dict(server.env, TMUX=server.tmux_env())
        sentinel = start_sentinel(agent, server, hook_env)
        save_argv = [str(agent), "save", str(layout)]
        cold_argv = [str(agent), "-L", server.socket, "save", str(layout)]
        floor_argvs = (
            [server.tmux, "-L", server.socket, "list-panes", "-a", "-F", FLOOR_FORMAT],
            ["ps", "-eo", "pid=,ppid=,args="],
        )
        base_argv = [str(baseline), *cold_argv[1:]] if baseline else None
        env = dict(server.env)
        for _ in range(warmup):
            for argv, e in ((save_argv, hook_env), (cold_argv, env), (base_argv, env)):
                r = timed(argv, e) if argv else None
                if r is not None and r.status != 0:
                    raise RuntimeError(f"save failed ({r.status}): {r.stderr.decode()}")
        cold_ms: list[float] = []
        sentinel_cpu0 = cpu_seconds(sentinel.pid)
        base_ms: list[float] = []
        base_cpu: list[float] = []
        save_ms: list[float] = []
        floor_ms: list[float] = []
        rss: list[int] = []
        cpu: list[float] = []
        raw: list[dict[str, object]] = []
        sessions = with_id = 0
        for i in range(runs):
            f = [timed(a, env) for a in floor_argvs]
            if any(x.status != 0 for x in f):
                raise RuntimeError(f"floor command failed: {[x.stderr for x in f]}")
            if base_argv is not None:
                # paired with the save below, in alternating order
                if i % 2:
                    s = timed(save_argv, hook_env)
                    b = timed(base_argv, env)
                else:
                    b = timed(base_argv, env)
                    s = timed(save_argv, hook_env)
                if b.status != 0:
                    raise RuntimeError(f"baseline save failed: {b.stderr.decode()}")
                base_ms.append(b.ms)
                base_cpu.append(b.cpu_ms)
            else:
                s = timed(save_argv, hook_env)
            c = timed(cold_argv, env)
            if s.status != 0 or c.status != 0:
                raise RuntimeError(f"save failed ({s.status}): {(s.stderr + c.stderr).decode()}")
            cold_ms.append(c.ms)
            sessions, with_id = check_sidecar(server)
            if sessions != assistants:
                raise RuntimeError(f"saved {sessions} sessions, expected {assistants}")
            floor = f[0].ms + f[1].ms
            save_ms.append(s.ms)
            floor_ms.append(floor)
            rss.append(s.maxrss_kb)
            cpu.append(s.cpu_ms)
            raw.append(
                {
                    "panes": panes,
                    "assistants": assistants,
                    "run": i,
                    "save_ms": round(s.ms, 2),
                    "floor_ms": round(floor, 2),
                    "tmux_ms": round(f[0].ms, 2),
                    "ps_ms": round(f[1].ms, 2),
                    "save_cpu_ms": round(s.cpu_ms, 2),
                    "floor_cpu_ms": round(f[0].cpu_ms + f[1].cpu_ms, 2),
                    "save_rss_kb": s.maxrss_kb,
                    "sessions": sessions,
                }
            )
        procs = count_processes()
        sentinel_cpu = (cpu_seconds(sentinel.pid) - sentinel_cpu0) * 1000 / runs
        served = sentinel_log(server)
        if "served save 1:" not in served or "save not served" in served:
            raise RuntimeError(f"the sentinel did not serve the saves:\n{served}")
    finally:
        sentinel.kill()
        sentinel.wait()
        server.kill()
    sm, smin, smax = stats(save_ms)
    fm, fmin, fmax = stats(floor_ms)
    row: dict[str, object] = {
        "panes": panes,
        "assistants": assistants,
        "processes": procs,
        "runs": runs,
        "save_median_ms": round(sm, 1),
        "save_min_ms": round(smin, 1),
        "save_max_ms": round(smax, 1),
        "floor_median_ms": round(fm, 1),
        "floor_min_ms": round(fmin, 1),
        "floor_max_ms": round(fmax, 1),
        "ratio": round(sm / fm, 2),
        "sentinel_cpu_ms": round(sentinel_cpu, 1),
        "cold_median_ms": round(stats(cold_ms)[0], 1),
        "cold_ratio": round(stats(cold_ms)[0] / fm, 2),
        "save_cpu_median_ms": round(stats(cpu)[0], 1),
        "peak_rss_kb": max(rss),
        "sessions": sessions,
        "sessions_with_id": with_id,
        "load_avg": load_avg(),
    }
    if base_ms:
        bm = stats(base_ms)[0]
        row["baseline_median_ms"] = round(bm, 1)
        row["baseline_cpu_median_ms"] = round(stats(base_cpu)[0], 1)
        row["speedup"] = round(bm / sm, 2)
        log(
            f"{panes}x{assistants}: baseline {bm:.1f} ms (cpu {stats(base_cpu)[0]:.1f}) vs "
            f"{sm:.1f} ms (cpu {stats(cpu)[0]:.1f}): {bm / sm:.2f}x faster"
        )
    log(
        f"{panes}x{assistants}: save {sm:.1f} ms (min {smin:.1f}, max {smax:.1f}), floor "
        f"{fm:.1f} ms, ratio {sm / fm:.2f} (cold {stats(cold_ms)[0]:.1f} ms), "
        f"peak RSS {max(rss) / 1024:.1f} MiB, "
        f"sessions {sessions} ({with_id} with the right ID)"
    )
    return row, raw


def start_sentinel(agent: Path, server: Server, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The server's sentinel (as save-finish starts it), once it listens."""
    proc = subprocess.Popen([str(agent), "sentinel"], env=env, stdin=subprocess.DEVNULL)
    sock = server.state / "served" / f"save-{server.tmux_env().split(',')[1]}.sock"
    deadline = time.monotonic() + 30
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the sentinel does not listen:\n{sentinel_log(server)}")
        time.sleep(0.05)
    return proc


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process `pid` used so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sentinel_log(server: Server) -> str:
    path = server.state / "assistant-events.log"
    return path.read_text() if path.exists() else "(no sentinel log)"


def markdown(rows: list[dict[str, object]]) -> str:
    header = [
        "panes",
        "assistants",
        "processes",
        "save median ms (min-max)",
        "floor median ms (min-max)",
        "save/floor",
        "cold save ms (/floor)",
        "save CPU ms (hook + sentinel)",
        "peak RSS MiB",
        "sessions saved",
        "load avg",
    ]
    body = [
        [
            r["panes"],
            r["assistants"],
            r["processes"],
            f"{r['save_median_ms']} ({r['save_min_ms']}-{r['save_max_ms']})",
            f"{r['floor_median_ms']} ({r['floor_min_ms']}-{r['floor_max_ms']})",
            f"{r['ratio']}x",
            f"{r['cold_median_ms']} ({r['cold_ratio']}x)",
            f"{r['save_cpu_median_ms']} + {r['sentinel_cpu_ms']}",
            f"{int(r['peak_rss_kb']) / 1024:.1f}",  # type: ignore[call-overload]
            f"{r['sessions']} (IDs: {r['sessions_with_id']})",
            r["load_avg"],
        ]
        for r in rows
    ]
    return md_table(header, body)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--scenarios",
        default=",".join(f"{p}x{a}" for p, a in SCENARIOS),
        help="comma-separated PANESxASSISTANTS (default: %(default)s)",
    )
    ap.add_argument("--runs", type=int, default=20, help="timed runs per scenario (R)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed saves first")
    add_agent_options(ap)
    ap.add_argument(
        "--baseline",
        type=Path,
        help="also time this console script (another build) in the same rounds, paired",
    )
    opts = ap.parse_args()

    agent = agent_from(opts)
    opts.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    raw: list[dict[str, object]] = []
    for panes, assistants in parse_scenarios(opts.scenarios):
        with tempfile.TemporaryDirectory(prefix="ar-bench-") as tmp:
            row, runs = bench(
                agent, panes, assistants, opts.runs, opts.warmup, Path(tmp), opts.baseline
            )
        rows.append(row)
        raw.extend(runs)
    if opts.baseline:
        md_base = md_table(
            [
                "panes",
                "assistants",
                "baseline ms",
                "this build ms",
                "speedup",
                "CPU ms (before/after)",
            ],
            [
                [
                    r["panes"],
                    r["assistants"],
                    r["baseline_median_ms"],
                    r["save_median_ms"],
                    f"{r['speedup']}x",
                    f"{r['baseline_cpu_median_ms']}/{r['save_cpu_median_ms']}",
                ]
                for r in rows
            ],
        )
        (opts.out / "save_vs_baseline.md").write_text(
            f"Paired runs, baseline `{opts.baseline}` vs `{agent}` (medians).\n\n" + md_base
        )
        sys.stdout.write(md_base)
        write_csv(opts.out / "save_vs_baseline.csv", rows)
        rows = [{k: v for k, v in r.items() if k in COLUMNS} for r in rows]
    write_csv(opts.out / "save.csv", rows)
    write_csv(opts.out / "save_runs.csv", raw)
    md = (
        f"Save hook, {opts.runs} timed runs per scenario after {opts.warmup} warm-up saves "
        f"(agent: `{agent}`).\n\nMachine: {machine()}\n\n" + markdown(rows)
    )
    (opts.out / "save.md").write_text(md)
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
