"""The save hook's work while tmux prints the pane listing (issue 16): the
process table is read and every tmux server's panes are searched before the
listing is waited for (detect.prefetch), with the same answers and log lines
as a search after it; the installed command then ends without the
interpreter's teardown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import pytest

import assistant_resurrect.tmux as tmux_mod
from assistant_resurrect import detect, procs
from assistant_resurrect import save as save_mod
from assistant_resurrect.procs import Proc, Snapshot
from assistant_resurrect.settings import Settings
from tests.helpers import RUNTIME_SRC

ME = os.getuid()
BOB = ME + 4242
ID = "a1111111-2222-4333-8444-555555555555"
ID2 = "a2111111-2222-4333-8444-555555555555"


def snapshot(uid_of: Optional[dict[int, int]] = None) -> Snapshot:
    """A tmux server (5) with two panes (10: claude below bash; 20: bash -> su ->
    Bob's sh -> claude), and a claude below no tmux at all (31 below 30)."""
    uids = uid_of or {}
    argv = {
        5: ["tmux", "new-session"],
        10: ["bash"],
        11: ["claude", "--resume", ID],
        12: ["node", "/x/claude"],
        20: ["bash"],
        21: ["su", "-", "bob"],
        22: ["sh"],
        23: ["claude", "--resume", ID2],
        30: ["bash"],
        31: ["claude"],
    }
    tree = [
        (5, 1, "tmux: server"),
        (10, 5, "bash"),
        (11, 10, "claude"),
        (12, 11, "node"),
        (20, 5, "bash"),
        (21, 20, "su"),
        (22, 21, "sh"),
        (23, 22, "claude"),
        (30, 1, "bash"),
        (31, 30, "claude"),
    ]
    s = Snapshot(_argv={pid: list(a) for pid, a in argv.items()})
    for pid, ppid, comm in tree:
        s.add(Proc(pid=pid, ppid=ppid, comm=comm, start=float(pid), uid=uids.get(pid, ME)))
    return s


def test_prefetch_searches_the_panes_of_tmux_servers_only() -> None:
    snap = snapshot({22: BOB})
    detect.prefetch(snap)
    assert sorted(snap.detected) == [(10, ME), (20, ME)]


def test_prefetch_leaves_other_users_tmux_servers_alone() -> None:
    snap = snapshot({5: BOB})
    detect.prefetch(snap)
    assert snap.detected == {}
    found = detect.in_pane(10, snap)  # searched when asked for, as before
    assert found is not None and found.pid == 11


def test_in_pane_answers_from_the_prefetch_as_a_search_would() -> None:
    fresh_lines: list[str] = []
    fresh = [detect.in_pane(p, snapshot({22: BOB}), fresh_lines.append, "w:0.0") for p in (10, 20)]
    snap = snapshot({22: BOB})
    detect.prefetch(snap)
    lines: list[str] = []
    found = [detect.in_pane(p, snap, lines.append, "w:0.0") for p in (10, 20)]
    assert found == fresh
    assert found[0] is not None and (found[0].pid, found[0].pids) == (11, [11, 12])
    assert found[1] is None
    # the other user's assistant is logged when the pane is asked for, with its address
    assert lines == fresh_lines
    assert lines == [
        f"pane w:0.0: claude (pid 23) was started below pid 22, which runs as uid {BOB}, "
        f"not as you (uid {ME}); not saved"
    ]
    assert snap.detected == {}  # each answer is taken once


def test_in_pane_searches_again_after_the_prefetched_answer_was_taken() -> None:
    snap = snapshot()
    detect.prefetch(snap)
    first = detect.in_pane(10, snap)
    snap.procs[11].uid = BOB  # what a new search sees now
    lines: list[str] = []
    assert first is not None and first.pid == 11
    assert detect.in_pane(10, snap, lines.append, "w:0.0") is None
    assert "claude (pid 11) runs as uid" in lines[0]


def test_a_pane_whose_prefetch_failed_is_searched_by_in_pane(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = detect._search
    failed: list[int] = []

    def flaky(pane_pid: int, snap: Snapshot, me: int) -> Any:
        if pane_pid == 10 and not failed:
            failed.append(pane_pid)
            raise RuntimeError("boom")
        return real(pane_pid, snap, me)

    monkeypatch.setattr(detect, "_search", flaky)
    snap = snapshot()
    detect.prefetch(snap)
    assert failed == [10] and (10, ME) not in snap.detected and (20, ME) in snap.detected
    found = detect.in_pane(10, snap)
    assert found is not None and found.pid == 11


class FakeTmux:
    """What save() asks of a Tmux: the listing (recording what was done before it)."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.settings = Settings({})

    def list_panes(self) -> list[Any]:
        self.calls.append("list_panes")
        return []


def test_save_reads_processes_and_searches_panes_before_waiting_for_tmux(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setenv("TMUX_ASSISTANT_RESURRECT_DIR", str(tmp_path / "state"))
    real_prefetch = detect.prefetch

    def fake_snapshot() -> Snapshot:
        calls.append("snapshot")
        return snapshot()

    def recorded_prefetch(snap: Snapshot) -> None:
        calls.append("prefetch")
        real_prefetch(snap)

    real_warm = detect.warm

    def recorded_warm(snap: Snapshot, server_pid: Any = None) -> None:
        calls.append("warm")
        real_warm(snap, server_pid)

    monkeypatch.setattr(procs, "snapshot", fake_snapshot)
    monkeypatch.setattr(detect, "prefetch", recorded_prefetch)
    monkeypatch.setattr(detect, "warm", recorded_warm)
    rdir = tmp_path / "resurrect"
    rdir.mkdir(mode=0o700)
    layout = rdir / "tmux_resurrect_20260101T000000.txt"
    layout.write_text("")
    assert save_mod.save(FakeTmux(calls), str(layout)) == 0  # type: ignore[arg-type]
    assert calls == ["snapshot", "prefetch", "warm", "list_panes"]
    assert (rdir / "assistant_resurrect_20260101T000000.json").is_file()


def test_the_saves_listing_asks_tmux_for_no_foreground_command_nor_cwd() -> None:
    """tmux reads /proc for each pane's foreground command and cwd; only restore
    needs them. The save command prefetches the shorter listing, and panes
    parsed from it read "" there."""
    script = """
import sys
from assistant_resurrect import cli
import assistant_resurrect.save, assistant_resurrect.tmux

asked = []
class T:
    def __init__(self, **kw): pass
    def prefetch_panes(self, fields=None): asked.append(fields)

assistant_resurrect.tmux.Tmux = T
assistant_resurrect.save.save = lambda tmux, layout: 0
assert cli.main(["-L", "x", "save", "a"]) == 0
print(repr(asked))
"""
    env = {**os.environ, "PYTHONPATH": str(RUNTIME_SRC)}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == repr([tmux_mod.SAVE_FIELDS])
    assert "pane_current_command" not in tmux_mod.SAVE_FIELDS
    assert "pane_current_path" not in tmux_mod.SAVE_FIELDS
    values = [f"v-{f}" for f in tmux_mod.SAVE_FIELDS]
    values[tmux_mod.SAVE_FIELDS.index("pane_pid")] = "42"
    (pane,) = tmux_mod.Tmux._panes([values], tmux_mod.SAVE_FIELDS)
    assert (pane.pane_pid, pane.current_command, pane.current_path) == (42, "", "")
    assert pane.session_name == "v-session_name" and pane.saved_prompt.startswith("v-@")
    full = [f"v-{f}" for f in tmux_mod.PANE_FIELDS]
    full[tmux_mod.PANE_FIELDS.index("pane_pid")] = "42"
    (pane,) = tmux_mod.Tmux._panes([full], tmux_mod.PANE_FIELDS)
    assert pane.current_command == "v-pane_current_command"


def test_the_installed_save_command_ends_without_teardown(tmp_path: Path) -> None:
    """main() without argv (the console script) ends the process once the save
    returned: output flushed, exit status kept, no teardown (atexit) run;
    main(argv) returns the status to its caller."""
    script = """
import atexit, sys
from assistant_resurrect import cli
import assistant_resurrect.save, assistant_resurrect.tmux

class T:
    def __init__(self, **kw): pass
    def prefetch_panes(self, fields=None): pass

def save(tmux, layout):
    sys.stdout.write("saved " + layout)
    return 3

assistant_resurrect.tmux.Tmux = T
assistant_resurrect.save.save = save
atexit.register(lambda: sys.stderr.write("teardown"))
assert cli.main(["save", "a"]) == 3
sys.argv = ["assistant-resurrect", "save", "b"]
cli.main()
sys.stdout.write("not reached")
"""
    env = {**os.environ, "PYTHONPATH": str(RUNTIME_SRC)}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "saved asaved b", "")
