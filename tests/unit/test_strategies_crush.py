"""Crush (Charm): one test per session-ID strategy (args, db, continue) in
evidence order, the process tree of the npm launcher, helpers and one-shot
runs that are not sessions, kept arguments and the resume form, the data dir
(--data-dir, projects.json, the closest .crush), two panes in one folder,
hostile store files.

The databases are built here with the `sessions` table of Crush 0.90's
migrations (the columns the strategies read, and the ones beside them)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

from assistant_resurrect import assistants, detect, procs
from assistant_resurrect.assistants.crush import Crush
from tests.unit.strategy_helpers import Proc, make_proc

C_ARGS = "6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
C_NEW = "0b6e8f0c-1d2e-4f3a-8b4c-5d6e7f8a9b0c"
C_OTHER = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
C_OLD = "11111111-2222-4333-8444-555555555555"
CRUSH = ["crush"]
NPM = ["node", "/usr/lib/node_modules/@charmland/crush/run-crush.js"]

SCHEMA = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    parent_session_id TEXT,
    title TEXT NOT NULL,
    message_count INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0.0,
    updated_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    summary_message_id TEXT,
    todos TEXT
);
"""


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    for name in ("CRUSH_GLOBAL_DATA", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    yield from make_proc(tmp_path, monkeypatch)


def crush() -> Crush:
    tool = assistants.by_name("crush")
    assert isinstance(tool, Crush)
    return tool


def add(
    db: Path,
    sid: str,
    created: float,
    updated: Optional[float] = None,
    parent: Optional[str] = None,
) -> None:
    """A session row as Crush writes it (Unix seconds), in WAL mode as Crush keeps it."""
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db)
    try:
        if not conn.execute("SELECT name FROM sqlite_master WHERE name='sessions'").fetchone():
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
        conn.execute(
            "INSERT INTO sessions (id, parent_session_id, title, message_count, updated_at, "
            "created_at) VALUES (?, ?, 'New Session', 2, ?, ?)",
            (sid, parent, int(updated if updated is not None else created), int(created)),
        )
        conn.commit()
    finally:
        conn.close()


def default_db(p: Proc) -> Path:
    return p.cwd / ".crush" / "crush.db"


# -- detection and the process tree ----------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        CRUSH,
        ["/usr/local/bin/crush", "-y"],
        NPM,
        ["/home/u/.npm-global/lib/node_modules/@charmland/crush/bin/crush", "--debug"],
    ],
)
def test_crush_is_detected(argv: list[str]) -> None:
    m = assistants.match(argv)
    assert m is not None and m[0].name == "crush"


@pytest.mark.parametrize(
    "argv", [["crushftp"], ["node", "/srv/app/crushing/index.js"], ["candy-crush"]]
)
def test_others_are_not_crush(argv: list[str]) -> None:
    m = assistants.match(argv)
    assert m is None or m[0].name != "crush"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_npm_launcher_and_its_native_child_are_one_session(tmp_path: Path) -> None:
    """The npm package's `crush` is `node run-crush.js`, which runs the native
    bin/crush as its child and waits: the pane's assistant is the launcher,
    the native child one of its pids; a stand-in native binary (a copy of
    `sleep`) is run the way run-crush.js runs it."""
    pkg = tmp_path / "node_modules" / "@charmland" / "crush"
    (pkg / "bin").mkdir(parents=True)
    native = pkg / "bin" / "crush"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", native)
    launcher = pkg / "run-crush.js"
    launcher.write_text(
        "const { spawnSync } = require('child_process');\n"
        f"spawnSync({json.dumps(str(native))}, ['300'], {{ stdio: 'inherit' }});\n"
    )
    child = subprocess.Popen(["node", str(launcher)])
    try:
        deadline = time.monotonic() + 10
        det = None
        while time.monotonic() < deadline:
            det = detect.in_pane(child.pid, procs.snapshot())
            if det is not None and len(det.pids) == 2:
                break
            time.sleep(0.05)
        assert det is not None and det.assistant.name == "crush" and det.pid == child.pid
        assert len(det.pids) == 2  # the launcher and the native crush below it
        assert procs.read_proc(det.pids[1]).comm == "crush"  # type: ignore[union-attr]
    finally:
        child.kill()
        child.wait()


# -- helpers and one-shot runs ---------------------------------------------------------


