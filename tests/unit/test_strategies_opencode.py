"""OpenCode: one test per session-ID strategy (args, plugin-state, db)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

from tests.unit.strategy_helpers import Proc, make_proc

S_ARGS = "ses_argsargsargsargsargsargs"
S_PLUGIN = "ses_pluginpluginpluginplugin"
S_NEW = "ses_newestnewestnewestnewest"
S_OLD = "ses_olderolderolderolderolde"
S_CHILD = "ses_childchildchildchildchil"
S_ARCH = "ses_archivedarchivedarchived"
S_ELSEWHERE = "ses_elsewhereelsewhereelsewh"


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    yield from make_proc(tmp_path, monkeypatch)


def make_db(path: Path, cwd: Path, drop: Optional[str] = None, wal: bool = False) -> None:
    """An opencode.db `session` table with the columns 1.18.33 has that we read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = [
        "id TEXT PRIMARY KEY",
        "project_id TEXT",
        "parent_id TEXT",
        "directory TEXT",
        "title TEXT",
        "time_created INTEGER",
        "time_updated INTEGER",
        "time_archived INTEGER",
    ]
    cols = [c for c in cols if not (drop and c.startswith(drop + " "))]
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"CREATE TABLE session ({', '.join(cols)})")
    rows = [
        (S_OLD, None, str(cwd), 1000, None),
        (S_NEW, None, str(cwd), 3000, None),
        (S_CHILD, S_NEW, str(cwd), 4000, None),  # a sub-agent session
        (S_ARCH, None, str(cwd), 5000, 4500),  # archived
        (S_ELSEWHERE, None, "/somewhere/else", 6000, None),
    ]
    for sid, parent, directory, updated, archived in rows:
        values = {
            "id": sid,
            "project_id": "p",
            "parent_id": parent,
            "directory": directory,
            "title": "t",
            "time_created": updated,
            "time_updated": updated,
            "time_archived": archived,
        }
        if drop:
            values.pop(drop)
        conn.execute(
            f"INSERT INTO session ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            list(values.values()),
        )
    conn.commit()
    conn.close()


def db_path(p: Proc) -> Path:
    return p.home / ".local" / "share" / "opencode" / "opencode.db"


def test_args(proc: Proc) -> None:
    make_db(db_path(proc), proc.cwd)
    assert proc.find("opencode", ["opencode", "--model", "x/y", "-s", S_ARGS]) == (S_ARGS, "args")
    assert proc.find("opencode", ["opencode", f"--session={S_ARGS}"]) == (S_ARGS, "args")


def test_plugin_state(proc: Proc) -> None:
    make_db(db_path(proc), proc.cwd)
    proc.state_file(
        "opencode",
        {
            "tool": "opencode",
            "pid": proc.pid,
            "session_id": S_PLUGIN,
            "start_time": proc.start,
            "timestamp": "x",
        },
    )
    assert proc.find("opencode", ["opencode"]) == (S_PLUGIN, "plugin-state")


S_PICKED = "ses_pickedpickedpickedpicked"


def tui_state(p: Proc, route: str, sid: Optional[str], start: Optional[float] = None) -> None:
    p.state_file(
        "opencode-tui",
        {
            "tool": "opencode",
            "source": "tui",
            "pid": p.pid,
            "route": route,
            "session_id": sid,
            "start_time": p.start if start is None else start,
            "timestamp_epoch": p.start + 5,
        },
    )


def test_tui_state_outranks_plugin_state_and_args(proc: Proc) -> None:
    """`opencode -s A`, then B picked from the session list (no message: the
    server plugin still says A): the TUI's route wins over both."""
    make_db(db_path(proc), proc.cwd)
    proc.state_file(
        "opencode",
        {"tool": "opencode", "pid": proc.pid, "session_id": S_PLUGIN, "start_time": proc.start},
    )
    tui_state(proc, "session", S_PICKED)
    assert proc.find("opencode", ["opencode", "-s", S_ARGS]) == (S_PICKED, "tui-state")


def test_tui_home_is_a_fresh_start(proc: Proc) -> None:
    """/new (or a start without -s) and no message yet: OpenCode has no row
    for it, so nothing to resume: a fresh start, not `-s` of the old one."""
    make_db(db_path(proc), proc.cwd)
    tui_state(proc, "home", None)
    assert proc.find("opencode", ["opencode", "-s", S_ARGS]) == (None, "fresh")


