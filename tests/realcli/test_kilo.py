"""Kilo Code CLI, the real CLI, through a real crash (tests/realcli/crash.py).

Kilo (an OpenCode fork) reads `~/.config/kilo/kilo.json`: its Anthropic
provider is pointed at the fake API (`baseURL` `<api>/v1`), so a message gets
"stub reply" at once and Kilo writes its session row in
`~/.local/share/kilo/kilo.db` as it does for a real model. OpenCode's two
plugins are installed for Kilo where the role's tasks/kilo.yml puts them with
its defaults (the server plugin in `assistant_resurrect_kilo_plugin_dir`,
`~/.config/kilo/plugins/`; the TUI plugin beside that folder, listed in
`~/.config/kilo/tui.json`), and 7.7.7 loads both from there; one case runs
without them (`assistant_resurrect_kilo: false`: only kilo.db and the command
line to go by).

Each case ends with `kill -9` of the tmux server, tmux-resurrect's restore
with a client attached, and a check of what restore started (the exact
`-s <id>` form, or a fresh start) and of the restored screen."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Optional

import pytest
import yaml

from tests.realcli.conftest import (
    CLAUDE_KEY,
    CLI_PREFIX,
    PLUGIN,
    ROOT,
    RealEnv,
    require,
    sessions_holding,
    wait_for,
)
from tests.realcli.crash import Crash

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]

VERSION = "7.7.7"
READY = "Ask anything"
MODEL = "anthropic/claude-sonnet-4-5"
TUI_PLUGIN = PLUGIN.parent / "assistant-resurrect-tui.js"
# Where the role installs them (its defaults; tests/role/test_role_kilo_droid_cursor.py
# checks that it does).
PLUGIN_DIR = yaml.safe_load(
    (ROOT / "roles" / "assistant_resurrect" / "defaults" / "main.yml").read_text()
)["assistant_resurrect_kilo_plugin_dir"]
PLUGIN_FILES = (f"{PLUGIN_DIR}/assistant-resurrect.js", f"{Path(PLUGIN_DIR).parent}/tui.json")


def kilo_version() -> Optional[str]:
    pj = CLI_PREFIX / "node_modules" / "@kilocode" / "cli" / "package.json"
    try:
        return str(json.loads(pj.read_text()).get("version") or "") or None
    except (OSError, ValueError):
        return None


@pytest.fixture(autouse=True)
def _kilo(real: RealEnv) -> None:
    require("kilo")
    assert kilo_version() == VERSION
    base = f"{real.api.url}/v1"
    real.write(
        ".config/kilo/kilo.json",
        json.dumps(
            {
                "$schema": "https://app.kilo.ai/config.json",
                "model": MODEL,
                "provider": {"anthropic": {"options": {"baseURL": base, "apiKey": CLAUDE_KEY}}},
            }
        ),
    )
    real.write(PLUGIN_FILES[0], PLUGIN.read_text())
    tui = real.write(
        f"{Path(PLUGIN_DIR).parent}/assistant-resurrect-tui.js", TUI_PLUGIN.read_text()
    )
    real.write(PLUGIN_FILES[1], json.dumps({"plugin": [str(tui)]}))


def sessions(real: RealEnv, cwd: Path) -> dict[str, int]:
    """{id: time_updated} of the directory's top-level sessions in kilo.db."""
    db = real.home / ".local" / "share" / "kilo" / "kilo.db"
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
    try:
        rows = conn.execute(
            "SELECT id, time_updated FROM session WHERE directory = ? AND parent_id IS NULL",
            (str(cwd),),
        ).fetchall()
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
    return {str(a): int(b) for a, b in rows}


def start(crash: Crash, pane: str, command: str) -> int:
    crash.send(pane, command)
    pid = crash.tool_pid(pane, "kilo")
    crash.wait_screen(pane, READY, 90)
    return pid


def holding(real: RealEnv, cwd: Path, text: str) -> list[str]:
    """The directory's top-level sessions in kilo.db whose messages hold `text`."""
    return sessions_holding(real.home / ".local" / "share" / "kilo" / "kilo.db", cwd, text)