@pytest.mark.parametrize(
    "args, is_session",
    [
        ([], True),
        (["-y"], True),
        (["--yolo", "-d"], True),
        (["-s", C_ARGS], True),
        (["-C"], True),
        (["-c", "/srv/p"], True),
        (["-D", "data", "--debug"], True),
        (["run", "hello"], False),
        (["r", "hello"], False),
        (["-y", "run", "-s", C_ARGS, "go on"], False),
        (["session", "list"], False),
        (["s", "ls"], False),
        (["sessions"], False),
        (["logs", "-f"], False),
        (["login"], False),
        (["auth"], False),
        (["server", "--host", "tcp://127.0.0.1:9"], False),
        (["stats"], False),
        (["projects"], False),
        (["dirs"], False),
        (["schema"], False),
        (["update-providers"], False),
        (["models"], False),
        (["-h"], False),
        (["--help"], False),
        (["--version"], False),
        (["-v"], False),
        (["-c", "run", "-y"], True),  # `run` is --cwd's value here, not the subcommand
    ],
)
def test_helpers_are_not_sessions(args: list[str], is_session: bool) -> None:
    assert crush().is_session(args) is is_session


def test_kept_args_model_and_resume_form() -> None:
    tool = crush()
    args = ["-y", "-c", "/srv/p", "-s", C_ARGS, "-D", "data", "--debug", "-C", "--cwd=/x"]
    kept = tool.cli_args(args)
    assert kept == ["-y", "-D", "data", "--debug"]  # no session, --continue or --cwd
    assert tool.model(args) is None  # the TUI has no model option
    # `crush --help`: -s, --session  Continue a previous session by ID
    assert tool.resume_argv("crush", kept, C_NEW) == [
        "crush",
        "-y",
        "-D",
        "data",
        "--debug",
        "--session",
        C_NEW,
    ]
    assert tool.fresh_argv("crush", kept) == ["crush", "-y", "-D", "data", "--debug"]
    assert tool.valid_session_id(C_NEW) and tool.valid_session_id("1a2b3c4")
    assert not tool.valid_session_id("../../etc") and not tool.valid_session_id("title-x")


def test_code_loading_options() -> None:
    tool = crush()
    args = ["-y", "-D", "/srv/d", "--host", "tcp://0.0.0.0:7777", "--channels", "srv:hook"]
    assert tool.code_paths(args) == [("-D", "/srv/d")]
    assert tool.code_paths(["--data-dir=rel"]) == [("--data-dir", "rel")]
    kept, dropped = tool.without_code_options(args)
    assert kept == ["-y"] and dropped == ["-D", "--host", "--channels"]
    assert tool.without_code_options(["-H", "unix:///tmp/x.sock", "-y"]) == (["-y"], ["-H"])


# -- strategies ------------------------------------------------------------------------


def test_args_session_uuid_and_hash_prefix(proc: Proc) -> None:
    assert proc.find("crush", [*CRUSH, "-s", C_ARGS]) == (C_ARGS, "args")
    assert proc.find("crush", [*CRUSH, "--session", C_ARGS.upper()]) == (C_ARGS, "args")
    assert proc.find("crush", [*CRUSH, f"--session={C_ARGS}"]) == (C_ARGS, "args")
    # what Crush prints on exit: `Continue crush -s <7 hex digits of the hash>`
    assert proc.find("crush", [*NPM, "-y", "-s", "1a2b3c4"]) == ("1a2b3c4", "args")
    assert proc.find("crush", [*CRUSH, "-s", "../../etc"]) == (None, None)
    assert proc.find("crush", [*CRUSH, "-s"]) == (None, None)


def test_args_before_the_db(proc: Proc) -> None:
    """A resumed session whose row was not updated yet: args; the db has another."""
    add(default_db(proc), C_NEW, proc.start + 1)
    assert proc.find("crush", [*CRUSH, "-s", C_ARGS]) == (C_ARGS, "args")


def test_db_newest_session_updated_since_the_start(proc: Proc) -> None:
    db = default_db(proc)
    add(db, C_OLD, proc.start - 600, proc.start - 300)  # before the start: not this one
    add(db, C_OTHER, proc.start + 1, proc.start + 2)
    add(db, C_NEW, proc.start + 3, proc.start + 5)
    add(db, "title-" + C_NEW, proc.start + 3, proc.start + 9, parent=C_NEW)  # a sub-session
    add(db, "call_abc", proc.start + 3, proc.start + 9, parent=C_NEW)  # a task session
    assert proc.find("crush", CRUSH) == (C_NEW, "db")
    assert proc.find("crush", CRUSH, claimed={C_NEW: 1}) == (C_OTHER, "db")
    assert proc.find("crush", CRUSH, claimed={C_NEW: 1, C_OTHER: 2}) == (None, None)


