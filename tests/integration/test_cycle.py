"""The full cycle against a real tmux server: panes with assistants, plain and
busy panes -> save -> kill the server -> recreate the layout -> restore ->
the exact command each pane received; nothing typed anywhere else."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from libtmux import Server

from tests.helpers import Agent, pane_prompt_ready, records, start_in_pane, wait_for
from tests.screens import only_prompt, screen_lines, screen_text

CLAUDE_ID = "3f1e8a1c-1111-4222-8333-444455556666"
CLAUDE_HOOK_ID = "9b2c7d4e-aaaa-4bbb-8ccc-ddddeeeeffff"
CODEX_ID = "0199a213-81c0-7800-8aa1-bbab2a035a53"
OPENCODE_ID = "ses_4f2a9c1b7e3d5a8f6b0c2d4e6f"


def _layout(server: Server, cwds: dict[str, Path]) -> dict[str, Any]:
    """Session `work`: windows 0..4; session `side`: one window with two panes."""
    work = server.new_session("work", start_directory=str(cwds["claude"]), window_name="claude")
    panes = {"claude": work.windows[0].panes[0]}
    for name in ("hooked", "opencode", "codex", "plain"):
        win = work.new_window(window_name=name, start_directory=str(cwds[name]))
        panes[name] = win.panes[0]
    side = server.new_session("side", start_directory=str(cwds["plain"]))
    panes["busy"] = side.windows[0].panes[0]
    panes["side_plain"] = side.windows[0].split(start_directory=str(cwds["plain"]))
    return panes


def _cwds(tmp_path: Path) -> dict[str, Path]:
    cwds = {
        "claude": tmp_path / "proj claude",
        "hooked": tmp_path / "hooked",
        "opencode": tmp_path / "it's a $dir | with; stuff",
        "codex": tmp_path / "codex",
        "plain": tmp_path / "plain",
    }
    for d in cwds.values():
        d.mkdir()
    return cwds


def test_full_cycle(server: Server, agent: Agent, tmp_path: Path, home: Path) -> None:
    cwds = _cwds(tmp_path)
    panes = _layout(server, cwds)
    hook = (
        f"{shlex.quote(__import__('sys').executable)} -m assistant_resurrect hook "
        "claude-session-start"
    )
    start_in_pane(panes["claude"], f"claude --model sonnet --resume {CLAUDE_ID}")
    start_in_pane(
        panes["hooked"],
        "AR_FAKE_HOOK="
        + shlex.quote(f"PYTHONPATH={agent_src()} {hook}")
        + " AR_FAKE_HOOK_STDIN="
        + shlex.quote(
            json.dumps(
                {"session_id": CLAUDE_HOOK_ID, "model": "claude-opus-4-6", "source": "startup"}
            )
        )
        + " claude --dangerously-skip-permissions",
    )
    start_in_pane(panes["opencode"], f"opencode --model anthropic/sonnet -s {OPENCODE_ID}")
    start_in_pane(panes["codex"], f"codex -m o3 --full-auto resume {CODEX_ID}")
    start_in_pane(panes["busy"], "cat")
    wait_for(lambda: len(records()) == 4, what="four stand-ins started")
    state_dir = Path(__import__("os").environ["TMUX_ASSISTANT_RESURRECT_DIR"])
    wait_for(lambda: list(state_dir.glob("claude-*.json")), what="the SessionStart state file")

    layout = agent.fake_layout()
    agent.run("save", str(layout))
    doc = agent.sidecar(layout)
    assert doc["version"] == 1
    by_pane = {s["pane"]: s for s in doc["sessions"]}
    assert set(by_pane) == {"work:0.0", "work:1.0", "work:2.0", "work:3.0"}
    assert by_pane["work:0.0"]["session_id"] == CLAUDE_ID
    assert by_pane["work:0.0"]["id_source"] == "args"
    assert by_pane["work:0.0"]["cli_args"] == ["--model", "sonnet"]
    assert by_pane["work:0.0"]["model"] == "sonnet"
    assert by_pane["work:1.0"]["session_id"] == CLAUDE_HOOK_ID
    assert by_pane["work:1.0"]["id_source"] == "state-file"
    assert by_pane["work:1.0"]["model"] == "claude-opus-4-6"
    assert by_pane["work:2.0"]["cwd"] == str(cwds["opencode"])
    assert by_pane["work:3.0"]["cli_args"] == ["-m", "o3", "--full-auto"]

    server.kill()
    wait_for(lambda: not server.is_alive(), what="server gone")
    for rec in records():  # the stand-ins die with their panes
        wait_for(
            lambda pid=rec["pid"]: not Path(f"/proc/{pid}").exists(),
            what=f"stand-in {rec['pid']} gone",
        )
    for f in Path(__import__("os").environ["AR_RECORD_DIR"]).glob("*.json"):
        f.unlink()

    # tmux-resurrect recreates the layout: the same sessions, windows, panes.
    panes = _layout(server, cwds)
    for p in panes.values():
        wait_for(lambda p=p: pane_prompt_ready(p), what=f"prompt in {p.pane_id}")
    start_in_pane(panes["hooked"], "cat")  # this saved pane is busy now
    wait_for(lambda: current_command(panes["hooked"]) == "cat", what="cat running")

    # No client is attached in this test: start at once (attach mode: test_attach.py).
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    out = agent.run("restore", "--dry-run").stdout
    assert f"work:0.0: command claude --model sonnet --resume {CLAUDE_ID}" in out
    assert "skip work:1.0: its foreground program is 'cat', not a shell" in out
    assert records() == []  # a dry run types nothing

    agent.run("restore")
    got = wait_for(
        lambda: records() if len(records()) == 3 else None, what="three assistants resumed"
    )
    by_tool = {r["tool"]: r for r in got}
    assert by_tool["claude"]["argv"] == ["--model", "sonnet", "--resume", CLAUDE_ID]
    assert by_tool["claude"]["pane"] == panes["claude"].pane_id
    assert by_tool["opencode"]["argv"] == ["--model", "anthropic/sonnet", "-s", OPENCODE_ID]
    assert by_tool["opencode"]["cwd"] == str(cwds["opencode"])
    assert by_tool["codex"]["argv"] == ["-m", "o3", "--full-auto", "resume", CODEX_ID]
    assert by_tool["codex"]["pane"] == panes["codex"].pane_id
    # Busy and plain panes received nothing.
    assert screen_text(panes["hooked"]).strip() == "$ cat"
    for name in ("plain", "busy", "side_plain"):
        assert only_prompt(screen_lines(panes[name])), name

    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    assert "skip work:1.0: its foreground program is 'cat', not a shell" in log
    assert "restored 3 of 4 saved session(s)" in log

    # A second restore types nothing more.
    agent.run("restore")
    assert len(records()) == 3
    assert "already restored" in (agent.resurrect_dir / "assistant-restore.log").read_text()


def current_command(pane: Any) -> str:
    pane.refresh()
    return str(pane.pane_current_command)


def agent_src() -> str:
    from tests.helpers import RUNTIME_SRC

    return shlex.quote(str(RUNTIME_SRC))
