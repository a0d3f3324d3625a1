"""Kilo Code CLI: one test per session-ID strategy (plugin-state, args, db,
continue, no-message), the
resume form of 7.7.7's --help, which processes are Kilo's (not OpenCode's,
not the kilo text editor's), and hostile stores."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

from assistant_resurrect import procs
from assistant_resurrect.assistants import by_name, match
from assistant_resurrect.assistants.base import FRESH, Assistant, parse_launch
from tests.unit.strategy_helpers import Proc, make_proc

FIXTURES = Path(__file__).parent / "fixtures" / "kilo"
S_REAL = "ses_dcb642ef1ffef8r8H4ATjeI2zn"  # the row Kilo 7.7.7 wrote (session.sql)
S_ARGS = "ses_argsargsargsargsargsargs"
S_NEW = "ses_newestnewestnewestnewest"
S_NEXT = "ses_nextnextnextnextnextnext"
S_OLD = "ses_olderolderolderolderolde"
S_CHILD = "ses_childchildchildchildchil"
S_ARCH = "ses_archivedarchivedarchived"
S_ELSEWHERE = "ses_elsewhereelsewhereelsewh"
KILO = ["node", "/usr/local/bin/kilo"]


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    monkeypatch.delenv("KILO_DB", raising=False)
    yield from make_proc(tmp_path, monkeypatch)


def db_path(p: Proc) -> Path:
    return p.home / ".local" / "share" / "kilo" / "kilo.db"


def real_db(path: Path, cwd: Path) -> sqlite3.Connection:
    """kilo.db with the `session` table Kilo 7.7.7 created and its one row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sql = (FIXTURES / "session.sql").read_text()
    sql = sql.replace("@CWD@", str(cwd)).replace("@PATH@", str(cwd).lstrip("/"))
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.commit()
    return conn


def add(
    conn: sqlite3.Connection,
    sid: str,
    directory: str,
    updated_s: float,
    parent: Optional[str] = None,
    archived: Optional[int] = None,
    messages: bool = True,
) -> None:
    """Another session row like the real one (times in seconds, stored in ms),
    with a copy of its first message unless `messages` is off."""
    row = conn.execute(f"SELECT * FROM session WHERE id = '{S_REAL}'").fetchone()
    cols = [r[1] for r in conn.execute("PRAGMA table_info(session)")]
    values = dict(zip(cols, row))
    ms = int(updated_s * 1000)
    values.update(
        id=sid,
        directory=directory,
        parent_id=parent,
        time_archived=archived,
        time_created=ms,
        time_updated=ms,
    )
    conn.execute(
        f"INSERT INTO session ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
        list(values.values()),
    )
    if messages:
        conn.execute(
            "INSERT INTO message SELECT id || ?, ?, time_created, time_updated, data "
            "FROM message WHERE session_id = ? LIMIT 1",
            (sid[4:], sid, S_REAL),
        )
    conn.commit()


def store(p: Proc) -> sqlite3.Connection:
    """The real row (old: before the start), older, sub-agent, archived and
    other-folder sessions, and one session of the cwd written since the start."""
    conn = real_db(db_path(p), p.cwd)
    conn.execute(f"UPDATE session SET time_updated = {int((p.start - 600) * 1000)}")
    add(conn, S_OLD, str(p.cwd), p.start - 900)
    add(conn, S_NEW, str(p.cwd), p.start + 2)
    add(conn, S_CHILD, str(p.cwd), p.start + 5, parent=S_NEW)  # a sub-agent session
    add(conn, S_ARCH, str(p.cwd), p.start + 6, archived=int((p.start + 7) * 1000))
    add(conn, S_ELSEWHERE, "/somewhere/else", p.start + 8)
    return conn


# -- strategies --------------------------------------------------------------


def test_args(proc: Proc) -> None:
    store(proc).close()
    assert proc.find("kilo", [*KILO, "--model", "x/y", "-s", S_ARGS]) == (S_ARGS, "args")
    assert proc.find("kilo", [*KILO, f"--session={S_ARGS}"]) == (S_ARGS, "args")


def test_args_with_fork_is_the_new_session(proc: Proc) -> None:
    """`-s A --fork` continues in a new session: the row written since the
    start answers, never A."""
    store(proc).close()
    assert proc.find("kilo", [*KILO, "-s", S_ARGS, "--fork"]) == (S_NEW, "db")
    assert proc.find("kilo", [*KILO, "--cloud-fork", "-s", S_ARGS]) == (S_NEW, "db")


