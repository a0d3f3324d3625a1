"""AR_STRICT=1 (CI) turns a skipped test into a failed one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def run_probe(tmp_path: Path, strict: bool) -> subprocess.CompletedProcess[str]:
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import pytest\n\ndef test_probe():\n    pytest.skip('probe-tool is not installed')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("AR_STRICT", None)
    if strict:
        env["AR_STRICT"] = "1"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(probe),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_a_skip_is_a_failure_under_ar_strict(tmp_path: Path) -> None:
    proc = run_probe(tmp_path, strict=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed" in proc.stdout
    assert "AR_STRICT=1: this test was skipped" in proc.stdout


def test_a_skip_stays_a_skip_without_it(tmp_path: Path) -> None:
    proc = run_probe(tmp_path, strict=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 skipped" in proc.stdout


def test_host_only_tests_are_deselected_in_the_matrix_runs(tmp_path: Path) -> None:
    """A `host_only` test is left out (not skipped) of the matrix runs (here the
    psutil one), so AR_STRICT counts no skip there; on the host it runs."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import pytest\n\n@pytest.mark.host_only\ndef test_once():\n    pass\n\n"
        "def test_everywhere():\n    pass\n"
    )
    base = dict(os.environ, PYTHONPATH=str(ROOT), AR_STRICT="1")
    base.pop("AR_TMUX", None)
    base.pop("ASSISTANT_RESURRECT_PROCS", None)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p"]
    argv += ["tests.conftest", "--rootdir", str(tmp_path), "-c", str(ROOT / "pytest.ini")]
    for extra, expect in (
        ({}, "2 passed"),
        ({"ASSISTANT_RESURRECT_PROCS": "psutil"}, "1 passed, 1 deselected"),
    ):
        proc = subprocess.run(
            [*argv, str(probe)],
            capture_output=True,
            text=True,
            env={**base, **extra},
            cwd=tmp_path,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert expect in proc.stdout, proc.stdout
