"""Codex CLI 0.169: the per-process evidence of the `logs-db` strategy, on log
and state databases made with Codex's own schema. The TUIs drive one shared
app-server daemon; each case arranges the rows that daemon writes when a
TUI starts, sends a message, runs `/new` or `/resume`, and checks that the
thread of THIS process is saved, ahead of the launch arguments."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

from assistant_resurrect.assistants import by_name
from assistant_resurrect.assistants.base import FRESH, Found, parse_launch
from tests.unit.strategy_helpers import Proc, make_proc

CODEX = ["node", "/usr/lib/node_modules/@openai/codex/bin/codex.js"]
T1 = "01a233dc-76a0-79d2-9f63-1cc085e5a5a5"
T2 = "01a233dc-8f0d-7f71-bcd1-6e41ea02aca7"
T3 = "01a233dc-f518-7e50-bd27-5a999efa03a4"
T_OLD = "01a233da-28c0-7523-b9a6-ff07d996bc42"
DAEMON = "pid:99999:51d83206-edd9-4282-9eb8-a619c02d69a7"
LOGS_SCHEMA = """
CREATE TABLE logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, ts_nanos INTEGER NOT NULL,
    level TEXT NOT NULL, target TEXT NOT NULL, feedback_log_body TEXT, module_path TEXT,
    file TEXT, line INTEGER, thread_id TEXT, process_uuid TEXT,
    estimated_bytes INTEGER NOT NULL DEFAULT 0);
CREATE INDEX idx_logs_ts ON logs(ts DESC, ts_nanos DESC, id DESC);
"""
SPAN = (
    'app_server.request{{otel.kind="server" otel.name="{m}" rpc.method="{m}" '
    'rpc.transport="unix_socket" app_server.connection_id={c} app_server.client_name="codex-tui"}}'
)


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    yield from make_proc(tmp_path, monkeypatch)


class Logs:
    """Rows as Codex 0.169 writes them to ~/.codex/logs_2.sqlite."""

    def __init__(self, p: Proc) -> None:
        self.path = p.home / ".codex" / "logs_2.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(LOGS_SCHEMA)
        self.opened: set[int] = set()

    def row(
        self, when: float, target: str, body: str, puuid: str, tid: Optional[str] = None
    ) -> None:
        self.conn.execute(
            "INSERT INTO logs (ts, ts_nanos, level, target, feedback_log_body, thread_id, "
            "process_uuid) VALUES (?, ?, 'INFO', ?, ?, ?, ?)",
            (int(when), int((when % 1) * 1e9), target, body, tid, puuid),
        )
        self.conn.commit()

    def tui(self, pid: int, when: float) -> None:
        """A TUI starting: its own rows, then its connection's thread/start request."""
        self.row(when, "codex_tui::app::startup", "connected app-server platform", f"pid:{pid}:u")

    def request(self, when: float, method: str, conn: int) -> None:
        """A request on connection `conn`; a connection's first one comes
        after its `initialize`, as the daemon logs it."""
        if conn not in self.opened:
            self.opened.add(conn)
            self.request(when - 0.1, "initialize", conn)
        body = (
            f"app-server request: {method} connection_id=ConnectionId({conn}) request_id=Integer(1)"
        )
        self.row(when, "codex_app_server::message_processor", body, DAEMON)

    def created(self, when: float, conn: int, tid: str) -> None:
        body = SPAN.format(m="thread/start", c=conn) + (
            ':app_server.thread_start.create_thread{otel.name="app_server.thread_start.'
            'create_thread"}: shell snapshot'
        )
        self.row(when, "codex_core::shell_snapshot", body, DAEMON, tid)

    def resumed(self, when: float, conn: int, tid: str) -> None:
        body = (
            f"composing running thread resume response thread_id={tid} request_id="
            f"ConnectionRequestId {{ connection_id: ConnectionId({conn}), "
            "request_id: Integer(12) }"
        )
        self.row(when, "codex_app_server::codex_message_processor", body, DAEMON, tid)


def state_db(p: Proc, tids: list[str]) -> None:
    """The threads table of p's directory, the threads created now, in order."""
    now = time.time()
    threads(p, [(tid, now + i / 1000, now + i / 1000) for i, tid in enumerate(tids)])