def test_db_real_row_written_since_start(proc: Proc) -> None:
    """The row Kilo 7.7.7 wrote for a first message, dated after the start."""
    conn = real_db(db_path(proc), proc.cwd)
    conn.execute(f"UPDATE session SET time_updated = {int((proc.start + 1) * 1000)}")
    conn.commit()
    conn.close()
    assert proc.find("kilo", KILO) == (S_REAL, "db")


def test_db_newest_top_level_of_cwd(proc: Proc) -> None:
    store(proc).close()
    assert proc.find("kilo", KILO) == (S_NEW, "db")


def test_db_ignores_sessions_from_before_the_start(proc: Proc) -> None:
    """A start without a message writes no row: older sessions of the folder
    are not this process's; no-message says so (restore starts it afresh)."""
    conn = real_db(db_path(proc), proc.cwd)
    conn.execute(f"UPDATE session SET time_updated = {int((proc.start - 600) * 1000)}")
    conn.commit()
    conn.close()
    assert proc.find("kilo", KILO) == (None, FRESH)
    # a fork with no message yet: no row of its own either
    assert proc.find("kilo", [*KILO, "-s", S_REAL, "--fork"]) == (None, FRESH)


def test_no_message_needs_a_readable_db(proc: Proc) -> None:
    assert proc.find("kilo", KILO) == (None, None)  # no kilo.db at all
    db_path(proc).parent.mkdir(parents=True)
    db_path(proc).write_bytes(b"garbage" * 100)
    assert proc.find("kilo", KILO) == (None, None)


def test_a_reopened_session_is_never_fresh(proc: Proc) -> None:
    """`-s A` whose ID another pane saved, `-c` with every session saved: unknown,
    not a fresh start."""
    conn = real_db(db_path(proc), proc.cwd)
    conn.execute(f"UPDATE session SET time_updated = {int((proc.start - 600) * 1000)}")
    conn.commit()
    conn.close()
    assert proc.find("kilo", [*KILO, "-s", S_REAL], claimed={S_REAL: 1}) == (None, None)
    assert proc.find("kilo", [*KILO, "-c"], claimed={S_REAL: 1}) == (None, None)


def test_continue_reopens_the_newest_of_the_cwd(proc: Proc) -> None:
    """`kilo -c` with no message since: the folder's newest session (what -c
    opened, 7.7.7 picks it per folder), though it predates the start."""
    conn = real_db(db_path(proc), proc.cwd)
    conn.execute(f"UPDATE session SET time_updated = {int((proc.start - 600) * 1000)}")
    add(conn, S_OLD, str(proc.cwd), proc.start - 900)
    add(conn, S_ELSEWHERE, "/somewhere/else", proc.start - 10)
    conn.close()
    assert proc.find("kilo", [*KILO, "-c"]) == (S_REAL, "continue")
    assert proc.find("kilo", [*KILO, "--continue"]) == (S_REAL, "continue")
    assert proc.find("kilo", [*KILO, "-c", "--fork"]) == (None, FRESH)  # no fork row yet


S_EMPTY = "ses_emptyemptyemptyemptyempt"


def test_a_session_without_messages_is_a_fresh_start(proc: Proc) -> None:
    """`kilo --mini` creates its session row at the start, with no message:
    nothing to resume, whichever strategy names it."""
    conn = store(proc)
    add(conn, S_EMPTY, str(proc.cwd), proc.start + 9, messages=False)
    conn.close()
    assert proc.find("kilo", [*KILO, "--mini"]) == (None, FRESH)
    assert proc.find("kilo", [*KILO, "-s", S_EMPTY]) == (None, FRESH)
    assert proc.find("kilo", [*KILO, "-s", S_NEW]) == (S_NEW, "args")
    # an ID kilo.db does not hold: unknown, resumed as named
    assert proc.find("kilo", [*KILO, "-s", S_ARGS]) == (S_ARGS, "args")


def test_two_panes_in_one_cwd_never_share_an_id(proc: Proc) -> None:
    conn = store(proc)
    assert proc.find("kilo", KILO, claimed={S_NEW: 1}) == (None, None)
    add(conn, S_NEXT, str(proc.cwd), proc.start + 1)
    conn.close()
    assert proc.find("kilo", KILO, claimed={S_NEW: 1}) == (S_NEXT, "db")
    assert proc.find("kilo", [*KILO, "-c"], claimed={S_NEW: 1, S_NEXT: 2}) == (S_REAL, "continue")
    assert proc.find("kilo", [*KILO, "-s", S_NEW], claimed={S_NEW: 1})[0] != S_NEW


