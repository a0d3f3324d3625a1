"""OpenCode switch cases of issue 15 through a real crash: sessions switched
inside a running OpenCode (the session list, `/new`, with and without a
message), a pane that was itself restored and then switched, two panes in
one directory. Each ends with `kill -9` of the tmux server 5 s after the
last change, tmux-resurrect's restore with a client attached, and a check of
the restored argv against OpenCode's own database.

OpenCode's TUI plugin (assistant-resurrect-tui.js, listed in tui.json) is
installed here the way the role installs it; the server plugin is already
in ~/.config/opencode/plugins/ (conftest)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Optional

import pytest

from tests.realcli.conftest import (
    ROOT,
    RealEnv,
    cli_version,
    require,
    sessions_holding,
    wait_for,
    wait_for_quietly,
)
from tests.realcli.crash import Crash

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]

READY = "Ask anything"
TUI_PLUGIN = ROOT / "roles" / "assistant_resurrect" / "files" / "opencode"
TUI_PLUGIN = TUI_PLUGIN / "assistant-resurrect-tui.js"


@pytest.fixture(autouse=True)
def _opencode(real: RealEnv) -> None:
    require("opencode")
    assert cli_version("opencode")
    real.write(".config/opencode/assistant-resurrect-tui.js", TUI_PLUGIN.read_text())
    real.write(
        ".config/opencode/tui.json",
        json.dumps({"plugin": [str(real.home / ".config/opencode/assistant-resurrect-tui.js")]}),
    )


def db(real: RealEnv) -> Path:
    return real.home / ".local" / "share" / "opencode" / "opencode.db"


def sessions(real: RealEnv, cwd: Path) -> list[tuple[str, str, int]]:
    """(id, title, time_updated) of the directory's top-level sessions, newest first."""
    if not db(real).exists():
        return []
    conn = sqlite3.connect(f"file:{db(real)}?mode=ro", uri=True, timeout=2)
    try:
        rows = conn.execute(
            "SELECT id, title, time_updated FROM session WHERE directory = ? "
            "AND parent_id IS NULL ORDER BY time_updated DESC",
            (str(cwd),),
        ).fetchall()
    except sqlite3.Error:
        return []
    finally:
        conn.close()
    return [(str(a), str(b), int(c)) for a, b, c in rows]


def retitle(real: RealEnv, sid: str, title: str) -> None:
    """A title to find the session by in the list (the fake API titles them
    all alike); written as the user while no OpenCode runs."""
    code = (
        "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
        "c.execute('UPDATE session SET title=? WHERE id=?', (sys.argv[2], sys.argv[3])); "
        "c.commit()"
    )
    real.run(["/usr/bin/python3", "-c", code, str(db(real)), title, sid])


def start(crash: Crash, pane: str, command: str, ready: str = READY) -> int:
    crash.send(pane, command)
    pid = crash.tool_pid(pane, "opencode")
    crash.wait_screen(pane, ready, 90)
    return pid


def holding(real: RealEnv, cwd: Path, text: str) -> list[str]:
    """The directory's top-level sessions whose stored messages hold `text`."""
    return sessions_holding(db(real), cwd, text)


def say(crash: Crash, pane: str, cwd: Path, text: str, new: bool) -> str:
    """Send a message; the session it went to, found by the message's own
    text (a new row when `new`). Not by which row's time_updated moved: the
    other pane's session is still updated after its turn (title, summary)."""
    before = {s[0] for s in sessions(crash.real, cwd)}
    crash.send(pane, text)

    def landed() -> Optional[str]:
        for sid in holding(crash.real, cwd, text):
            if not new or sid not in before:
                return sid
        return None

    sid = wait_for(
        landed, 40, f"the message {text!r} in opencode.db", on_fail=lambda: crash.capture(pane)
    )
    crash.wait_screen(pane, "stub reply", 40)
    wait_for(lambda: "esc interrupt" not in crash.capture(pane), 30, "the turn to end")
    return str(sid)


def pick(crash: Crash, pane: str, title: str, shows: str) -> None:
    """Open the session list, search `title`, take it; wait until it is shown."""
    crash.send(pane, "/sessions", enter=False)
    crash.wait_screen(pane, "Switch session")  # the command popup is up: Enter takes it

    def opened() -> bool:
        crash.keys(pane, "Enter")
        return bool(wait_for_quietly(lambda: "Search" in crash.capture(pane), 3))

    wait_for(opened, 20, "the session list", interval=0, on_fail=lambda: crash.capture(pane))
    crash.send(pane, title, enter=False)
    # the search field shows the text too: wait for the list's row as well
    wait_for(lambda: crash.capture(pane).count(title) >= 2, 10, f"{title} listed")
    time.sleep(0.5)
    crash.keys(pane, "Enter")
    crash.wait_screen(pane, shows)


