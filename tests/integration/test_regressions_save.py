"""Save regressions: two Codex panes in one directory never share a session ID,
and each gets the thread it created, even when the other pane's thread was
updated more recently."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from libtmux import Server

from assistant_resurrect.procs import read_proc
from tests.helpers import Agent, records, start_in_pane, wait_for

A = "01a213ba-aaaa-7aaa-8aaa-aaaaaaaaaaaa"
B = "01a213ba-bbbb-7bbb-8bbb-bbbbbbbbbbbb"


def _threads(home: Path, rows: list[tuple[str, str, float, float]]) -> None:
    path = home / ".codex" / "state_5.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT, created_at INTEGER,"
        " updated_at INTEGER, cwd TEXT, archived INTEGER, created_at_ms INTEGER,"
        " updated_at_ms INTEGER)"
    )
    for sid, cwd, created, updated in rows:
        conn.execute(
            "INSERT INTO threads VALUES (?, '', ?, ?, ?, 0, ?, ?)",
            (sid, int(created), int(updated), cwd, int(created * 1000), int(updated * 1000)),
        )
    conn.commit()
    conn.close()


def _two_codex_panes(server: Server, cwd: Path) -> tuple[float, float]:
    session = server.new_session("w", start_directory=str(cwd))
    first = session.windows[0].panes[0]
    second = session.new_window(start_directory=str(cwd)).panes[0]
    start_in_pane(first, "codex")
    rec1 = wait_for(lambda: records("codex"), what="first codex")[0]
    time.sleep(2.5)  # well apart, beyond the strategies' clock slack
    start_in_pane(second, "codex")
    wait_for(lambda: len(records("codex")) == 2, what="second codex")
    rec2 = next(r for r in records("codex") if r["pid"] != rec1["pid"])
    p1, p2 = read_proc(rec1["pid"]), read_proc(rec2["pid"])
    assert p1 is not None and p2 is not None
    return p1.start, p2.start


def test_two_codex_panes_in_one_directory_get_their_own_threads(
    server: Server, agent: Agent, home: Path, tmp_path: Path
) -> None:
    cwd = tmp_path / "repo"
    cwd.mkdir()
    start1, start2 = _two_codex_panes(server, cwd)
    now = time.time()
    # A: created by the first pane before the second started. B, the second pane's,
    # was updated last: "newest thread of this cwd" would give B to both panes.
    _threads(home, [(A, str(cwd), start1 + 0.5, now), (B, str(cwd), start2 + 0.5, now + 5)])
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    by_pane = {s["pane"]: s for s in agent.sidecar(layout)["sessions"]}
    assert by_pane["w:0.0"]["session_id"] == A
    assert by_pane["w:1.0"]["session_id"] == B
    assert {s["id_source"] for s in by_pane.values()} == {"threads-db"}


def test_one_thread_is_never_saved_for_two_panes(
    server: Server, agent: Agent, home: Path, tmp_path: Path
) -> None:
    cwd = tmp_path / "repo"
    cwd.mkdir()
    _, start2 = _two_codex_panes(server, cwd)
    _threads(home, [(B, str(cwd), start2 + 0.5, time.time())])
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    ids = [s["session_id"] for s in agent.sidecar(layout)["sessions"]]
    assert sorted(ids, key=str) == sorted([B, None], key=str)
    assert "no session ID found" in (agent.resurrect_dir / "assistant-save.log").read_text()