def test_kilo_db_from_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KILO_DB relative to the data dir, XDG_DATA_HOME: read from the running
    process's environment, not ours."""
    monkeypatch.delenv("KILO_DB", raising=False)
    data = tmp_path / "xdg"
    env = {"XDG_DATA_HOME": str(data), "KILO_DB": "other.db"}
    for p in make_proc(tmp_path, monkeypatch, extra_env=env):
        conn = real_db(data / "kilo" / "other.db", p.cwd)
        conn.execute(f"UPDATE session SET time_updated = {int((p.start + 1) * 1000)}")
        conn.commit()
        conn.close()
        assert p.find("kilo", KILO) == (S_REAL, "db")


def test_invalid_id_in_args_is_never_typed(proc: Proc) -> None:
    store(proc).close()
    assert proc.find("kilo", [*KILO, "-s", "$(touch /tmp/x)"]) == (S_NEW, "db")
    assert any("invalid session ID" in line for line in proc.log_lines)


S_PLUGIN = "ses_pluginpluginpluginplugin"


def plugin_state(p: Proc, sid: str, start: Optional[float] = None) -> None:
    """The file OpenCode's plugin wrote in Kilo 7.7.7 (`opencode-<kilo pid>.json`,
    fixture), for this process."""
    data = json.loads((FIXTURES / "opencode-plugin-state.json").read_text())
    data.update(
        pid=p.pid,
        session_id=sid,
        directory=str(p.cwd),
        timestamp_epoch=p.start + 3,
        start_time=p.start if start is None else start,
    )
    p.state_file("opencode", data)


def test_plugin_state_outranks_args_and_db(proc: Proc) -> None:
    """`kilo -s A`, then /new and a message: the plugin names the new session."""
    store(proc).close()
    plugin_state(proc, S_PLUGIN)
    assert proc.find("kilo", [*KILO, "-s", S_ARGS]) == (S_PLUGIN, "plugin-state")
    # Evidence: it takes the ID over from a pane whose command line merely names it.
    ctx = proc.ctx(claimed={S_PLUGIN: 1})
    ctx.from_args.add(S_PLUGIN)
    assert tool().find_session_id(ctx, proc.found(KILO)) == (S_PLUGIN, "plugin-state")


S_PICKED = "ses_pickedpickedpickedpicked"


def tui_state(p: Proc, route: str, sid: Optional[str], start: Optional[float] = None) -> None:
    """The file OpenCode's TUI plugin wrote in Kilo 7.7.7 (fixture), for this process."""
    data = json.loads((FIXTURES / "opencode-tui-state.json").read_text())
    data.update(
        pid=p.pid,
        route=route,
        session_id=sid,
        directory=str(p.cwd),
        timestamp_epoch=p.start + 5,
        start_time=p.start if start is None else start,
    )
    p.state_file("opencode-tui", data)


def test_tui_state_outranks_plugin_state_and_args(proc: Proc) -> None:
    """`kilo -s A`, a message, then B picked from the session list: the TUI's
    route names B, the server plugin still A."""
    conn = store(proc)
    add(conn, S_PICKED, str(proc.cwd), proc.start - 300)
    conn.close()
    plugin_state(proc, S_PLUGIN)
    tui_state(proc, "session", S_PICKED)
    assert proc.find("kilo", [*KILO, "-s", S_ARGS]) == (S_PICKED, "tui-state")


def test_tui_home_is_a_fresh_start(proc: Proc) -> None:
    """/new (route home, no message yet) after a session: nothing to resume."""
    store(proc).close()
    plugin_state(proc, S_PLUGIN)
    tui_state(proc, "home", None)
    assert proc.find("kilo", [*KILO, "-s", S_ARGS]) == (None, FRESH)


def test_tui_state_of_an_earlier_process_is_ignored(proc: Proc) -> None:
    store(proc).close()
    tui_state(proc, "session", S_PICKED, start=proc.start - 3600)
    assert proc.find("kilo", KILO) == (S_NEW, "db")


def test_plugin_state_of_an_earlier_process_is_ignored(proc: Proc) -> None:
    store(proc).close()
    plugin_state(proc, S_PLUGIN, start=proc.start - 3600)
    assert proc.find("kilo", [*KILO, "-s", S_ARGS]) == (S_ARGS, "args")
    assert any("earlier process" in line for line in proc.log_lines)


