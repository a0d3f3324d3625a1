"""The pane guards: may anything be typed into this pane right now?

Checked when restore plans and again at the moment of typing (typist.py).
"""

from __future__ import annotations

from typing import Optional

from assistant_resurrect import command, detect, procs
from assistant_resurrect.tmux import Pane


def guard(pane: Pane, snap: procs.Snapshot, allowed: frozenset[str]) -> Optional[str]:
    """Why nothing may be typed into this pane now (None: it may)."""
    if pane.dead:
        return "the pane is dead"
    shell = command.shell_name(pane.current_command)
    if shell not in allowed:
        return f"its foreground program is {pane.current_command!r}, not a shell"
    busy = foreground_job(pane, snap, allowed)
    if busy:
        return busy
    running = detect.any_assistant(pane.pane_pid, snap)
    if running:
        return f"{running} already runs in it"
    return None


def foreground_job(pane: Pane, snap: procs.Snapshot, allowed: frozenset[str]) -> Optional[str]:
    """Why the terminal's foreground is not the pane's interactive shell, if it is not.

    A shell name in front is not enough: `bash -c '...; read answer'` or a shell
    script waiting on stdin is a program, not a prompt. The foreground process
    group must be the pane shell's own, or an interactive shell (no script, no
    -c) started from it that runs nothing itself. (Where the terminal's
    foreground group cannot be read, only the name check above applies.)
    """
    group = snap.foreground_group(pane.pane_pid)
    if group <= 0 or group == pane.pane_pid:
        return None
    leader = snap.procs.get(group)
    if leader is not None:
        argv = snap.argv(leader.pid)
        name = command.shell_name(argv[0]) if argv else leader.comm
        interactive = all(a.startswith("-") and a not in ("-c", "-s") for a in argv[1:])
        if name in allowed and interactive and not snap.children.get(leader.pid):
            return None
        shown = " ".join(argv)[:60] if argv else leader.comm
        return f"its foreground job is {shown!r} (pid {leader.pid}), not the pane's shell"
    return f"its foreground job (process group {group}) is not the pane's shell"