def threads(p: Proc, rows: list[tuple[str, float, float]]) -> None:
    """(id, created, updated) rows of p's directory added to the threads table
    of ~/.codex/state_5.sqlite (made with Codex 0.169's columns if need be)."""
    path = p.home / ".codex" / "state_5.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS threads (id TEXT PRIMARY KEY, rollout_path TEXT NOT NULL, "
        "created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, cwd TEXT NOT NULL, "
        "archived INTEGER NOT NULL DEFAULT 0, created_at_ms INTEGER, updated_at_ms INTEGER, "
        "thread_source TEXT, name TEXT)"
    )
    for tid, created, updated in rows:
        conn.execute(
            "INSERT INTO threads VALUES (?, '', ?, ?, ?, 0, ?, ?, 'user', NULL)",
            (tid, int(created), int(updated), str(p.cwd), int(created * 1000), int(updated * 1000)),
        )
    conn.commit()
    conn.close()


def found(p: Proc, pid: int, start: float, args: list[str]) -> Found:
    launch = parse_launch([*CODEX, *args])
    assert launch is not None
    return Found(pid=pid, launch=launch, start=start, cwd=str(p.cwd), pids=[pid])


def find(
    p: Proc, f: Found, claimed: Optional[dict[str, int]] = None
) -> tuple[Optional[str], Optional[str]]:
    codex = by_name("codex")
    assert codex is not None
    return codex.find_session_id(p.ctx(claimed), f)


def test_new_and_a_message_saves_the_new_thread(proc: Proc) -> None:
    logs, t = Logs(proc), proc.start
    logs.tui(proc.pid, t + 0.5)
    logs.request(t + 1, "thread/start", 2)
    logs.created(t + 2, 2, T1)  # first message
    logs.created(t + 4, 2, T2)  # /new, then a message
    state_db(proc, [T2, T1])  # T1 updated last: the store alone would answer T1
    assert find(proc, found(proc, proc.pid, t, [])) == (T2, "logs-db")


def test_resume_x_then_new_and_a_message_saves_the_new_thread(proc: Proc) -> None:
    logs, t = Logs(proc), proc.start
    logs.tui(proc.pid, t + 0.5)
    logs.request(t + 1, "thread/resume", 2)
    logs.resumed(t + 1.5, 2, T_OLD)
    logs.created(t + 3, 2, T2)
    state_db(proc, [T_OLD, T2])
    assert find(proc, found(proc, proc.pid, t, ["resume", T_OLD])) == (T2, "logs-db")


def test_resume_picker_to_an_older_thread_saves_the_older_one(proc: Proc) -> None:
    logs, t = Logs(proc), proc.start
    logs.tui(proc.pid, t + 0.5)
    logs.request(t + 1, "thread/start", 2)
    logs.created(t + 2, 2, T1)
    logs.request(t + 5, "thread/resume", 2)
    logs.resumed(t + 5.5, 2, T_OLD)
    state_db(proc, [T_OLD, T1])  # T1 is the newest thread of the directory
    assert find(proc, found(proc, proc.pid, t, [])) == (T_OLD, "logs-db")


def test_two_tuis_in_one_directory_keep_their_own_threads(proc: Proc) -> None:
    """B (started second) sends its message first: by time alone the threads swap."""
    logs, t = Logs(proc), proc.start
    other = proc.pid + 100000
    logs.tui(proc.pid, t + 0.5)
    logs.tui(other, t + 2.0)
    logs.request(t + 2.9, "thread/start", 2)  # A's connection (slow bootstrap)
    logs.request(t + 4.0, "thread/start", 5)  # B's
    logs.created(t + 6, 5, T3)  # B's message
    logs.created(t + 8, 2, T1)  # A's message
    state_db(proc, [T3, T1])
    a = found(proc, proc.pid, t, [])
    b = found(proc, other, t + 1.5, [])
    assert find(proc, b) == (T3, "logs-db")
    assert find(proc, a, {T3: other}) == (T1, "logs-db")
    assert find(proc, a) == (T1, "logs-db")


def test_a_thread_without_a_row_here_is_left_to_the_next_strategies(proc: Proc) -> None:
    """`/new` without a message (no `threads` row yet), or a pairing that lands
    on no thread of this directory: the daemon rows do not answer."""
    logs, t = Logs(proc), proc.start
    logs.tui(proc.pid, t + 0.5)
    logs.request(t + 1, "thread/resume", 2)
    logs.resumed(t + 1.5, 2, T_OLD)
    logs.created(t + 3, 2, T2)
    state_db(proc, [T_OLD])
    assert find(proc, found(proc, proc.pid, t, ["resume", T_OLD])) == (T_OLD, "args")


def test_in_process_rows_answer_and_show_no_conversation_yet(proc: Proc) -> None:
    logs, t = Logs(proc), proc.start
    logs.tui(proc.pid, t + 0.5)
    logs.row(t + 2, "codex_core::session", "turn", f"pid:{proc.pid}:u", T1)
    state_db(proc, [T1, T_OLD])
    assert find(proc, found(proc, proc.pid, t, ["resume", T_OLD])) == (T1, "logs-db")
    logs.row(t + 3, "codex_core::session", "new", f"pid:{proc.pid}:u", T2)  # /new
    assert find(proc, found(proc, proc.pid, t, ["resume", T_OLD])) == (None, FRESH)


