"""Find the assistant session running in a pane: the outermost one."""

from __future__ import annotations

from assistant_resurrect import assistants
from assistant_resurrect.assistants.base import Assistant, Launch
from assistant_resurrect.procs import Snapshot
from assistant_resurrect.records import Record

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional


class Detected(Record):
    _fields = ("assistant", "launch", "pid", "pids")
    __slots__ = _fields

    def __init__(self, assistant: Assistant, launch: Launch, pid: int, pids: list[int]) -> None:
        self.assistant = assistant
        self.launch = launch
        self.pid = pid
        self.pids = pids  # pid and the descendants running the same tool (wrappers, launchers)


def in_pane(pane_pid: int, snap: Snapshot) -> Optional[Detected]:
    """Breadth first from the pane's process: the first assistant that is a session.

    Helper invocations (`codex app-server`, `opencode run`) are not sessions and
    nothing below them is looked at; assistants below the session (one
    assistant started by another) are part of it, not sessions of their own.
    """
    queue = [pane_pid]
    while queue:
        pid = queue.pop(0)
        children = sorted(snap.children.get(pid, ()))
        found = assistants.match(snap.argv(pid)) if pid in snap.procs else None
        if found is not None:
            assistant, launch = found
            if not assistant.is_session(launch.args):
                continue  # a helper: skip its subtree
            same = [pid]
            for sub, _ in snap.walk(pid):
                if sub != pid:
                    m = assistants.match(snap.argv(sub))
                    if m is not None and m[0] is assistant:
                        same.append(sub)
            return Detected(assistant, launch, pid, same)
        queue.extend(children)
    return None


def any_assistant(pane_pid: int, snap: Snapshot) -> Optional[str]:
    """The name of any assistant process (session or helper) under the pane."""
    for pid, _ in snap.walk(pane_pid):
        m = assistants.match(snap.argv(pid))
        if m is not None:
            return m[0].name
    return None
