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