def test_plugin_state_not_json_no_crash(proc: Proc) -> None:
    store(proc).close()
    proc.state.mkdir(mode=0o700, exist_ok=True)
    (proc.state / f"opencode-{proc.pid}.json").write_text("{not json")
    assert proc.find("kilo", KILO) == (S_NEW, "db")


# -- hostile stores ------------------------------------------------------------


def test_fifo_db_no_hang_no_id(proc: Proc) -> None:
    path = db_path(proc)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    assert proc.find("kilo", [*KILO, "-c"]) == (None, None)
    assert any("FIFO" in line for line in proc.log_lines)


def test_garbage_db_no_crash_no_id(proc: Proc) -> None:
    path = db_path(proc)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"{not a database" * 4096)
    assert proc.find("kilo", [*KILO, "-c"]) == (None, None)
    assert proc.log_lines


def test_schema_drift_is_skipped(proc: Proc) -> None:
    path = db_path(proc)
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE session (id TEXT, directory TEXT, time_updated INTEGER)")
    conn.execute("INSERT INTO session VALUES (?, ?, ?)", (S_NEW, str(proc.cwd), 10**13))
    conn.commit()
    conn.close()
    assert proc.find("kilo", KILO) == (None, None)
    assert any("lacks column" in line for line in proc.log_lines)


def test_hostile_ids_in_the_db_are_not_typed(proc: Proc) -> None:
    conn = real_db(db_path(proc), proc.cwd)
    conn.execute(
        "UPDATE session SET id = ?, time_updated = ?",
        ("ses_x; rm -rf ~", int((proc.start + 1) * 1000)),
    )
    conn.commit()
    conn.close()
    assert proc.find("kilo", KILO) == (None, None)


# -- arguments and the resume form ------------------------------------------------

KILO_TOOL = by_name("kilo")


def tool() -> Assistant:
    assert KILO_TOOL is not None
    return KILO_TOOL


def test_resume_argv_is_dash_s() -> None:
    """7.7.7 --help: `-s, --session  session id to continue`."""
    assert tool().resume_argv("kilo", ["--model", "anthropic/x"], S_NEW) == [
        "kilo",
        "--model",
        "anthropic/x",
        "-s",
        S_NEW,
    ]
    assert tool().fresh_argv("kilo", ["--mini"]) == ["kilo", "--mini"]


def test_cli_args_replay_flags_not_session_ones() -> None:
    args = [
        "-m",
        "anthropic/claude-sonnet-4-5",
        "--agent",
        "code",
        "--auto",
        "--mini",
        "--replay-limit",
        "5",
        "-s",
        S_ARGS,
        "-c",
        "--fork",
        "--cloud-fork",
        "--prompt",
        "fix it",
        "some/project",
    ]
    assert tool().cli_args(args) == [
        "-m",
        "anthropic/claude-sonnet-4-5",
        "--agent",
        "code",
        "--auto",
        "--mini",
        "--replay-limit",
        "5",
        "some/project",
    ]
    assert tool().model(args) == "anthropic/claude-sonnet-4-5"
    assert tool().model(["--model=a/b"]) == "a/b"


def test_project_replayed_through_the_launcher_only() -> None:
    """`kilo ../b`: the launcher (saved, its cwd restored) stays where it was
    started, so the project is replayed; the native binary run directly has
    changed into it, so it is not."""
    args = tool().cli_args(["--mini", "../b", "-s", S_ARGS])
    assert args == ["--mini", "../b"]
    assert tool().resume_argv("kilo", args, S_NEW) == ["kilo", "--mini", "../b", "-s", S_NEW]
    native = "/usr/lib/node_modules/@kilocode/cli/bin/.kilo"
    assert tool().resume_argv(native, args, S_NEW) == [native, "--mini", "-s", S_NEW]
    assert tool().fresh_argv(native, ["--agent", "code", "../b"]) == [native, "--agent", "code"]
    assert tool().fresh_argv("kilo", ["../b"]) == ["kilo", "../b"]


