"""ansible-lint with the production profile over the role and the playbooks."""

from __future__ import annotations

import subprocess

import pytest

from .conftest import ROOT, VENV_BIN

pytestmark = pytest.mark.role


def test_ansible_lint_production_profile(tmp_path):
    lint = VENV_BIN / "ansible-lint"
    if not lint.exists():
        pytest.skip("ansible-lint is not installed in the dev venv")
    proc = subprocess.run(
        [
            str(lint),
            "--profile",
            "production",
            "--nocolor",
            "roles/assistant_resurrect",
            "playbooks",
        ],
        cwd=str(ROOT),
        env={"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert "Profile 'production' was required, and it passed" in proc.stdout
