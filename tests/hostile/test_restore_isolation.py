"""One pane's failure never stops the others (issue 14), and restore prints
nothing over the user's pane: tmux-resurrect shows what its post-restore-all
hook prints in view mode."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from assistant_resurrect.errors import TmuxError
from assistant_resurrect.restore import restore
from assistant_resurrect.tmux import Tmux
from tests.helpers import Agent, pane_prompt_ready, records, wait_for
from tests.hostile.conftest import Stats
from tests.hostile.test_restore_guards import IDS, entry, write_sidecar


class FailingTmux(Tmux):
    """A real tmux whose typing into one pane fails (a fault: tmux refusing one
    command, as `command too long` or `no current client` did)."""

    def __init__(self, socket_name: str, broken: str) -> None:
        super().__init__(socket_name=socket_name)
        self.broken = broken

    def send_literal(self, pane_id: str, text: str) -> None:
        if pane_id == self.broken and text.strip():
            raise TmuxError("tmux send-keys failed: injected fault")
        super().send_literal(pane_id, text)


def windows(server: Any, name: str, tmp_path: Path, n: int) -> list[Any]:
    session = server.new_session(name, start_directory=str(tmp_path))
    wins = [session.windows[0]] + [session.new_window() for _ in range(n - 1)]
    for w in wins:
        wait_for(lambda w=w: pane_prompt_ready(w.panes[0]), what="prompt")
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    server.cmd("set-option", "-g", "@assistant-resurrect-stagger", "0")
    server.cmd("set-option", "-g", "@assistant-resurrect-check", "0")
    return wins


def test_a_tmux_error_in_one_pane_leaves_the_others_restored(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    wins = windows(server, "iso", tmp_path, 4)
    sessions = [entry(f"iso:{w.window_index}.0", i, tmp_path) for w, i in zip(wins, IDS)]
    layout = write_sidecar(agent, sessions)
    broken = wins[0].panes[0].pane_id  # the first pane typed: the old code stopped there
    printed: list[str] = []
    code = restore(
        FailingTmux(server.socket_name, broken), str(layout), False, printed.append, 10.0
    )
    stats.faults_injected += 1
    stats.cases_generated += len(sessions)
    assert code == 0
    want = {w.panes[0].pane_id for w in wins[1:]}
    with contextlib.suppress(AssertionError):  # counted below
        wait_for(lambda: {r["pane"] for r in records("claude")} >= want, what="the others")
    got = {r["pane"] for r in records("claude")}
    stats.sessions_lost += len(want - got)
    assert got == want
    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    assert "skip iso:0.0 (" + broken + "): TmuxError: tmux send-keys failed: injected fault" in log
    assert printed == []


def test_restore_prints_nothing_without_dry_run(agent: Agent, server: Any, tmp_path: Path) -> None:
    """`nothing to restore` went to stdout, and tmux-resurrect showed it over the
    user's pane; it belongs in the log. --dry-run still prints it."""
    windows(server, "quiet", tmp_path, 1)
    layout = agent.fake_layout()  # a layout with no sidecar beside it
    run = agent.run("restore", "--layout", str(layout))
    assert run.stdout == "" and run.stderr == ""
    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    assert "nothing to restore" in log
    dry = agent.run("restore", "--layout", str(layout), "--dry-run")
    assert "nothing to restore" in dry.stdout


def test_a_real_restore_prints_nothing(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """Typing, skipping and refusing panes: all of it in the log only."""
    wins = windows(server, "talk", tmp_path, 2)
    sessions = [
        entry("talk:0.0", IDS[0], tmp_path),
        entry("talk:9.0", IDS[1], tmp_path),  # no such pane
        {**entry("talk:1.0", IDS[2], tmp_path), "cli_args": ["A" * 20000]},  # too long
    ]
    layout = write_sidecar(agent, sessions)
    run = agent.run("restore", "--layout", str(layout))
    stats.cases_generated += len(sessions)
    wait_for(lambda: records("claude"), what="claude in talk:0.0")
    time.sleep(0.3)
    assert run.stdout == "" and run.stderr == ""
    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    assert "skip talk:9.0" in log and "skip talk:1.0" in log, log
    assert [r["pane"] for r in records("claude")] == [wins[0].panes[0].pane_id]


def test_a_bad_stagger_value_is_logged_by_restore_and_status_names_its_source(
    agent: Agent, server: Any, tmp_path: Path
) -> None:
    """A stagger that is no number falls back to its default with one log line
    (not silently), and `status` says which sidecar restore would use."""
    wins = windows(server, "tim", tmp_path, 1)
    server.cmd("set-option", "-g", "@assistant-resurrect-stagger", "soon")
    layout = write_sidecar(agent, [entry("tim:9.0", IDS[0], tmp_path)])  # no such pane
    agent.run("restore", "--layout", str(layout))
    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    assert "@assistant-resurrect-stagger is 'soon'" in log, log
    assert wins and records() == []
    out = agent.run("status").stdout  # fake_layout made `last` point at the layout
    sidecar = "assistant_resurrect_20261125T120000.json"  # write_sidecar's
    assert f"restore would use {sidecar} (1 saved session(s))" in out, out
