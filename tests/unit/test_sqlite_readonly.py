"""The tools' SQLite stores are read without creating anything beside them.

A read-only open of a WAL database whose `-shm` is missing makes SQLite
create an empty `-shm` and `-wal` next to it and leave them there; saved as
root, those files would even lock the tool out of its own store.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from assistant_resurrect.assistants import _sqlite


def _rows(path: Path, logs: list[str]) -> object:
    return _sqlite.read(
        str(path),
        "session",
        ["id"],
        lambda conn, _cols: sorted(r[0] for r in conn.execute("SELECT id FROM session")),
        logs.append,
        "test",
    )


def _store(folder: Path, journal: str = "wal") -> Path:
    db = folder / "store.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.execute("CREATE TABLE session (id TEXT)")
    conn.execute("INSERT INTO session VALUES ('a')")
    conn.commit()
    conn.close()
    return db


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_closed_store_is_read_and_nothing_is_created(tmp_path: Path, journal: str) -> None:
    db = _store(tmp_path, journal)
    before = sorted(os.listdir(tmp_path))
    logs: list[str] = []
    assert _rows(db, logs) == ["a"]
    assert sorted(os.listdir(tmp_path)) == before == ["store.db"]
    assert logs == []


def test_a_store_open_in_its_tool_is_read_through_its_wal(tmp_path: Path) -> None:
    db = _store(tmp_path)
    writer = sqlite3.connect(db)
    try:
        writer.execute("INSERT INTO session VALUES ('b')")
        writer.commit()
        before = sorted(os.listdir(tmp_path))
        assert {"store.db-wal", "store.db-shm"} <= set(before)
        assert _rows(db, []) == ["a", "b"]
        assert sorted(os.listdir(tmp_path)) == before
    finally:
        writer.close()


def test_a_wal_with_content_but_no_shm_is_read_from_a_copy(tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    db = _store(live)
    writer = sqlite3.connect(db)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO session VALUES ('b')")
    writer.commit()
    # A crash leaves the WAL (with the committed row) and no -shm.
    left = tmp_path / "left"
    left.mkdir()
    shutil.copyfile(db, left / "store.db")
    shutil.copyfile(str(db) + "-wal", left / "store.db-wal")
    writer.close()
    assert os.path.getsize(left / "store.db-wal") > 0
    before = sorted(os.listdir(left))
    assert _rows(left / "store.db", []) == ["a", "b"]
    assert sorted(os.listdir(left)) == before == ["store.db", "store.db-wal"]
