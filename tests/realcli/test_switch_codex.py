"""Codex CLI 0.169.0, the crash suite of issue 15: sessions switched inside
running Codex TUIs are saved by event saves within seconds, survive `kill -9`
of the tmux server and come back, through tmux-resurrect's real restore, as
`codex resume <the latest thread>`, checked against Codex's own `threads`
table (never our sidecar). One crash carries every case (real CLIs are slow):
- `codex`, a message, `/new`, a message: the second thread;
- `codex resume X`, `/new`, a message (a pane restored, then switched): the new one;
- the `/resume` picker to an older thread: the older one;
- two Codex panes in one directory started seconds apart, then a message in
  each (the second one first): each its own thread;
- `codex resume <name>` (named with `/rename`): the thread it opened;
- a fresh `codex` without a message: a fresh `codex`, no resume.
Then the restored `/new` pane is switched again (`/new`, a message) and a
second crash brings back that newest thread."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Optional

import pytest

from tests.realcli.conftest import RealEnv, require, wait_for
from tests.realcli.crash import Crash

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]

READY = "Ask Codex"


def thread_by_message(real: RealEnv, text: str) -> Optional[str]:
    """The thread a message went to, from Codex's own `history.jsonl` (it
    records the thread of every message typed), checked in its `threads` table."""
    sid = None
    try:
        lines = (real.home / ".codex" / "history.jsonl").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        entry = json.loads(line)
        if entry.get("text") == text:
            sid = entry.get("session_id")
    dbs = sorted(
        (real.home / ".codex").glob("state_*.sqlite"), key=lambda p: int(p.stem.split("_")[1])
    )
    if not sid or not dbs:
        return None
    conn = sqlite3.connect(f"file:{dbs[-1]}?mode=ro", uri=True, timeout=2)
    try:
        row = conn.execute("SELECT id FROM threads WHERE id = ?", (sid,)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return str(row[0]) if row else None


def submitted(real: RealEnv, text: str) -> bool:
    try:
        return f'"text":"{text}"' in (real.home / ".codex" / "history.jsonl").read_text()
    except OSError:
        return False


def say(c: Crash, pane: str, text: str) -> None:
    """Type a message and make sure Codex took it (history.jsonl has it)."""
    c.send(pane, text)
    for _ in range(4):
        try:
            wait_for(lambda: submitted(c.real, text), 5, f"{text!r} submitted")
            time.sleep(1)
            return
        except AssertionError:
            c.keys(pane, "Enter")  # the TUI was still starting up
    raise AssertionError(f"{text!r} never submitted:\n{c.capture(pane)}")


def idle(c: Crash, pane: str) -> None:
    """Interrupt the turn Codex keeps retrying (it has no network here)."""
    for _ in range(5):
        if "esc to interrupt" not in c.capture(pane):
            break
        c.keys(pane, "Escape")
        time.sleep(1.5)
    c.keys(pane, "C-u")


def pending(c: Crash, pane: str, text: str) -> bool:
    """Whether `text` still sits in the composer (its prompt line)."""
    return any(ln.rstrip() == f"› {text}" for ln in c.capture(pane).splitlines())


def command(c: Crash, pane: str, text: str) -> None:
    """A slash command, Enter repeated while it still sits in the composer."""
    c.send(pane, text)
    for i in range(12):
        time.sleep(1.5)
        if not pending(c, pane, text):
            return
        if i % 3 == 2:
            c.keys(pane, "Enter")
    raise AssertionError(f"{text} not taken:\n{c.capture(pane)}")


def launch(c: Crash, pane: str, line: str) -> None:
    """Run `line` at the shell prompt of `pane` and wait until Codex is ready."""
    c.send(pane, "clear")
    time.sleep(0.5)
    c.send(pane, line)

    def ready() -> bool:
        screen = c.capture(pane)
        return (
            READY in screen
            and "Waiting for startup" not in screen
            and ("Resuming session" not in screen)
        )

    wait_for(ready, 90, f"{line} ready", interval=0.5, on_fail=lambda: c.capture(pane))
    time.sleep(1)


def start(c: Crash, cwd: Path, line: str = "codex") -> str:
    pane = c.window(cwd)
    launch(c, pane, line)
    return pane


def quit_codex(c: Crash, pane: str) -> None:
    idle(c, pane)
    c.send(pane, "/quit")
    wait_for(lambda: c.capture(pane).rstrip().endswith("$"), 30, "codex quit")


def resumed(c: Crash, pane: str) -> list[str]:
    return c.argv_in(c.pane_after(pane), "codex")


def test_codex_switches_survive_a_crash(crash: Crash, real: RealEnv) -> None:
    require("codex")
    # `codex`, a message, `/new`, a message
    p_new = start(crash, real.workdir("cx-new"))
    say(crash, p_new, "new one")
    command(crash, p_new, "/new")
    say(crash, p_new, "new two")

    # `codex resume X`, `/new`, a message
    d_res = real.workdir("cx-resume")
    p_res = start(crash, d_res)
    say(crash, p_res, "resume x")
    quit_codex(crash, p_res)
    x = thread_by_message(real, "resume x")
    assert x
    launch(crash, p_res, f"codex resume {x}")
    command(crash, p_res, "/new")
    say(crash, p_res, "resume y")

    # the /resume picker to an older thread
    p_pick = start(crash, real.workdir("cx-pick"))
    say(crash, p_pick, "pick old")
    command(crash, p_pick, "/new")
    say(crash, p_pick, "pick new")
    idle(crash, p_pick)
    crash.send(p_pick, "/resume")
    crash.wait_screen(p_pick, "Resume a previous session")
    wait_for(lambda: "pick old" in crash.capture(p_pick), 15, "the older thread listed")
    crash.keys(p_pick, "Down")
    time.sleep(1)
    crash.keys(p_pick, "Enter")
    time.sleep(3)

    # `codex resume <name>`
    d_name = real.workdir("cx-name")
    p_name = start(crash, d_name)
    say(crash, p_name, "named thread")
    idle(crash, p_name)
    crash.send(p_name, "/rename")
    crash.wait_screen(p_name, "Type a name")
    crash.send(p_name, "cxnamed")
    index = real.home / ".codex" / "session_index.jsonl"
    for _ in range(10):
        time.sleep(1.5)
        if index.exists() and "cxnamed" in index.read_text():
            break
        if pending(crash, p_name, "cxnamed"):
            crash.keys(p_name, "Enter")
    assert "cxnamed" in index.read_text(), crash.capture(p_name)
    quit_codex(crash, p_name)
    launch(crash, p_name, "codex resume cxnamed")
    assert "named thread" in crash.capture(p_name)

    # a fresh codex without a message
    p_fresh = start(crash, real.workdir("cx-fresh"))

    # two panes in one directory, started seconds apart; the second speaks first
    d_two = real.workdir("cx-two")
    p_a = start(crash, d_two)
    p_b = start(crash, d_two)
    say(crash, p_b, "two b")
    say(crash, p_a, "two a")
    crash.changed()
    crash.crash_and_restore()

    expect = {
        p_new: thread_by_message(real, "new two"),
        p_res: thread_by_message(real, "resume y"),
        p_pick: thread_by_message(real, "pick old"),
        p_name: thread_by_message(real, "named thread"),
        p_a: thread_by_message(real, "two a"),
        p_b: thread_by_message(real, "two b"),
    }
    got = {pane: resumed(crash, pane)[-2:] for pane in expect}
    assert got == {pane: ["resume", sid] for pane, sid in expect.items()}, crash.restore_log()
    fresh = resumed(crash, p_fresh)
    assert "resume" not in fresh, fresh

    # the restored pane switched again: `/new`, a message, a second crash
    again = crash.pane_after(p_new)
    crash.wait_screen(again, "Ask Codex", 90)
    wait_for(lambda: "Resuming session" not in crash.capture(again), 90, "resumed")
    time.sleep(1)
    command(crash, again, "/new")
    say(crash, again, "new three")
    (crash.rdir / ".restore-done").unlink(missing_ok=True)
    crash.changed()
    crash.crash_and_restore()
    assert resumed(crash, again)[-2:] == ["resume", thread_by_message(real, "new three")]
