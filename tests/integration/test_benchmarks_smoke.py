"""The save benchmark runs end to end at a tiny scale (not a timed test: no
time is asserted, only that it measures what it says)."""

from __future__ import annotations

import csv
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
    with open(out / "save_runs.csv", newline="") as fh:
        runs = list(csv.DictReader(fh))
    assert len(runs) == 2 and all(r["sessions"] == "3" for r in runs)
    md = (out / "save.md").read_text()
    assert "| 6 | 3 |" in md
