"""Find the assistant session running in a pane: the outermost one.

Only the user's own sessions: an assistant whose real uid is not the agent's
(the tmux server's user, who would run it again on restore), or that was
started below another user's process (root's pane running `su - bob`, `runuser
-u bob`, `sudo -u bob`), is not a session to save. Its arguments, program and
files were chosen by someone else; its subtree is not searched either. The
caller learns of it through `log` (one line per pane).
"""

from __future__ import annotations

import os

from assistant_resurrect import assistants
from assistant_resurrect.assistants.base import Assistant, Launch
from assistant_resurrect.procs import Snapshot
from assistant_resurrect.records import Record

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Callable, Optional

    # (tool name, pid, (pid of the other user's process, its uid))
    Foreign = tuple[str, int, tuple[int, int]]


class Detected(Record):
    _fields = ("assistant", "launch", "pid", "pids")
    __slots__ = _fields

    def __init__(self, assistant: Assistant, launch: Launch, pid: int, pids: list[int]) -> None:
        self.assistant = assistant
        self.launch = launch
        self.pid = pid
        self.pids = pids  # pid and the descendants running the same tool (wrappers, launchers)


def foreign_owner(pid: int, pane_pid: int, snap: Snapshot, uid: int) -> Optional[tuple[int, int]]:
    """(pid, real uid) of the first process from `pid` up to the pane's own that
    does not run as `uid` (uid -1: it could not be read), or None when all do."""
    seen = set()
    while pid not in seen:
        seen.add(pid)
        owner = snap.uid(pid)
        if owner != uid:
            return pid, owner
        proc = snap.procs.get(pid)
        if pid == pane_pid or proc is None:
            return None
        pid = proc.ppid
    return None


def in_pane(
    pane_pid: int,
    snap: Snapshot,
    log: Optional[Callable[[str], None]] = None,
    where: str = "",
    uid: Optional[int] = None,
) -> Optional[Detected]:
    """Breadth first from the pane's process: the first assistant that is a session.

    Helper invocations (`codex app-server`, `opencode run`) are not sessions and
    nothing below them is looked at; assistants below the session (one
    assistant started by another) are part of it, not sessions of their own.
    An assistant that runs as another user than `uid` (default: this process's
    real uid), or below another user's process, is not a session either: its
    subtree is skipped and `log` is told, naming the pane as `where`.
    """
    me = os.getuid() if uid is None else uid
    memo = snap.detected.pop((pane_pid, me), None)
    found, foreign = _search(pane_pid, snap, me) if memo is None else memo
    if log is not None:
        for tool, pid, other in foreign:
            log(foreign_message(where, tool, pid, other, me))
    return found


def _search(pane_pid: int, snap: Snapshot, me: int) -> tuple[Optional[Detected], list[Foreign]]:
    """`in_pane`'s answer, and (tool, pid, (pid, uid)) of each assistant skipped
    as another user's, in the order met."""
    foreign: list[Foreign] = []
    queue = [pane_pid]
    while queue:
        pid = queue.pop(0)
        children = sorted(snap.children.get(pid, ()))
        found = assistants.match(snap.argv(pid)) if pid in snap.procs else None
        if found is not None:
            assistant, launch = found
            if not assistant.is_session(launch.args):
                continue  # a helper: skip its subtree
            other = foreign_owner(pid, pane_pid, snap, me)
            if other is not None:
                foreign.append((assistant.name, pid, other))
                continue  # another user's: neither it nor anything below it
            same = [pid]
            for sub, _ in snap.walk(pid):
                if sub != pid:
                    m = assistants.match(snap.argv(sub))
                    if m is not None and m[0] is assistant:
                        same.append(sub)
            return Detected(assistant, launch, pid, same), foreign
        queue.extend(children)
    return None, foreign


def prefetch(snap: Snapshot, uid: Optional[int] = None) -> None:
    """Search, ahead of `in_pane`, the panes of every tmux server of `uid` in the
    snapshot (the children of the user's processes named `tmux...`); each
    answer is kept in `snap.detected` until in_pane asks for that pane. The save
    hook runs this while tmux is still printing the pane listing: the command
    lines and uids of the panes' processes are read without waiting for it. A
    pane of another of the user's servers is searched for nothing (other users'
    servers are not searched); a failure here only leaves the pane to in_pane,
    which then searches it (and fails) as before."""
    me = os.getuid() if uid is None else uid
    for server, proc in snap.procs.items():
        if not proc.comm.startswith("tmux") or snap.uid(server) != me:
            continue
        for pane_pid in snap.children.get(server, ()):
            try:
                snap.detected[(pane_pid, me)] = _search(pane_pid, snap, me)
            except Exception:  # in_pane searches this pane again
                continue


def warm(snap: Snapshot, server_pid: Optional[int] = None) -> None:
    """Read now what the save will read of each assistant `prefetch` found (its
    environment and cwd, kept in the snapshot): the save runs this while tmux
    still prints the listing. Only the panes of the server `server_pid` when it
    is known (another server's assistants are not saved by this save)."""
    mine = set(snap.children.get(server_pid, ())) if server_pid else None
    for (pane_pid, _uid), (found, _foreign) in list(snap.detected.items()):
        if found is None or (mine is not None and pane_pid not in mine):
            continue
        snap.environ(found.pid)
        snap.cwd(found.pid)


def foreign_message(where: str, tool: str, pid: int, other: tuple[int, int], me: int) -> str:
    """The save log's line for an assistant that is not the user's own."""
    by, owner = other
    shown = "an unknown uid" if owner < 0 else f"uid {owner}"
    if by == pid:
        return f"pane {where}: {tool} (pid {pid}) runs as {shown}, not as you (uid {me}); not saved"
    return (
        f"pane {where}: {tool} (pid {pid}) was started below pid {by}, which runs as "
        f"{shown}, not as you (uid {me}); not saved"
    )


def any_assistant(pane_pid: int, snap: Snapshot) -> Optional[str]:
    """The name of any assistant process (session or helper) under the pane."""
    for pid, _ in snap.walk(pane_pid):
        m = assistants.match(snap.argv(pid))
        if m is not None:
            return m[0].name
    return None