def args_after(crash: Crash, pane: str) -> list[str]:
    return crash.argv_in(crash.pane_after(pane), "opencode")[1:]


def quit_opencode(crash: Crash, pane: str, pid: int) -> None:
    crash.send(pane, "/exit")
    crash.real.wait_gone(pid)


def two_sessions(crash: Crash, real: RealEnv, cwd: Path) -> tuple[str, str, str]:
    """Sessions A and B in `cwd`, titled to be found in the list; no OpenCode
    left running. Returns (pane, A, B)."""
    pane = crash.window(cwd)
    pid = start(crash, pane, "opencode")
    a = say(crash, pane, cwd, "alpha first", new=True)
    crash.send(pane, "/new")
    crash.wait_screen(pane, READY)
    b = say(crash, pane, cwd, "bravo first", new=True)
    quit_opencode(crash, pane, pid)
    retitle(real, a, "alphatitle")
    retitle(real, b, "bravotitle")
    return pane, a, b


def test_s_a_then_b_from_the_list_and_a_message(crash: Crash, real: RealEnv) -> None:
    """`opencode -s A`, B from the session list and a message -> B (was A)."""
    cwd = real.workdir("oc-switch-list")
    pane, a, b = two_sessions(crash, real, cwd)
    start(crash, pane, f"opencode -s {a}", ready="alpha first")
    pick(crash, pane, "bravotitle", "bravo first")
    assert say(crash, pane, cwd, "bravo again", new=False) == b
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["-s", b]
    assert sessions(real, cwd)[0][0] == b  # the latest conversation, by OpenCode's db


def test_pick_without_a_message(crash: Crash, real: RealEnv) -> None:
    """`opencode -s B` (the line a restore types), A picked from the list and
    no message -> A (was B: the plugin wrote nothing on a pick, the argument
    won; the db alone says B, the directory's newest)."""
    cwd = real.workdir("oc-switch-pick")
    pane, a, b = two_sessions(crash, real, cwd)
    start(crash, pane, f"opencode -s {b}", ready="bravo first")
    pick(crash, pane, "alphatitle", "alpha first")
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["-s", a]
    assert sessions(real, cwd)[0][0] == b


def test_restored_pane_then_switched(crash: Crash, real: RealEnv) -> None:
    """A pane restored as `opencode -s B`, then A picked from the list without
    a message -> A after the next crash (was B: the restored argument won)."""
    cwd = real.workdir("oc-switch-restored")
    pane, a, b = two_sessions(crash, real, cwd)
    start(crash, pane, f"opencode -s {b}", ready="bravo first")
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["-s", b]
    pane = crash.pane_after(pane)
    crash.wait_screen(pane, "bravo first", 90)
    pick(crash, pane, "alphatitle", "alpha first")
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["-s", a]


def test_new_session_without_a_message_is_a_fresh_start(crash: Crash, real: RealEnv) -> None:
    """`/new` and no message: OpenCode has no row for it (it comes with the
    first message), so restore starts `opencode` with the same flags, no -s."""
    cwd = real.workdir("oc-switch-new")
    pane = crash.window(cwd)
    start(crash, pane, "opencode --model anthropic/claude-sonnet-4-5")
    a = say(crash, pane, cwd, "alpha new", new=True)
    crash.send(pane, "/new")
    crash.wait_screen(pane, READY)
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["--model", "anthropic/claude-sonnet-4-5"]
    assert [s[0] for s in sessions(real, cwd)] == [a]  # nothing else to resume


def test_two_panes_in_one_directory(crash: Crash, real: RealEnv) -> None:
    """Two OpenCodes in one directory, a message in each, then one more in the
    first (its session is the directory's newest): each pane its own."""
    cwd = real.workdir("oc-switch-two")
    one = crash.window(cwd)
    two = crash.window(cwd)
    start(crash, one, "opencode")
    start(crash, two, "opencode")
    a = say(crash, one, cwd, "alpha one", new=True)
    b = say(crash, two, cwd, "bravo two", new=True)
    assert say(crash, one, cwd, "alpha again", new=False) == a
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, one) == ["-s", a]
    assert args_after(crash, two) == ["-s", b]
