"""The save benchmark runs end to end at a tiny scale, and the hooks keep a
light import chain (not timed tests: no time is asserted)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "bench_save.py"
COLUMNS = [
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
]


@pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux")
def test_save_benchmark_tiny(tmp_path: Path) -> None:
    agent = Path(sys.executable).parent / "assistant-resurrect"
    if not agent.exists():
        pytest.skip(f"{agent} is not installed (pip install runtime/ into this venv)")
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--scenarios",
            "6x3",
            "--runs",
            "2",
            "--warmup",
            "1",
            "--agent",
            str(agent),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    with open(out / "save.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == COLUMNS
    assert len(rows) == 1
    row = rows[0]
    assert (row["panes"], row["assistants"], row["runs"]) == ("6", "3", "2")
    assert int(row["sessions"]) == 3
    assert int(row["sessions_with_id"]) == 3
    assert float(row["save_median_ms"]) > 0 and float(row["floor_median_ms"]) > 0
    assert float(row["cold_median_ms"]) > 0  # the save never served, timed beside it
    with open(out / "save_runs.csv", newline="") as fh:
        runs = list(csv.DictReader(fh))
    assert len(runs) == 2 and all(r["sessions"] == "3" for r in runs)
    md = (out / "save.md").read_text()
    assert "| 6 | 3 |" in md


# Modules the hooks must not import: each costs milliseconds at every save
# (dataclasses pulls in inspect; subprocess, socket and psutil are heavy too).
# `typing` too: modules on these paths write `TYPE_CHECKING = False` and import
# typing names under `if TYPE_CHECKING:` (annotations are never evaluated).
HEAVY = (
    "dataclasses",
    "inspect",
    "typing",
    "subprocess",
    "socket",
    "psutil",
    "sqlite3",
    "shutil",
    "asyncio",
)


def _imported(argv: list[str], env: dict[str, str], stdin: bytes = b"") -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "assistant_resurrect", *argv],
        env=env,
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    names = set()
    for line in proc.stderr.decode().splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


@pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux")
def test_hooks_import_no_heavy_modules(tmp_path: Path) -> None:
    """What keeps the save hook and the Claude hook fast: a light import chain
    (checked by module names, not by time)."""
    home = tmp_path / "home"
    (home / ".tmux" / "resurrect").mkdir(parents=True)
    socket = f"ar-smoke-{tmp_path.name}"
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT / "runtime" / "src"),
        "TMUX_ASSISTANT_RESURRECT_DIR": str(tmp_path / "state"),
    }
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    subprocess.run([*tmux, "new-session", "-d", "sleep 600"], env=env, check=True)
    try:
        layout = home / ".tmux" / "resurrect" / "tmux_resurrect_20260101T000000.txt"
        layout.write_text("")
        saved = _imported(["-L", socket, "save", str(layout)], env)
        assert "assistant_resurrect.save" in saved
        hooked = _imported(["hook", "claude-session-start"], env, b'{"session_id": "x"}')
        assert "assistant_resurrect.hooks" in hooked
    finally:
        subprocess.run([*tmux, "kill-server"], env=env, capture_output=True)
        sock = Path(f"{os.environ.get('TMUX_TMPDIR') or '/tmp'}/tmux-{os.getuid()}/{socket}")
        if sock.is_socket():
            sock.unlink()
    assert not saved & set(HEAVY), sorted(saved & set(HEAVY))
    assert not hooked & set(HEAVY), sorted(hooked & set(HEAVY))


EVENTS = ROOT / "benchmarks" / "bench_events.py"


@pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux")
@pytest.mark.host_only  # a benchmark's smoke run: once (test_event_save.py covers every tmux)
def test_events_benchmark_tiny(tmp_path: Path) -> None:
    """bench_events.py runs end to end and its figures hold together (a burst of
    20 changes cost 1 or 2 saves; every delay was measured)."""
    agent = Path(sys.executable).parent / "assistant-resurrect"
    if not agent.exists():
        pytest.skip(f"{agent} is not installed (pip install runtime/ into this venv)")
    out = tmp_path / "results"
    argv = [sys.executable, str(EVENTS), "--panes", "6", "--assistants", "3", "--runs", "2"]
    argv += ["--idle", "2", "--agent", str(agent), "--out", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if proc.returncode == 2 and "is absent" in proc.stderr:
        pytest.skip(proc.stderr.strip())
    assert proc.returncode == 0, proc.stderr
    with open(out / "events.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1
    row = rows[0]
    assert (row["panes"], row["assistants"], row["runs"]) == ("6", "3", "2")
    assert 1 <= int(row["burst_saves"]) <= 2
    assert float(row["delay_max_s"]) >= float(row["delay_median_s"]) > 0
