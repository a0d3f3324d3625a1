"""OpenCode's TUI plugin (assistant-resurrect-tui.js) under node, with a
stand-in for OpenCode's TUI API: it writes the route on screen to
`opencode-tui-<pid>.json` on every change (a pick, `/new`), only on a change,
removes it on exit, never throws into OpenCode, and what it writes is what the
`tui-state` strategy reads. The real OpenCode run is in
tests/realcli/test_switch_opencode.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.strategy_helpers import Proc, make_proc

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = (
    ROOT / "roles" / "assistant_resurrect" / "files" / "opencode" / "assistant-resurrect-tui.js"
)

# Each step sets api.route.current (or makes reading it throw), then waits
# past one poll and records the state file (null when absent) and its inode.
SCRIPT = r"""
import fs from "node:fs";
import path from "node:path";
const [pluginPath, dir, stepsJson] = process.argv.slice(1);
const plugin = (await import(pluginPath)).default;
let current = { name: "home" };
let broken = false;
const api = { route: { get current() { if (broken) throw new Error("boom"); return current; } } };
await plugin.tui(api, {}, {});
const file = path.join(dir, `opencode-tui-${process.pid}.json`);
const seen = [];
for (const step of JSON.parse(stepsJson)) {
  broken = step === "throw";
  if (!broken) current = step;
  await new Promise((r) => setTimeout(r, 400));
  let data = null, ino = null, mode = null;
  try {
    data = JSON.parse(fs.readFileSync(file, "utf8"));
    const st = fs.statSync(file);
    ino = st.ino;
    mode = st.mode & 0o777;
  } catch {}
  seen.push({ data, ino, mode });
}
console.log(JSON.stringify({ pid: process.pid, file, plugin: Object.keys(plugin), seen }));
"""

A = "ses_alphaalphaalphaalphaalph"
B = "ses_bravobravobravobravobrav"


def run(dir_: Path, steps: list[Any]) -> dict[str, Any]:
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
            str(dir_),
            json.dumps(steps),
        ],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TMUX_ASSISTANT_RESURRECT_DIR": str(dir_),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    assert not Path(result["file"]).exists(), "the state file must be gone after exit"
    return result


def session(sid: str) -> dict[str, Any]:
    return {"name": "session", "params": {"sessionID": sid}}


def test_every_route_change_is_written_and_only_a_change(tmp_path: Path) -> None:
    d = tmp_path / "state"
    steps: list[Any] = [session(A), session(A), session(B), {"name": "home"}, {"name": "x-plugin"}]
    result = run(d, steps)
    seen = result["seen"]
    assert [(s["data"]["route"], s["data"]["session_id"]) for s in seen] == [
        ("session", A),
        ("session", A),
        ("session", B),  # picked from the list: no message needed
        ("home", None),  # /new: nothing to resume yet
        ("home", None),  # a plugin's screen says nothing about the session
    ]
    assert seen[0]["ino"] == seen[1]["ino"], "rewritten although nothing changed"
    assert seen[1]["ino"] != seen[2]["ino"] != seen[3]["ino"]  # a rename per change
    assert seen[4]["ino"] == seen[3]["ino"]
    data = seen[0]["data"]
    assert data["tool"] == "opencode" and data["source"] == "tui"
    assert data["pid"] == result["pid"] and isinstance(data["start_time"], float)
    assert seen[0]["mode"] == 0o600 and (d.stat().st_mode & 0o777) == 0o700
    # a module OpenCode's TUI loader takes: a default export with id and tui
    assert sorted(result["plugin"]) == ["id", "tui"]


def test_a_failing_route_read_never_throws_and_keeps_the_last(tmp_path: Path) -> None:
    d = tmp_path / "state"
    result = run(d, [session(A), "throw", session(B)])
    assert [s["data"]["session_id"] for s in result["seen"]] == [A, A, B]


def test_refuses_a_symlinked_state_dir(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    link = tmp_path / "state"
    link.symlink_to(real)
    result = run(link, [session(A)])
    assert result["seen"][0]["data"] is None
    assert list(real.iterdir()) == []


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    yield from make_proc(tmp_path, monkeypatch)


def test_what_it_writes_is_what_tui_state_reads(proc: Proc, tmp_path: Path) -> None:
    """The plugin's document, as the stand-in process's own file, answers the
    tui-state strategy (session -> that ID over `-s`; home -> a fresh start)."""
    for route, expected in ((session(B), (B, "tui-state")), ({"name": "home"}, (None, "fresh"))):
        doc = run(tmp_path / "out", [route])["seen"][0]["data"]
        doc.update(pid=proc.pid, start_time=proc.start, timestamp_epoch=proc.start + 1)
        proc.state_file("opencode-tui", doc)
        assert proc.find("opencode", ["opencode", "-s", A]) == expected
