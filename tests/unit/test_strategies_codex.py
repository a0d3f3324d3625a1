"""Codex CLI: one test per session-ID strategy (args, threads-db, rollouts,
session-tags), plus `resume --last`, `-C DIR` and the app-server helpers."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant_resurrect import assistants
from tests.unit.strategy_helpers import Proc, make_proc

T_ARGS = "01a213ba-0000-7000-8000-00000000a0a0"
T_NEW = "01a213ba-1111-7111-8111-111111111111"
T_OLD = "01a213ba-2222-7222-8222-222222222222"
T_ELSE = "01a213ba-3333-7333-8333-333333333333"
T_ARCH = "01a213ba-4444-7444-8444-444444444444"
T_SUB = "01a213ba-5555-7555-8555-555555555555"
T_DIR = "01a213ba-6666-7666-8666-666666666666"
CODEX = ["node", "/usr/lib/node_modules/@openai/codex/bin/codex.js"]


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    yield from make_proc(tmp_path, monkeypatch)


def make_state_db(
    p: Proc, rows: list[tuple[str, str, float, int, str]], n: int = 5, drop: str = ""
) -> Path:
    """threads(id, cwd, created/updated seconds + _ms, archived, thread_source)."""
    path = p.home / ".codex" / f"state_{n}.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = [
        "id TEXT PRIMARY KEY",
        "rollout_path TEXT",
        "created_at INTEGER",
        "updated_at INTEGER",
        "cwd TEXT",
        "archived INTEGER",
        "created_at_ms INTEGER",
        "updated_at_ms INTEGER",
        "thread_source TEXT",
    ]
    cols = [c for c in cols if not (drop and c.startswith(drop + " "))]
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"CREATE TABLE threads ({', '.join(cols)})")
    for sid, cwd, when, archived, source in rows:
        values = {
            "id": sid,
            "rollout_path": "",
            "created_at": int(when),
            "updated_at": int(when),
            "cwd": cwd,
            "archived": archived,
            "created_at_ms": int(when * 1000),
            "updated_at_ms": int(when * 1000),
            "thread_source": source,
        }
        values.pop(drop, None)
        conn.execute(
            f"INSERT INTO threads ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            list(values.values()),
        )
    conn.commit()
    conn.close()
    return path


def rollout(
    p: Proc, sid: str, cwd: Path, source: object = "cli", before_start: bool = False
) -> Path:
    t = time.localtime()
    rel = (
        f".codex/sessions/{t.tm_year:04d}/{t.tm_mon:02d}/{t.tm_mday:02d}/"
        f"rollout-2026-11-25T17-22-35-{sid}.jsonl"
    )
    meta = {
        "timestamp": "x",
        "type": "session_meta",
        "payload": {"id": sid, "session_id": sid, "cwd": str(cwd), "source": source},
    }
    return p.write(rel, json.dumps(meta) + "\n" + '{"type":"event"}\n', before_start)


def test_args_resume_id(proc: Proc) -> None:
    # (a thread of this directory made before it started does not outrank it)
    make_state_db(proc, [(T_NEW, str(proc.cwd), proc.start - 600, 0, "user")])
    assert proc.find("codex", [*CODEX, "-m", "o3", "resume", T_ARGS]) == (T_ARGS, "args")


def test_threads_db_thread_of_this_cwd_since_start(proc: Proc) -> None:
    now = time.time()
    make_state_db(
        proc,
        [
            (T_OLD, str(proc.cwd), proc.start - 600, 0, "user"),
            (T_NEW, str(proc.cwd), now, 0, "user"),
            (T_ELSE, "/elsewhere", now + 1, 0, "user"),
            (T_ARCH, str(proc.cwd), now + 2, 1, "user"),
            (T_SUB, str(proc.cwd), now + 3, 0, "subagent"),
        ],
    )
    make_state_db(proc, [(T_ELSE, str(proc.cwd), now, 0, "user")], n=4)  # older schema file
    rollout(proc, T_OLD, proc.cwd)  # the rollouts would say otherwise
    assert proc.find("codex", [*CODEX]) == (T_NEW, "threads-db")


def test_threads_db_resume_last_without_new_message(proc: Proc) -> None:
    make_state_db(
        proc,
        [
            (T_ELSE, str(proc.cwd), proc.start - 900, 0, "user"),
            (T_OLD, str(proc.cwd), proc.start - 600, 0, "user"),
        ],
    )
    assert proc.find("codex", [*CODEX, "resume", "--last"]) == (T_OLD, "threads-db")
    # a plain start does not pick an old thread: nothing since it started, so it
    # had no conversation yet (a fresh start)
    assert proc.find("codex", [*CODEX]) == (None, "fresh")


def test_threads_db_follows_cd_option(proc: Proc) -> None:
    other = proc.cwd / "sub"
    other.mkdir()
    make_state_db(
        proc,
        [
            (T_NEW, str(proc.cwd), time.time(), 0, "user"),
            (T_DIR, str(other), time.time() - 1, 0, "user"),
        ],
    )
    assert proc.find("codex", [*CODEX, "-C", "sub"]) == (T_DIR, "threads-db")


def test_threads_db_schema_drift_skips_with_one_log_line(proc: Proc) -> None:
    make_state_db(proc, [(T_NEW, str(proc.cwd), time.time(), 0, "user")], drop="archived")
    assert proc.find("codex", [*CODEX]) == (None, None)
    assert len([line for line in proc.log_lines if "archived" in line]) == 1


def test_rollouts(proc: Proc) -> None:
    rollout(proc, T_OLD, proc.cwd, before_start=True)
    rollout(proc, T_ELSE, Path("/elsewhere"))
    rollout(proc, T_SUB, proc.cwd, source={"subagent": {"parent": T_NEW}})
    rollout(proc, T_NEW, proc.cwd)
    assert proc.find("codex", [*CODEX]) == (T_NEW, "rollouts")


def test_session_tags(proc: Proc) -> None:
    lines = [
        {"pid": proc.pid, "session": T_OLD, "ts": proc.start - 50},  # earlier owner of the PID
        {"pid": proc.pid + 1, "session": T_ELSE},
        {"pid": proc.pid, "session": T_NEW},
    ]
    proc.write(".codex/session-tags.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    assert proc.find("codex", [*CODEX]) == (T_NEW, "session-tags")


def test_app_server_helpers_are_not_sessions() -> None:
    codex = assistants.by_name("codex")
    assert codex is not None
    found = assistants.match(
        [
            "/home/u/.codex/packages/app-server-daemon/releases/0.169.0/bin/codex",
            "app-server",
            "--listen",
            "unix://",
        ]
    )
    assert found is not None and not codex.is_session(found[1].args)
    found = assistants.match([*CODEX, "resume", "--last"])
    assert found is not None and codex.is_session(found[1].args)
    assert codex.cli_args(["-m", "o3", "resume", "--last"]) == ["-m", "o3"]


def test_fork_is_saved_with_the_new_thread(proc: Proc) -> None:
    make_state_db(
        proc,
        [
            (T_OLD, str(proc.cwd), proc.start - 600, 0, "user"),
            (T_NEW, str(proc.cwd), time.time(), 0, "user"),
        ],
    )
    assert proc.find("codex", [*CODEX, "fork", T_OLD]) == (T_NEW, "threads-db")
    codex = assistants.by_name("codex")
    assert codex is not None
    assert codex.is_session(["fork", "--last"])
    assert codex.cli_args(["-m", "o3", "fork", T_OLD]) == ["-m", "o3"]
    for helper in (["doctor"], ["agents"], ["update"], ["archive", T_OLD], ["exec", "hi"]):
        assert not codex.is_session(helper), helper
