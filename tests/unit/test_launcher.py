"""The launcher the role writes over pip's console script
(`python -m assistant_resurrect.launcher`): Python without site and without
the PYTHON* environment, the agent's folders on sys.path, and pip's script
kept where a shebang cannot name the interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant_resurrect import launcher
from tests.helpers import RUNTIME_SRC

PIP_SCRIPT = b"#!/venv/bin/python\nimport re\nimport sys\n"


def written(tmp_path: Path) -> Path:
    target = tmp_path / "bin" / "assistant-resurrect"
    target.parent.mkdir()
    target.write_bytes(PIP_SCRIPT)
    target.chmod(0o640)
    assert launcher.write(str(target), sys.executable) is None
    return target


def run(target: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(target), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        timeout=60,
    )


def test_the_launcher_runs_the_agent_without_site(tmp_path: Path) -> None:
    target = written(tmp_path)
    first = target.read_bytes().split(b"\n", 1)[0]
    assert first == f"#!{sys.executable} -IS".encode()
    # The dev venv finds the agent through an editable-install .pth file, which only
    # site reads: the version printed proves the launcher's own sys.path is enough.
    r = run(target, "version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("assistant-resurrect ")


def test_a_pythonpath_in_the_hooks_environment_cannot_shadow_the_agent(tmp_path: Path) -> None:
    evil = tmp_path / "evil" / "assistant_resurrect"
    evil.mkdir(parents=True)
    (evil / "__init__.py").write_text("print('EVIL'); raise SystemExit(7)\n")
    (tmp_path / "evil" / "sitecustomize.py").write_text("print('EVIL')\n")
    target = written(tmp_path)
    r = run(target, "version", PYTHONPATH=str(tmp_path / "evil"), PYTHONSTARTUP="/dev/null")
    assert "EVIL" not in r.stdout + r.stderr
    assert r.returncode == 0, r.stderr
    # pip's script under the same environment runs the impostor: the check can fail
    pip_style = tmp_path / "pip-style"
    pip_style.write_text(f"#!{sys.executable}\nfrom assistant_resurrect.cli import main\nmain()\n")
    pip_style.chmod(0o755)
    assert "EVIL" in run(pip_style, "version", PYTHONPATH=str(tmp_path / "evil")).stdout


def test_mode_kept_and_no_temporary_file_left(tmp_path: Path) -> None:
    target = written(tmp_path)
    assert target.stat().st_mode & 0o777 == 0o750  # its mode, executable wherever readable
    assert sorted(p.name for p in target.parent.iterdir()) == ["assistant-resurrect"]


@pytest.mark.parametrize(
    "python, why",
    [
        ("python3", "not absolute"),
        ("/opt/my tools/venv/bin/python", "holds a blank"),
        ("/" + "v" * 130 + "/bin/python", "longer than a shebang line"),
    ],
)
def test_pips_script_kept_when_no_shebang_can_name_the_interpreter(
    tmp_path: Path, python: str, why: str
) -> None:
    target = tmp_path / "assistant-resurrect"
    target.write_bytes(PIP_SCRIPT)
    reason = launcher.write(str(target), python)
    assert reason is not None and why in reason
    assert target.read_bytes() == PIP_SCRIPT


def test_the_module_writes_next_to_its_interpreter(tmp_path: Path) -> None:
    target = tmp_path / "assistant-resurrect"
    target.write_bytes(PIP_SCRIPT)
    r = subprocess.run(
        [sys.executable, "-I", "-m", "assistant_resurrect.launcher", str(target)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(RUNTIME_SRC)),
        timeout=60,
    )
    # -I ignores PYTHONPATH: the dev venv's editable install finds the module
    assert r.returncode == 0, r.stderr
    assert "wrote the launcher" in r.stdout
    python = os.path.join(os.path.dirname(sys.executable), os.path.basename(sys.executable))
    assert target.read_bytes().startswith(f"#!{python} -IS\n".encode())
    bad = subprocess.run(
        [sys.executable, "-m", "assistant_resurrect.launcher", "--force"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "usage:" in bad.stderr
