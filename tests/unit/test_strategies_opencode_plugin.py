"""The OpenCode plugin (JavaScript) under node: it writes where the Python
agent reads (same state-dir rule), refuses unsafe dirs, records the session
the user works in, and what it writes passes the plugin-state strategy's
start-time check. The real OpenCode run is in tests/realcli/test_opencode.py."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest

from assistant_resurrect import paths, procs

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "roles" / "assistant_resurrect" / "files" / "opencode" / "assistant-resurrect.js"

SCRIPT = r"""
import fs from "node:fs";
import path from "node:path";
const [pluginPath, expectedDir, eventsJson] = process.argv.slice(1);
const { AssistantResurrect } = await import(pluginPath);
const hooks = await AssistantResurrect({ directory: "/proj" });
for (const step of JSON.parse(eventsJson)) {
  if (step.chat) await hooks["chat.message"](step.chat);
  else await hooks.event({ event: step });
}
const file = path.join(expectedDir, `opencode-${process.pid}.json`);
let data = null;
try { data = JSON.parse(fs.readFileSync(file, "utf8")); } catch {}
let dirMode = null;
try { dirMode = fs.statSync(expectedDir).mode & 0o777; } catch {}
let fileMode = null;
try { fileMode = fs.statSync(file).mode & 0o777; } catch {}
console.log(JSON.stringify({ data, dirMode, fileMode, pid: process.pid, file }));
"""

created = {
    "type": "session.created",
    "properties": {"info": {"id": "ses_aaaaaaaaaaaa", "directory": "/proj"}},
}


def run_plugin(env: dict[str, str], expected: Path, events: list[dict[str, Any]]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    out = subprocess.run(
        [
            node,
            "--input-type=module",
            "-e",
            SCRIPT,
            "--",
            str(PLUGIN),
            str(expected),
            json.dumps(events),
        ],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    assert not Path(result["file"]).exists(), "the state file must be gone after exit"
    return result


def python_state_dir(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Path:
    for name in ("TMUX_ASSISTANT_RESURRECT_DIR", "XDG_RUNTIME_DIR", "TMPDIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return paths.state_dir_path()


@pytest.mark.parametrize("case", ["explicit", "xdg", "tmpdir"])
def test_state_dir_is_the_python_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    env = {
        "explicit": {
            "TMUX_ASSISTANT_RESURRECT_DIR": str(tmp_path / "explicit" / "d"),
            "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        },
        "xdg": {"XDG_RUNTIME_DIR": str(tmp_path / "run"), "TMPDIR": str(tmp_path / "t")},
        "tmpdir": {"TMPDIR": str(tmp_path / "t")},
    }[case]
    (tmp_path / "run").mkdir()
    (tmp_path / "t").mkdir()
    expected = python_state_dir(monkeypatch, env)
    result = run_plugin(env, expected, [created])
    data: Optional[dict[str, Any]] = result["data"]
    assert data is not None, f"nothing written in {expected}"
    assert data["tool"] == "opencode" and data["pid"] == result["pid"]
    assert data["session_id"] == "ses_aaaaaaaaaaaa" and data["directory"] == "/proj"
    assert data["event"] == "session.created" and data["timestamp"].endswith("Z")
    assert result["dirMode"] == 0o700 and result["fileMode"] == 0o600
    # its start time is the one procs.py computes for that PID (same formula)
    # (a number: a start time on a whole second is written as a JSON integer)
    assert isinstance(data["start_time"], (int, float)) and not isinstance(data["start_time"], bool)
    me = procs.read_proc(os.getpid())
    assert me is not None and abs(data["start_time"] - me.start) < 3600


def test_refuses_a_symlinked_state_dir(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    link = tmp_path / "state"
    link.symlink_to(real)
    result = run_plugin({"TMUX_ASSISTANT_RESURRECT_DIR": str(link)}, real, [created])
    assert result["data"] is None


def test_group_writable_dir_is_tightened(tmp_path: Path) -> None:
    d = tmp_path / "state"
    d.mkdir()
    d.chmod(0o777)
    result = run_plugin({"TMUX_ASSISTANT_RESURRECT_DIR": str(d)}, d, [created])
    assert result["data"] is not None
    assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_follows_the_session_in_use_not_background_ones(tmp_path: Path) -> None:
    d = tmp_path / "state"
    other = {
        "type": "session.created",
        "properties": {"info": {"id": "ses_bbbbbbbbbbbb", "directory": "/proj"}},
    }
    child = {
        "type": "session.created",
        "properties": {
            "info": {"id": "ses_cccccccccccc", "parentID": "ses_bbbbbbbbbbbb", "directory": "/proj"}
        },
    }
    idle_a = {"type": "session.idle", "properties": {"sessionID": "ses_aaaaaaaaaaaa"}}
    events = [created, other, child, {"chat": {"sessionID": "ses_cccccccccccc"}}, idle_a]
    result = run_plugin({"TMUX_ASSISTANT_RESURRECT_DIR": str(d)}, d, events)
    # the sub-agent session and the first session finishing in the
    # background do not take over from the session the user moved to
    assert result["data"]["session_id"] == "ses_bbbbbbbbbbbb"
    result = run_plugin(
        {"TMUX_ASSISTANT_RESURRECT_DIR": str(d)},
        d,
        [*events, {"chat": {"sessionID": "ses_aaaaaaaaaaaa"}}],
    )
    assert result["data"]["session_id"] == "ses_aaaaaaaaaaaa"
    assert result["data"]["event"] == "chat.message"
