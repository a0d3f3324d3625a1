"""A restore killed between `send-keys -l` and Enter leaves `typing:ID` and the
typed line; the rerun must press Enter on it, never type a second copy, wherever
the pane's width wraps the line (once the rerun read rows, not joined lines, and
typed again when the wrap split the session ID: found with a long temp path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Agent, pane_prompt_ready, records, wait_for
from tests.screens import occurrences, screen_lines

SID = "11111111-2222-4333-8444-555555555555"


@pytest.mark.parametrize("pad", range(0, 80, 4))
def test_rerun_after_an_interrupted_typing_types_once(
    pad: int, agent: Agent, server: Any, tmp_path: Path
) -> None:
    cwd = tmp_path / ("d" * (pad + 1))
    cwd.mkdir()
    session = server.new_session("r", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    pane = session.windows[0].panes[0]
    wait_for(lambda: pane_prompt_ready(pane), what="prompt")
    layout = agent.fake_layout()
    entry = {
        "pane": "r:0.0",
        "tool": "claude",
        "session_id": SID,
        "cwd": str(cwd),
        "program": "claude",
        "cli_args": [],
        "env": {},
    }
    layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
        json.dumps({"version": 1, "sessions": [entry]})
    )
    text = agent.run("restore", "--layout", str(layout), "--dry-run").stdout.split(": ", 1)[1]
    # What a restore killed between send-keys -l and Enter leaves behind.
    server.cmd(
        "set-option", "-p", "-t", pane.pane_id, "@assistant-resurrect-restored", "typing:" + SID
    )
    server.cmd("send-keys", "-t", pane.pane_id, "-l", "--", text.strip())
    wait_for(lambda: SID in "".join(screen_lines(pane)), what="the typed line")
    agent.run("restore", "--layout", str(layout))
    wait_for(lambda: records("claude"), timeout=10, what="claude started")
    assert occurrences(screen_lines(pane), "--resume") == 1, screen_lines(pane)