def test_rows_of_an_earlier_process_with_the_same_pid_do_not_count(proc: Proc) -> None:
    logs, t = Logs(proc), proc.start
    logs.tui(proc.pid, t - 20)  # the PID's previous owner
    logs.request(t - 19, "thread/start", 2)
    logs.created(t - 18, 2, T1)
    state_db(proc, [T1])
    assert find(proc, found(proc, proc.pid, t, ["resume", T_OLD]))[1] != "logs-db"


def test_resume_by_name_saves_the_thread_it_names(proc: Proc) -> None:
    lines = [
        {"id": T1, "thread_name": "mynamed", "updated_at": "2026-12-01T23:07:21Z"},
        {"id": T2, "thread_name": "other", "updated_at": "2026-12-01T23:07:22Z"},
        {"id": T3, "thread_name": "mynamed", "updated_at": "2026-12-01T23:07:23Z"},
    ]
    proc.write(".codex/session_index.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    assert find(proc, found(proc, proc.pid, proc.start, ["resume", "mynamed"])) == (T3, "args")
    assert find(proc, found(proc, proc.pid, proc.start, ["resume", "nosuch"])) == (None, None)


def test_watch_files(proc: Proc) -> None:
    codex = by_name("codex")
    assert codex is not None
    base = proc.home / ".codex"
    before = codex.watch_files(str(proc.home))  # no Codex run yet: 0.169's names
    Logs(proc)
    state_db(proc, [])
    (base / "state_4.sqlite").write_text("")  # an older schema's file
    assert codex.watch_files(str(proc.home)) == before
    assert codex.watch_files(str(proc.home)) == [
        str(base / "state_5.sqlite"),
        str(base / "state_5.sqlite-wal"),
        str(base / "logs_2.sqlite"),
        str(base / "logs_2.sqlite-wal"),
        str(base / "session_index.jsonl"),
    ]


def test_a_plain_codex_without_a_thread_since_it_started_is_a_fresh_start(proc: Proc) -> None:
    """No thread of its directory was created or updated since it started: no
    message was sent, so restore starts `codex` afresh instead of skipping it."""
    state_db(proc, [])
    f = found(proc, proc.pid, proc.start, ["-m", "o3"])
    assert find(proc, f) == (None, "fresh")


def test_a_thread_since_the_start_or_a_resume_is_never_a_fresh_start(proc: Proc) -> None:
    tid = "019a2b3c-0000-7000-8000-000000000001"
    state_db(proc, [tid])
    assert find(proc, found(proc, proc.pid, proc.start, [])) == (tid, "threads-db")
    other = "019a2b3c-0000-7000-8000-000000000002"
    claimed = {tid: proc.pid + 1}  # the thread is another pane's: unsure, not fresh
    assert find(proc, found(proc, proc.pid, proc.start, []), claimed) == (None, None)
    assert find(proc, found(proc, proc.pid, proc.start, ["resume", other]))[1] != "fresh"


def test_resume_x_then_new_and_a_message_without_logs_saves_the_new_thread(proc: Proc) -> None:
    """No log rows to pair (the daemon's pairing could not answer): a thread of
    the directory created since `codex resume X` started outranks X."""
    x = "019a2b3c-0000-7000-8000-0000000000aa"
    path = proc.home / ".codex" / "state_5.sqlite"
    state_db(proc, [])
    conn = sqlite3.connect(path)
    old = int(proc.start) - 3600
    conn.execute(
        "INSERT INTO threads VALUES (?, '', ?, ?, ?, 0, ?, ?, 'user', NULL)",
        (x, old, int(time.time()), str(proc.cwd), old * 1000, int(time.time() * 1000)),
    )
    new = "019a2b3c-0000-7000-8000-0000000000bb"
    now = int(time.time())
    conn.execute(
        "INSERT INTO threads VALUES (?, '', ?, ?, ?, 0, ?, ?, 'user', NULL)",
        (new, now, now, str(proc.cwd), now * 1000, now * 1000),
    )
    conn.commit()
    conn.close()
    assert find(proc, found(proc, proc.pid, proc.start, ["resume", x])) == (new, "new-thread")


def test_a_tui_whose_rows_are_not_in_the_database_yet_still_pairs(
    proc: Proc, tmp_path: Path
) -> None:
    """Two live Codex TUIs in one directory; the second one's own rows have not
    reached the database yet (CI saw this): the running processes give the
    start order, and each keeps its own thread."""
    import shutil
    import subprocess

    from assistant_resurrect import procs

    binary = tmp_path / "bin" / "codex"
    binary.parent.mkdir()
    shutil.copy("/bin/sleep", binary)
    a_proc = subprocess.Popen([str(binary), "600"])
    time.sleep(0.3)
    b_proc = subprocess.Popen([str(binary), "601"])
    try:
        snap = procs.snapshot()
        a_start, b_start = snap.procs[a_proc.pid].start, snap.procs[b_proc.pid].start
        logs = Logs(proc)
        logs.tui(a_proc.pid, a_start + 0.5)  # B's TUI rows: not yet written
        logs.request(a_start + 1.0, "thread/start", 2)  # A's connection
        logs.request(b_start + 1.0, "thread/start", 5)  # B's
        logs.created(b_start + 2, 5, T3)  # B's message first
        logs.created(b_start + 3, 2, T1)  # then A's
        state_db(proc, [T1, T3])  # T3 updated last: the store alone would swap them
        a = found(proc, a_proc.pid, a_start, [])
        b = found(proc, b_proc.pid, b_start, [])
        assert find(proc, a) == (T1, "logs-db")
        assert find(proc, b) == (T3, "logs-db")
    finally:
        for p in (a_proc, b_proc):
            p.kill()
            p.wait()


def test_an_older_tui_switching_threads_does_not_shift_the_pairing(proc: Proc) -> None:
    """A TUI started long before (its connection opened then) picks an older
    thread with /resume while two new TUIs run in one folder: its connection is
    none of theirs (the realcli crash suite saw the two swapped)."""
    logs, t = Logs(proc), proc.start
    other = proc.pid + 100000
    old = proc.pid + 200000
    logs.tui(old, t - 100)
    logs.request(t - 99, "thread/start", 2)
    logs.tui(proc.pid, t + 0.5)
    logs.request(t + 1, "thread/start", 5)  # A's connection
    logs.tui(other, t + 3)
    logs.request(t + 4, "thread/start", 8)  # B's
    logs.request(t + 5, "thread/resume", 2)  # the old TUI's picker
    logs.resumed(t + 5.5, 2, T_OLD)
    logs.created(t + 6, 8, T3)  # B's message first
    logs.created(t + 7, 5, T1)  # then A's
    state_db(proc, [T1, T3])  # T3 updated last: the store alone would swap them
    assert find(proc, found(proc, proc.pid, t, [])) == (T1, "logs-db")
    assert find(proc, found(proc, other, t + 2.5, [])) == (T3, "logs-db")


def test_a_tuis_connected_row_names_its_connection(proc: Proc) -> None:
    """A TUI started well before (outside the quiet window) opens its
    connection late, after this one started (a slow start on a loaded
    machine): the counts no longer pair up, but each TUI's own "connected
    app-server platform" row, followed within moments by its connection's first
    thread request, still names its connection (CI under load saw two panes of
    one folder swapped)."""
    logs, t = Logs(proc), proc.start
    slow, other = proc.pid + 200000, proc.pid + 100000
    logs.row(t - 15, "codex_tui::updates", "Failed to update version", f"pid:{slow}:u")
    logs.tui(slow, t + 0.5)
    logs.request(t + 0.51, "thread/start", 2)  # the slow TUI's connection
    logs.tui(proc.pid, t + 3.0)
    logs.request(t + 3.01, "thread/start", 5)  # A's
    logs.tui(other, t + 7.0)
    logs.request(t + 7.01, "thread/start", 8)  # B's
    logs.created(t + 8, 8, T3)  # B's message first
    logs.created(t + 9, 5, T1)  # then A's
    state_db(proc, [T1, T3])  # T3 updated last: the store alone would swap them
    assert find(proc, found(proc, proc.pid, t, [])) == (T1, "logs-db")
    assert find(proc, found(proc, other, t + 5, [])) == (T3, "logs-db")


def test_another_users_codex_does_not_shift_the_pairing(
    proc: Proc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two Codex TUIs of this user in one directory and, started between them,
    another user's Codex (a shared machine): that one talks to its own daemon
    and logs, so it is not counted (it made the pairing fall back to the
    store, which swapped the two)."""
    import os
    import shutil
    import subprocess

    from assistant_resurrect import procs
    from assistant_resurrect.records import Proc as ProcRecord

    binary = tmp_path / "bin" / "codex"
    binary.parent.mkdir()
    shutil.copy("/bin/sleep", binary)
    a_proc = subprocess.Popen([str(binary), "600"])
    time.sleep(0.3)
    b_proc = subprocess.Popen([str(binary), "601"])
    stranger = 4_000_000  # above any pid_max: no real process has it
    real_snapshot = procs.snapshot
    try:
        snap = real_snapshot()
        a_start, b_start = snap.procs[a_proc.pid].start, snap.procs[b_proc.pid].start

        def with_stranger() -> procs.Snapshot:
            s = real_snapshot()
            s.add(ProcRecord(stranger, 1, "codex", a_start + 0.1, uid=os.getuid() + 4242))
            s._argv[stranger] = ["codex"]
            return s

        monkeypatch.setattr(procs, "snapshot", with_stranger)
        logs = Logs(proc)
        logs.tui(a_proc.pid, a_start + 0.5)
        logs.tui(b_proc.pid, b_start + 0.5)
        logs.request(a_start + 1.0, "thread/start", 2)  # A's connection
        logs.request(b_start + 1.0, "thread/start", 5)  # B's
        logs.created(b_start + 2, 5, T3)  # B's message first
        logs.created(b_start + 3, 2, T1)  # then A's
        state_db(proc, [T1, T3])  # T3 updated last: the store alone would swap them
        assert find(proc, found(proc, a_proc.pid, a_start, [])) == (T1, "logs-db")
        assert find(proc, found(proc, b_proc.pid, b_start, [])) == (T3, "logs-db")
    finally:
        for p in (a_proc, b_proc):
            p.kill()
            p.wait()


def _sleepers(tmp_path: Path, cwd: Path, argvs: list[list[str]]) -> list[Any]:
    """Stand-in Codex processes (a copy of sleep named codex) in `cwd`, started
    0.3 s apart, in order."""
    import shutil
    import subprocess

    binary = tmp_path / "bin" / "codex"
    binary.parent.mkdir(exist_ok=True)
    shutil.copy("/bin/sleep", binary)
    out = []
    for argv in argvs:
        out.append(subprocess.Popen([str(binary), *argv], cwd=cwd))
        time.sleep(0.3)
    return out


def test_two_tuis_in_one_directory_without_log_evidence_keep_their_own_threads(
    proc: Proc, tmp_path: Path
) -> None:
    """Two plain Codex TUIs of this user in one directory and no log database
    (the pairing has nothing): the threads table alone decides. Each TUI
    starts its thread as it connects, so the threads were created in the
    order the TUIs started, both after the second one started (a slow daemon
    under load); A spoke last, so its thread was updated last. By update
    time alone B, saved first, took A's thread and the panes swapped (a
    real-CLI run under load)."""
    from assistant_resurrect import procs

    a_proc, b_proc = _sleepers(tmp_path, proc.cwd, [["600"], ["601"]])
    try:
        snap = procs.snapshot()
        a_start, b_start = snap.procs[a_proc.pid].start, snap.procs[b_proc.pid].start
        threads(proc, [(T1, b_start + 1, b_start + 9), (T3, b_start + 2, b_start + 5)])
        a = found(proc, a_proc.pid, a_start, [])
        b = found(proc, b_proc.pid, b_start, [])
        assert find(proc, b) == (T3, "threads-db")
        assert find(proc, a) == (T1, "threads-db")
        assert find(proc, a, {T3: b_proc.pid}) == (T1, "threads-db")
        assert find(proc, b, {T1: a_proc.pid}) == (T3, "threads-db")
        # Counter-check: a third thread of the folder since then (a `/new`):
        # unsure which TUI made it, so the newest update wins as before.
        threads(proc, [(T2, b_start + 3, b_start + 10)])
        assert find(proc, b) == (T2, "threads-db")
    finally:
        for p in (a_proc, b_proc):
            p.kill()
            p.wait()


def test_a_resumed_tui_in_the_folder_leaves_the_pairing_out(proc: Proc, tmp_path: Path) -> None:
    """A `codex resume X` among them reopened an older thread: no pairing by
    order, the newest update decides as before."""
    from assistant_resurrect import procs

    a_proc, b_proc = _sleepers(tmp_path, proc.cwd, [["600"], ["resume", T_OLD]])
    try:
        snap = procs.snapshot()
        a_start, b_start = snap.procs[a_proc.pid].start, snap.procs[b_proc.pid].start
        # by order A would take T1; the newest update (T3) is taken instead
        threads(proc, [(T1, b_start + 1, b_start + 5), (T3, b_start + 2, b_start + 9)])
        assert find(proc, found(proc, a_proc.pid, a_start, [])) == (T3, "threads-db")
    finally:
        for p in (a_proc, b_proc):
            p.kill()
            p.wait()
