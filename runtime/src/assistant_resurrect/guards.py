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
    if pane.in_mode:
        return "it is in copy or view mode (keys would go to the mode, not the shell)"
    if pane.synchronized:
        return (
            "its window has synchronize-panes on (the line would be typed into every "
            "pane of the window)"
        )
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
        # The pane's own process is in front (or the terminal cannot be read):
        # it must itself be an interactive shell, not `bash -c '...; read answer'`.
        argv = snap.argv(pane.pane_pid)
        if argv and not interactive_shell(argv):
            shown = " ".join(argv)[:60]
            return f"its own process is {shown!r}, a program, not an interactive shell"
        return None
    leader = snap.procs.get(group)
    if leader is not None:
        argv = snap.argv(leader.pid)
        name = command.shell_name(argv[0]) if argv else leader.comm
        if name in allowed and interactive_shell(argv) and not snap.children.get(leader.pid):
            return None
        shown = " ".join(argv)[:60] if argv else leader.comm
        return f"its foreground job is {shown!r} (pid {leader.pid}), not the pane's shell"
    return f"its foreground job (process group {group}) is not the pane's shell"


# Options of bash, zsh and fish that take the next word as their value (so that
# word is no script file); fish's -C is its --init-command.
_VALUE_OPTIONS = frozenset(("-o", "+o", "-O", "+O", "--rcfile", "--init-file", "--init-command"))


def interactive_shell(argv: list[str]) -> bool:
    """Does this shell command line start an interactive shell (no `-c`, no
    script file, no commands from stdin with `-s`)? `bash`, `-bash`, `zsh -f`,
    `fish --no-config`, `dash -i`, `bash --rcfile F` are; `bash -c '...'`,
    `bash -lc ...`, `sh script.sh`, `fish --command=...` are not."""
    fish = command.shell_name(argv[0]) == "fish" if argv else False
    args = iter(argv[1:])
    for arg in args:
        if arg in _VALUE_OPTIONS or (fish and arg == "-C"):
            next(args, None)
        elif arg == "--":
            return next(args, None) is None
        elif arg.startswith("--"):
            if arg == "--command" or arg.startswith("--command="):
                return False
        elif arg[:1] in ("-", "+") and len(arg) > 1:
            if arg[0] == "-" and ("c" in arg[1:] or "s" in arg[1:]):
                return False
        else:
            return False  # a script file (or its arguments)
    return True
