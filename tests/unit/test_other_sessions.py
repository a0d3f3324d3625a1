"""_files.other_sessions: the other live sessions of a tool that strategies
weigh before taking a store's newest session (Pi, Crush, Droid, Cursor):
this user's only, sessions only, in the same place only."""

from __future__ import annotations

from assistant_resurrect.assistants import _files, by_name
from assistant_resurrect.assistants.base import Context, Found, parse_launch
from assistant_resurrect.procs import Snapshot
from assistant_resurrect.records import Proc

ME, OTHER = 1000, 1001


def snapshot(rows: list[tuple[int, int, list[str], float]]) -> Snapshot:
    snap = Snapshot()
    for pid, uid, argv, start in rows:
        snap.add(Proc(pid, 1, "pi", start, uid=uid))
        snap._argv[pid] = argv
    return snap


def starts(snap: Snapshot, same_place: bool = True) -> list[float]:
    pi = by_name("pi")
    assert pi is not None
    launch = parse_launch(["pi"])
    assert launch is not None
    found = Found(pid=10, launch=launch, start=1.0, cwd="/w", pids=[10], pane_pid=9)
    ctx = Context(snap=snap, log=lambda _: None, home="/home/u")
    return _files.other_sessions(ctx, found, pi, ("pi",), lambda pid, _: same_place)


def test_only_this_users_sessions_count() -> None:
    snap = snapshot(
        [
            (10, ME, ["pi"], 1.0),  # found itself
            (11, ME, ["pi"], 2.0),  # this user's other Pi
            (12, OTHER, ["pi"], 3.0),  # another user's Pi in the same folder
            (13, ME, ["pi", "--version"], 4.0),  # a helper, not a session
            (14, ME, ["vim"], 5.0),  # not Pi
        ]
    )
    assert starts(snap) == [2.0]


def test_only_the_same_place_counts() -> None:
    assert starts(snapshot([(10, ME, ["pi"], 1.0), (11, ME, ["pi"], 2.0)]), False) == []