def say(crash: Crash, pane: str, cwd: Path, text: str, new: bool = True) -> str:
    """Send `text`; the session it went to, found by the message's own text
    (a new row when `new`), once the reply is on screen. Not by which row's
    time_updated moved: the other pane's session is still updated after its
    turn (title, summary)."""
    before = set(sessions(crash.real, cwd))
    crash.send(pane, text)

    def landed() -> Optional[str]:
        for sid in holding(crash.real, cwd, text):
            if not new or sid not in before:
                return sid
        return None

    sid = wait_for(
        landed, 60, f"the message {text!r} in kilo.db", on_fail=lambda: crash.capture(pane)
    )
    crash.wait_screen(pane, "stub reply", 40)
    wait_for(lambda: "esc interrupt" not in crash.capture(pane), 30, "the turn to end")
    return str(sid)


def args_after(crash: Crash, pane: str) -> list[str]:
    """The arguments of the Kilo restore started (after the launcher's path)."""
    argv = crash.argv_in(crash.pane_after(pane), "kilo")
    at = next(i for i, a in enumerate(argv) if a == "kilo" or a.endswith("/kilo"))
    return argv[at + 1 :]


def logs(crash: Crash) -> str:
    """The save log's last lines and the restore log, for a failed check."""
    try:
        saved = (crash.rdir / "assistant-save.log").read_text().splitlines()[-40:]
    except OSError:
        saved = []
    return "\n".join(saved) + "\n--- restore ---\n" + crash.restore_log()


def test_message_then_crash_resumes_the_session(crash: Crash, real: RealEnv) -> None:
    """`kilo` and a message -> restore types `kilo -s <that id>` and Kilo
    reopens it (the earlier message is on the restored screen, no new row)."""
    cwd = real.workdir("kilo-one")
    pane = crash.window(cwd)
    start(crash, pane, "kilo")
    sid = say(crash, pane, cwd, "alpha kilo")

    def plugin_state() -> list[str]:
        """The server plugin's state files naming the session (the TUI
        plugin's are `opencode-tui-*.json`)."""
        return [
            p.name
            for p in real.state_dir.glob("opencode-[0-9]*.json")
            if json.loads(p.read_text()).get("session_id") == sid
        ]

    wait_for(plugin_state, 30, "the server plugin's state file in Kilo")
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["-s", sid]
    assert [src for _, _, src in crash.before_crash] in (["tui-state"], ["plugin-state"])
    crash.wait_screen(crash.pane_after(pane), "alpha kilo", 90)
    assert list(sessions(real, cwd)) == [sid]


def test_without_the_plugins(crash: Crash, real: RealEnv) -> None:
    """Without OpenCode's plugins (`assistant_resurrect_kilo: false`): kilo.db's
    session of the folder written since the start -> `kilo -s <id>`."""
    for rel in PLUGIN_FILES:
        (real.home / rel).unlink()
    cwd = real.workdir("kilo-noplugin")
    pane = crash.window(cwd)
    start(crash, pane, "kilo")
    sid = say(crash, pane, cwd, "alpha db")
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["-s", sid], logs(crash)
    assert [src for _, _, src in crash.before_crash] == ["db"]
    crash.wait_screen(crash.pane_after(pane), "alpha db", 90)


def test_two_panes_in_one_directory(crash: Crash, real: RealEnv) -> None:
    """Two Kilos in one directory, a message in each, one more in the first
    (its session is the directory's newest): each pane is restored to its own."""
    cwd = real.workdir("kilo-two")
    one = crash.window(cwd)
    two = crash.window(cwd)
    start(crash, one, "kilo")
    start(crash, two, "kilo")
    a = say(crash, one, cwd, "alpha one")
    b = say(crash, two, cwd, "bravo two")
    assert say(crash, one, cwd, "alpha again", new=False) == a
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, one) == ["-s", a]
    assert args_after(crash, two) == ["-s", b]
    crash.wait_screen(crash.pane_after(one), "alpha again", 90)
    crash.wait_screen(crash.pane_after(two), "bravo two", 90)


def test_no_message_is_a_fresh_start(crash: Crash, real: RealEnv) -> None:
    """`kilo --model …` and no message: Kilo made no session row, so restore
    starts it afresh with the same flags."""
    cwd = real.workdir("kilo-fresh")
    pane = crash.window(cwd)
    start(crash, pane, f"kilo --model {MODEL}")
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["--model", MODEL]
    assert sessions(real, cwd) == {}
