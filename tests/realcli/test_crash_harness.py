"""The crash harness itself (tests/realcli/crash.py): a Claude session made
after the last save is saved by an event save within seconds, survives a
`kill -9` of the tmux server and comes back through tmux-resurrect's real
restore with a client attached."""

from __future__ import annotations

import pytest

from tests.realcli.conftest import CLAUDE_KEY, RealEnv, require
from tests.realcli.crash import Crash

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]


def test_a_session_started_after_the_last_save_comes_back(crash: Crash, real: RealEnv) -> None:
    require("claude")
    cwd = real.workdir("claude-hook")
    env = {"ANTHROPIC_API_KEY": CLAUDE_KEY, "ANTHROPIC_BASE_URL": real.api.url}
    pane = crash.window(cwd, env)
    crash.send(pane, "claude")
    pid = crash.tool_pid(pane, "claude")
    crash.wait_screen(pane, "❯")
    crash.send(pane, "hello")
    crash.wait_screen(pane, "stub reply")
    entry = real.state_file("claude", pid)
    assert entry is not None
    sid = entry["session_id"]
    crash.changed()
    crash.crash_and_restore()
    argv = crash.argv_in(crash.pane_after(pane), "claude")
    assert argv[-2:] == ["--resume", sid], argv
