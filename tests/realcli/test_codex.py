"""Codex CLI, the real CLI: the threads table, the rollout files and
`resume <id>` each answer for a real session. The session is created by
typing a message (Codex writes the thread and the rollout at once, even
though it cannot reach its API); `codex resume` reopens it offline."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Optional

import pytest

from assistant_resurrect import detect, procs
from assistant_resurrect.assistants.base import Context, Found
from assistant_resurrect.assistants.codex import Codex
from assistant_resurrect.log import Log
from tests.realcli.conftest import RealEnv, cli_version, require, wait_for

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]

READY = "Ask Codex"
MESSAGE = "hello from the test"


@pytest.fixture(autouse=True)
def _codex() -> None:
    require("codex")
    assert cli_version("codex")


def thread_of(real: RealEnv, cwd: Path) -> Optional[str]:
    dbs = sorted(
        (real.home / ".codex").glob("state_*.sqlite"), key=lambda p: int(p.stem.split("_")[1])
    )
    if not dbs:
        return None
    conn = sqlite3.connect(f"file:{dbs[-1]}?mode=ro", uri=True, timeout=2)
    try:
        row = conn.execute(
            "SELECT id FROM threads WHERE cwd = ? ORDER BY created_at DESC", (str(cwd),)
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def start(real: RealEnv, pane: str, command: str, ready: str) -> int:
    real.send(pane, command)
    pid = real.tool_pid(pane, "codex")
    real.wait_screen(pane, ready, 60)
    return pid


def quit_codex(real: RealEnv, pane: str, pid: int) -> str:
    for _ in range(3):
        real.keys(pane, "Escape")
        time.sleep(1)
        real.keys(pane, "C-u")
        real.send(pane, "/quit")
        try:
            real.wait_gone(pid, 10)
            return real.capture(pane)
        except AssertionError:
            continue
    raise AssertionError(f"codex {pid} did not quit:\n{real.capture(pane)}")


def strategy_answer(real: RealEnv, pane: str, name: str) -> Optional[str]:
    """Run one strategy of ours directly on the real process and files."""
    snap = procs.snapshot()
    det = detect.in_pane(real.pane_pid(pane), snap, uid=real.uid)  # the user's, not ours
    assert det is not None and det.assistant.name == "codex"
    found = Found(
        pid=det.pid,
        launch=det.launch,
        start=snap.procs[det.pid].start,
        cwd=snap.cwd(det.pid),
        pids=det.pids,
    )
    ctx = Context(snap=snap, log=Log(None), home=str(real.home))
    codex = Codex()
    return dict(codex.strategies())[name](ctx, found)


def test_threads_rollouts_last_and_args(real: RealEnv) -> None:
    cwd = real.workdir("codex")
    pane = real.window(cwd)
    pid = start(real, pane, "codex -m gpt-5", READY)
    real.send(pane, MESSAGE)
    sid = str(
        wait_for(
            lambda: thread_of(real, cwd),
            30,
            "a codex thread row",
            on_fail=lambda: real.capture(pane),
        )
    )
    real.keys(pane, "Escape")

    # The app-server daemons Codex spawned are there, and are not sessions.
    helpers = [p for p, argv in real.descendants(real.pane_pid(pane)) if "app-server" in argv]
    saved = real.save()
    assert list(saved) == [pane]
    s = saved[pane]
    # logs-db (this TUI's own evidence) when its daemon connection pairs up
    assert (s["tool"], s["session_id"]) == ("codex", sid)
    assert s["id_source"] in ("logs-db", "threads-db")
    assert s["cli_args"] == ["-m", "gpt-5"] and s["model"] == "gpt-5"
    assert s["pid"] not in helpers
    # The rollout strategy finds the same session in the real rollout files.
    assert strategy_answer(real, pane, "rollouts") == sid
    out = quit_codex(real, pane, pid)
    assert f"codex resume {sid}" in out  # what Codex itself prints on exit

    # `resume --last` is saved with the concrete ID it reopened.
    pid = start(real, pane, "codex resume --last", MESSAGE)
    s = real.save()[pane]
    assert s["session_id"] == sid and s["id_source"] in ("logs-db", "threads-db")
    assert s["cli_args"] == []
    quit_codex(real, pane, pid)

    # `resume <id>`: the ID in argv answers while the process shows no other thread.
    pid = start(real, pane, f"codex resume {sid}", MESSAGE)
    s = real.save()[pane]
    assert s["session_id"] == sid and s["id_source"] in ("logs-db", "args")
    quit_codex(real, pane, pid)
    real.kill(pane)