def test_db_matches_the_native_process_folder(proc: Proc, tmp_path: Path) -> None:
    """`kilo ../b` from a: the launcher's cwd is a, the native child's is b,
    where the session is recorded."""
    other = tmp_path / "work" / "b"
    other.mkdir()
    conn = real_db(db_path(proc), other)
    conn.execute(f"UPDATE session SET time_updated = {int((proc.start + 1) * 1000)}")
    conn.commit()
    conn.close()
    child = subprocess.Popen(["sleep", "300"], cwd=other)
    try:
        deadline = time.monotonic() + 5
        while procs.read_proc(child.pid) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        found = proc.found([*KILO, "../b"])
        assert found.cwd == str(proc.cwd)
        alone = tool().find_session_id(proc.ctx(), found)
        assert alone == (None, FRESH)  # the launcher's folder holds nothing new
        found.pids = [proc.pid, child.pid]
        assert tool().find_session_id(proc.ctx(), found) == (S_REAL, "db")
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize(
    "args",
    [
        ["run", "hello"],
        ["serve"],
        ["acp"],
        ["session", "list"],
        ["roll-call", "claude"],
        ["daemon"],
        ["remote"],
        ["cloud"],
        ["config"],
        ["worktree"],
        ["help"],
        ["--version"],
        ["--model", "a/b", "run", "x"],
    ],
)
def test_helpers_and_one_shot_runs_are_not_sessions(args: list[str]) -> None:
    assert not tool().is_session(args)


@pytest.mark.parametrize(
    "args", [[], ["-s", S_ARGS], ["--model", "a/b"], ["some/project"], ["web"], ["-c", "--mini"]]
)
def test_sessions(args: list[str]) -> None:
    assert tool().is_session(args)


def test_code_options_are_the_server_ones() -> None:
    kept, dropped = tool().without_code_options(
        ["--hostname", "0.0.0.0", "--port", "4096", "--cors", "a", "--mdns", "--mini"]
    )
    assert kept == ["--mini"]
    assert dropped == ["--hostname", "--port", "--cors", "--mdns"]


# -- which processes are Kilo's ---------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["node", "/usr/local/bin/kilo"],  # the npm launcher through its symlink
        ["node", "/opt/x/node_modules/.bin/kilo", "-s", S_ARGS],
        ["node", "/usr/local/bin/kilocode"],
        ["bun", "/home/u/.bun/bin/kilo"],
        ["/usr/lib/node_modules/@kilocode/cli/bin/.kilo", "-s", S_ARGS],  # the native copy
        ["/usr/lib/node_modules/@kilocode/cli-linux-x64/bin/kilo"],  # the platform package
        ["/home/u/bin/kilocode"],
    ],
)
def test_kilo_processes_are_kilo_not_opencode(argv: list[str]) -> None:
    found = match(argv)
    assert found is not None and found[0].name == "kilo"
    opencode = by_name("opencode")
    launch = parse_launch(argv)
    assert opencode is not None and launch is not None and not opencode.match(launch)


@pytest.mark.parametrize(
    "argv",
    [
        ["opencode"],
        ["node", "/usr/local/bin/opencode"],
        ["node", "/usr/lib/node_modules/opencode-ai/bin/opencode"],
        ["/usr/lib/node_modules/opencode-ai/bin/.opencode"],
        ["/home/u/.opencode/bin/opencode", "-s", S_ARGS],
    ],
)
def test_opencode_processes_are_not_kilo(argv: list[str]) -> None:
    launch = parse_launch(argv)
    assert launch is not None and not tool().match(launch)
    found = match(argv)
    assert found is None or found[0].name == "opencode"


@pytest.mark.parametrize("argv", [["kilo", "notes.txt"], ["/usr/local/bin/kilo", "main.c"]])
def test_the_kilo_text_editor_is_not_kilo_code(argv: list[str]) -> None:
    """antirez's kilo editor is a native program named `kilo`: not an assistant."""
    assert match(argv) is None


def test_saved_program_names_kilo() -> None:
    assert tool().valid_program("kilo")
    assert tool().valid_program("/usr/lib/node_modules/@kilocode/cli/bin/.kilo")
    assert tool().valid_program("/usr/local/bin/kilocode")
    assert not tool().valid_program("/usr/local/bin/opencode")


def test_watch_files_are_kilo_db_and_its_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sentinel polls kilo.db and its WAL: without OpenCode's plugins for
    Kilo nothing else starts an event save after a message (found by
    tests/realcli/test_kilo.py); $XDG_DATA_HOME moves them."""
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    db = tmp_path / ".local" / "share" / "kilo" / "kilo.db"
    assert tool().watch_files(str(tmp_path)) == [str(db), f"{db}-wal"]
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    db = tmp_path / "data" / "kilo" / "kilo.db"
    assert tool().watch_files(str(tmp_path)) == [str(db), f"{db}-wal"]