def test_db_a_resumed_session_written_since_the_start(proc: Proc) -> None:
    """Picked in the session list (or -C) and talked to: created long before,
    updated since; no other Crush in the folder."""
    add(default_db(proc), C_OLD, proc.start - 3600, proc.start + 4)
    assert proc.find("crush", CRUSH) == (C_OLD, "db")


def test_a_start_without_a_message_has_no_row(proc: Proc) -> None:
    """The TUI creates the row with the first message: nothing to resume."""
    add(default_db(proc), C_OLD, proc.start - 600, proc.start - 300)
    assert proc.find("crush", CRUSH) == (None, None)


def test_continue_without_a_message_yet(proc: Proc) -> None:
    db = default_db(proc)
    add(db, C_OTHER, proc.start - 900, proc.start - 800)
    add(db, C_OLD, proc.start - 600, proc.start - 300)
    add(db, "title-" + C_OLD, proc.start - 600, proc.start - 100, parent=C_OLD)
    assert proc.find("crush", [*CRUSH, "-C"]) == (C_OLD, "continue")
    assert proc.find("crush", [*CRUSH, "--continue", "-y"]) == (C_OLD, "continue")
    # the newest is another pane's: the one -C opened is not known
    assert proc.find("crush", [*CRUSH, "-C"], claimed={C_OLD: 1}) == (None, None)


def test_data_dir_option(proc: Proc) -> None:
    add(proc.cwd / "state" / "crush.db", C_NEW, proc.start + 1)
    add(default_db(proc), C_OTHER, proc.start + 1)
    assert proc.find("crush", [*CRUSH, "-D", "state"]) == (C_NEW, "db")
    assert proc.find("crush", [*CRUSH, f"--data-dir={proc.cwd / 'state'}"]) == (C_NEW, "db")
    assert proc.find("crush", CRUSH) == (C_OTHER, "db")