def test_a_message_after_home_outranks_the_home_route(proc: Proc) -> None:
    """The first message opened a session (the server plugin recorded it) and
    the TUI has not written its route change yet: not a fresh start (Molecule
    saved in that moment)."""
    make_db(db_path(proc), proc.cwd)
    tui_state(proc, "home", None)
    proc.state_file(
        "opencode",
        {
            "tool": "opencode",
            "pid": proc.pid,
            "session_id": S_PLUGIN,
            "start_time": proc.start,
            "timestamp_epoch": proc.start + 6,
        },
    )
    assert proc.find("opencode", ["opencode"]) == (S_PLUGIN, "plugin-state")


def test_a_session_created_after_home_is_not_a_fresh_start(proc: Proc) -> None:
    """The same moment seen only in the db: a session of this folder created
    after the TUI wrote home."""
    make_db(db_path(proc), proc.cwd)
    conn = sqlite3.connect(db_path(proc))
    created = int((proc.start + 6) * 1000)
    conn.execute(
        "INSERT INTO session (id, project_id, parent_id, directory, title, time_created, "
        "time_updated, time_archived) VALUES (?, 'p', NULL, ?, 't', ?, ?, NULL)",
        (S_PLUGIN, str(proc.cwd), created, created),
    )
    conn.commit()
    conn.close()
    tui_state(proc, "home", None)
    assert proc.find("opencode", ["opencode"]) == (S_PLUGIN, "db")


def test_tui_state_of_a_reused_pid_is_ignored(proc: Proc) -> None:
    tui_state(proc, "home", None, start=proc.start - 300)
    assert proc.find("opencode", ["opencode", "-s", S_ARGS]) == (S_ARGS, "args")


def test_plugin_state_outranks_args(proc: Proc) -> None:
    """A restored `opencode -s A` in which the user went on in B (a message):
    the plugin's record of B wins over the A on the command line."""
    proc.state_file(
        "opencode",
        {"tool": "opencode", "pid": proc.pid, "session_id": S_PLUGIN, "start_time": proc.start},
    )
    assert proc.find("opencode", ["opencode", "-s", S_ARGS]) == (S_PLUGIN, "plugin-state")


def test_plugin_state_of_a_reused_pid_is_ignored(proc: Proc) -> None:
    proc.state_file(
        "opencode",
        {
            "tool": "opencode",
            "pid": proc.pid,
            "session_id": S_PLUGIN,
            "start_time": proc.start - 300,
        },
    )
    assert proc.find("opencode", ["opencode"]) == (None, None)


def test_db_newest_top_level_unarchived_of_the_cwd(proc: Proc) -> None:
    make_db(db_path(proc), proc.cwd)
    assert proc.find("opencode", ["opencode"]) == (S_NEW, "db")
    # a session already saved for another pane is left to it
    assert proc.find("opencode", ["opencode"], claimed={S_NEW: 1}) == (S_OLD, "db")


def test_db_read_while_a_writer_holds_it(proc: Proc) -> None:
    path = db_path(proc)
    make_db(path, proc.cwd, wal=True)
    writer = sqlite3.connect(path)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE session SET title = 'busy'")
    try:
        assert proc.find("opencode", ["opencode"]) == (S_NEW, "db")
    finally:
        writer.rollback()
        writer.close()
    assert not Path(str(path) + "-journal").exists()


def test_db_schema_drift_skips_with_one_log_line(proc: Proc) -> None:
    make_db(db_path(proc), proc.cwd, drop="time_archived")
    assert proc.find("opencode", ["opencode"]) == (None, None)
    lines = [line for line in proc.log_lines if "time_archived" in line]
    assert len(lines) == 1 and "strategy skipped" in lines[0]


def test_db_from_the_assistants_opencode_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    custom = tmp_path / "elsewhere" / "oc.db"
    gen = make_proc(tmp_path, monkeypatch, {"OPENCODE_DB": str(custom)})
    p = next(gen)
    try:
        make_db(custom, p.cwd)
        make_db(db_path(p), Path("/not/this/one"))
        assert p.find("opencode", ["opencode"]) == (S_NEW, "db")
    finally:
        gen.close()


def test_a_late_event_of_the_session_left_by_new_keeps_home_a_fresh_start(proc: Proc) -> None:
    """/new, then the server plugin records one more event of the session the
    user left (its title, the end of its turn): that session is older than
    the home route, so the pane is still a fresh start, not `-s` of it."""
    make_db(db_path(proc), proc.cwd)
    tui_state(proc, "home", None)
    proc.state_file(
        "opencode",
        {
            "tool": "opencode",
            "pid": proc.pid,
            "session_id": S_OLD,  # created at 1 s after the epoch: long before home
            "start_time": proc.start,
            "timestamp_epoch": proc.start + 6,
        },
    )
    assert proc.find("opencode", ["opencode"]) == (None, "fresh")
