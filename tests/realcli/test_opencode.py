"""OpenCode, the real CLI: our plugin, `-s` in argv and opencode.db each
answer a real save. Sessions are made by typing a message; OpenCode's
Anthropic provider is pointed at the fake API, so the turn ends at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Optional

import pytest

from tests.realcli.conftest import RealEnv, cli_version, require, wait_for

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]

READY = "Ask anything"


@pytest.fixture(autouse=True)
def _opencode() -> None:
    require("opencode")
    assert cli_version("opencode")


def newest_session(real: RealEnv, cwd: Path, exclude: tuple[str, ...] = ()) -> Optional[str]:
    db = real.home / ".local" / "share" / "opencode" / "opencode.db"
    if not db.exists():
        return None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
    try:
        rows = conn.execute(
            "SELECT id FROM session WHERE directory = ? AND parent_id IS NULL "
            "ORDER BY time_created DESC",
            (str(cwd),),
        ).fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    ids = [r[0] for r in rows if r[0] not in exclude]
    return ids[0] if ids else None


def start(real: RealEnv, pane: str, command: str, ready: str = READY) -> int:
    real.send(pane, command)
    pid = real.tool_pid(pane, "opencode")
    real.wait_screen(pane, ready, 90)
    return pid


def message(real: RealEnv, pane: str, cwd: Path, exclude: tuple[str, ...] = ()) -> str:
    real.send(pane, "hello from the test")
    sid = wait_for(
        lambda: newest_session(real, cwd, exclude),
        30,
        "an opencode session row",
        on_fail=lambda: real.capture(pane),
    )
    real.wait_screen(pane, "stub reply", 40)
    wait_for(lambda: "esc interrupt" not in real.capture(pane), 30, "the turn to end")
    return str(sid)


def quit_opencode(real: RealEnv, pane: str, pid: int) -> None:
    real.send(pane, "/exit")
    real.wait_gone(pid)


def test_plugin_state_follows_the_session_in_use(real: RealEnv) -> None:
    """OpenCode loads our plugin from ~/.config/opencode/plugins/; it writes
    opencode-<pid>.json, save reads it, /new is followed, exit removes it."""
    cwd = real.workdir("opencode-plugin")
    pane = real.window(cwd)
    pid = start(real, pane, "opencode")
    sid = message(real, pane, cwd)
    entry = wait_for(
        lambda: real.state_file("opencode", pid),
        20,
        "plugin state file",
        on_fail=lambda: real.capture(pane),
    )
    assert entry["session_id"] == sid
    assert entry["tool"] == "opencode" and entry["pid"] == pid
    assert entry["directory"] == str(cwd)
    assert (real.state_dir / f"opencode-{pid}.json").stat().st_mode & 0o777 == 0o600
    saved = real.save()[pane]
    assert (saved["tool"], saved["session_id"]) == ("opencode", sid)
    # the process's own evidence: our server plugin's record, or the TUI
    # plugin's route once the TUI has written it (whichever came first)
    assert saved["id_source"] in ("tui-state", "plugin-state"), saved

    # A new session in the same process: the plugin follows it.
    real.send(pane, "/new")
    real.wait_screen(pane, READY)
    sid2 = message(real, pane, cwd, exclude=(sid,))
    wait_for(
        lambda: (real.state_file("opencode", pid) or {}).get("session_id") == sid2,
        20,
        "plugin state to follow /new",
    )
    saved = real.save()[pane]
    assert (saved["session_id"], saved["id_source"]) == (sid2, "plugin-state")

    quit_opencode(real, pane, pid)
    wait_for(lambda: real.state_file("opencode", pid) is None, 10, "plugin state removed")
    real.kill(pane)


def test_db_then_args(real: RealEnv) -> None:
    """Without the plugin (--pure) and with no -s, opencode.db answers; then
    `opencode --pure -s <id>` reopens it offline and argv answers."""
    cwd = real.workdir("opencode-db")
    pane = real.window(cwd)
    pid = start(real, pane, "opencode --pure")
    sid = message(real, pane, cwd)
    saved = real.save()[pane]
    assert real.state_file("opencode", pid) is None
    assert (saved["session_id"], saved["id_source"]) == (sid, "db")
    assert saved["cli_args"] == ["--pure"]
    quit_opencode(real, pane, pid)

    pid = start(real, pane, f"opencode --pure -s {sid}", ready="hello from the test")
    saved = real.save()[pane]
    assert (saved["session_id"], saved["id_source"]) == (sid, "args")
    assert saved["cli_args"] == ["--pure"]
    assert "Session not found" not in real.capture(pane)
    quit_opencode(real, pane, pid)
    real.kill(pane)