@pytest.fixture(params=["home", "xdg", "crush_global_data"])
def proc_in(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Proc, Path, dict[str, str]]]:
    """A stand-in Crush whose own environment says where the global data dir
    is (projects.json's folder), and that folder."""
    for name in ("CRUSH_GLOBAL_DATA", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    env: dict[str, str] = {}
    if request.param == "home":
        base = tmp_path / "home" / ".local" / "share" / "crush"
    elif request.param == "xdg":
        env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
        base = tmp_path / "xdg" / "crush"
    else:
        env["CRUSH_GLOBAL_DATA"] = str(tmp_path / "global")
        base = tmp_path / "global"
    for p in make_proc(tmp_path, monkeypatch, env):
        yield p, base, env


def test_data_dir_recorded_in_projects_json(
    proc_in: tuple[Proc, Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`options.data_directory` of a config: Crush records the data dir it chose."""
    proc, base, env = proc_in
    elsewhere = tmp_path / "somewhere" / "data"
    add(elsewhere / "crush.db", C_NEW, proc.start + 1)
    add(default_db(proc), C_OTHER, proc.start + 1)
    base.mkdir(parents=True)
    projects = {
        "projects": [
            {"path": "/elsewhere", "data_dir": "/elsewhere/.crush", "last_accessed": "x"},
            {"path": str(proc.cwd), "data_dir": str(elsewhere), "last_accessed": "x"},
        ]
    }
    (base / "projects.json").write_text(json.dumps(projects))
    assert proc.find("crush", CRUSH) == (C_NEW, "db")
    # the event saver (our environment, like the user's) polls the data dirs' WAL
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    watched = crush().watch_files(str(proc.home))
    assert watched == [
        str(base / "projects.json"),
        "/elsewhere/.crush/crush.db-wal",
        str(elsewhere / "crush.db-wal"),
    ]


def test_closest_dot_crush_up_to_the_git_root(proc: Proc) -> None:
    root = proc.cwd
    sub = root / "src" / "pkg"
    sub.mkdir(parents=True)
    add(default_db(proc), C_NEW, proc.start + 1)
    # outside a git work tree only the cwd's own .crush counts
    assert proc.find("crush", CRUSH, cwd=sub) == (None, None)
    (root / ".git").mkdir()
    assert proc.find("crush", CRUSH, cwd=sub) == (C_NEW, "db")
    add(sub / ".crush" / "crush.db", C_OTHER, proc.start + 1)
    assert proc.find("crush", CRUSH, cwd=sub) == (C_OTHER, "db")


def test_the_home_folders_own_dot_crush_is_not_a_project_one(proc: Proc) -> None:
    add(proc.home / ".crush" / "crush.db", C_NEW, proc.start + 1)
    work = proc.home / "work"
    work.mkdir()
    (proc.home / ".git").mkdir()
    assert proc.find("crush", CRUSH, cwd=work) == (None, None)


# -- two panes in one folder -----------------------------------------------------------


def _other_crush(cwd: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    """Another live Crush in `cwd`: a copy of `sleep` named crush."""
    exe = tmp_path / "bin" / "crush"
    exe.parent.mkdir(exist_ok=True)
    shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
    child = subprocess.Popen([str(exe), "300"], cwd=cwd)
    deadline = time.monotonic() + 5
    while procs.read_proc(child.pid) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return child


def test_two_panes_in_one_cwd_keep_their_own_sessions(proc: Proc, tmp_path: Path) -> None:
    """Crush A started, created its session and went on talking; Crush B
    started later in the same folder and has one message: B's save takes B's
    session, not A's newer-updated one."""
    other = _other_crush(proc.cwd, tmp_path)
    try:
        a_start = procs.read_proc(other.pid).start  # type: ignore[union-attr]
        b_start = a_start + 30  # Crush B: this pane's process, started later
        db = default_db(proc)
        add(db, C_OTHER, a_start + 2, b_start + 60)
        add(db, C_NEW, b_start + 2, b_start + 40)
        tool = crush()
        found = proc.found(CRUSH)
        found.start = b_start
        assert tool.find_session_id(proc.ctx(), found) == (C_NEW, "db")
        # A's session is left to A, but taken when nothing else is left
        assert tool.find_session_id(proc.ctx({C_NEW: 1}), found) == (C_OTHER, "db")
        other.kill()
        other.wait()
        # no other Crush there: the newest updated session is this one's (a pick)
        assert tool.find_session_id(proc.ctx(), found) == (C_OTHER, "db")
    finally:
        other.kill()
        other.wait()


def test_two_panes_in_one_cwd_never_get_one_id(proc: Proc) -> None:
    add(default_db(proc), C_NEW, proc.start + 1)
    assert proc.find("crush", CRUSH, claimed={C_NEW: 424242}) == (None, None)
    assert proc.find("crush", [*CRUSH, "-C"], claimed={C_NEW: 424242}) == (None, None)


# -- hostile store files ---------------------------------------------------------------


def test_a_fifo_database_is_skipped(proc: Proc) -> None:
    (proc.cwd / ".crush").mkdir()
    os.mkfifo(default_db(proc))  # would hang an open
    assert proc.find("crush", CRUSH) == (None, None)
    assert proc.find("crush", [*CRUSH, "-C"]) == (None, None)
    assert any("FIFO" in line for line in proc.log_lines)


def test_garbage_and_drifted_databases_give_no_id(proc: Proc) -> None:
    db = default_db(proc)
    db.parent.mkdir()
    db.write_bytes(b"not a database at all" * 100)
    assert proc.find("crush", CRUSH) == (None, None)
    db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE sessions (id TEXT, updated_at INTEGER)")  # a renamed column
    conn.commit()
    conn.close()
    assert proc.find("crush", CRUSH) == (None, None)
    assert any("lacks column" in line for line in proc.log_lines)


def test_bad_rows_give_no_id(proc: Proc) -> None:
    db = default_db(proc)
    add(db, "../../etc/passwd", proc.start + 5)
    add(db, "x" * 500, proc.start + 4)
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO sessions (id, title, updated_at, created_at) VALUES (?, 't', 'soon', 'x')",
        (C_OTHER,),
    )
    conn.commit()
    conn.close()
    assert proc.find("crush", CRUSH) == (None, None)
    add(db, C_NEW, proc.start + 1)
    assert proc.find("crush", CRUSH) == (C_NEW, "db")


@pytest.mark.parametrize("kind", ["fifo", "bad-json", "not-a-list", "huge"])
def test_hostile_projects_json_falls_back_to_dot_crush(proc: Proc, kind: str) -> None:
    base = proc.home / ".local" / "share" / "crush"
    base.mkdir(parents=True)
    path = base / "projects.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "bad-json":
        path.write_text("{broken")
    elif kind == "not-a-list":
        path.write_text(json.dumps({"projects": {"path": str(proc.cwd), "data_dir": "/x"}}))
    else:
        with open(path, "wb") as fh:
            fh.write(b'{"projects": [' + b" " * (5 << 20) + b"]}")
    add(default_db(proc), C_NEW, proc.start + 1)
    assert proc.find("crush", CRUSH) == (C_NEW, "db")
    assert crush().watch_files(str(proc.home)) == [str(path)]
