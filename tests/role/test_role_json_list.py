"""The role's assistant_resurrect_json_list module (OpenCode's tui.json), run by
real Ansible: the item added once, every other key kept, check mode writes
nothing, absent takes only ours out, a file with comments fails untouched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "roles" / "assistant_resurrect" / "library"
ANSIBLE = Path(sys.executable).parent / "ansible"
ITEM = "/home/u/.config/opencode/assistant-resurrect-tui.js"

pytestmark = pytest.mark.skipif(
    not ANSIBLE.exists() and not shutil.which("ansible"), reason="needs ansible"
)


def run(path: Path, *extra: str, state: str = "present") -> dict:
    args = f"path={path} key=plugin item={ITEM} state={state}"
    env = dict(os.environ, ANSIBLE_LIBRARY=str(LIBRARY), ANSIBLE_STDOUT_CALLBACK="json")
    env["ANSIBLE_LOAD_CALLBACK_PLUGINS"] = "1"
    proc = subprocess.run(
        [
            str(ANSIBLE) if ANSIBLE.exists() else "ansible",
            "localhost",
            "-c",
            "local",
            "-m",
            "assistant_resurrect_json_list",
            "-a",
            args,
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    out = json.loads(proc.stdout)
    return out["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_added_once_keeping_everything_else(tmp_path: Path) -> None:
    path = tmp_path / "tui.json"
    path.write_text(json.dumps({"theme": "x", "plugin": ["/other.js"]}))
    assert run(path, "--check")["changed"] is True
    assert json.loads(path.read_text())["plugin"] == ["/other.js"]  # check mode: untouched
    assert run(path)["changed"] is True
    doc = json.loads(path.read_text())
    assert doc == {"theme": "x", "plugin": ["/other.js", ITEM]}
    assert run(path)["changed"] is False
    assert run(path, state="absent")["changed"] is True
    assert json.loads(path.read_text()) == {"theme": "x", "plugin": ["/other.js"]}


def test_created_when_missing_and_removed_when_ours_alone(tmp_path: Path) -> None:
    path = tmp_path / "opencode" / "tui.json"
    result = run(path)
    assert result["changed"] is True and result["created"] is True
    assert json.loads(path.read_text()) == {"plugin": [ITEM]}
    run(path, "-e", "ignored=1", state="absent")
    assert json.loads(path.read_text()) == {}


def test_a_file_with_comments_fails_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "tui.json"
    text = '{\n  // mine\n  "theme": "x"\n}\n'
    path.write_text(text)
    result = run(path)
    assert result.get("failed") is True
    assert "is not plain JSON" in result["msg"]
    assert path.read_text() == text
