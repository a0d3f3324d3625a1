"""Typing the planned lines: all panes at once, each as soon as its shell is ready.

A pane that got its command is marked (pane option `@assistant-resurrect-restored`)
so a second restore never types twice. The mark is set to `typing:ID` before
typing and to `ID` after: a restore killed in between leaves a mark the next run
checks against the screen (never lost, never typed twice). Rounds run under a
lock, so concurrent restores type once.
"""

from __future__ import annotations

import os
import time

from assistant_resurrect import procs
from assistant_resurrect.fileio import locked
from assistant_resurrect.guards import guard
from assistant_resurrect.log import Log
from assistant_resurrect.planner import Plan
from assistant_resurrect.tmux import Tmux

MARKER = "@assistant-resurrect-restored"
RESTORE_LOCK = ".assistant-resurrect-restore.lock"
TYPING = "typing:"  # marker prefix while a command is being typed
POLL = 0.1


def type_when_ready(
    tmux: Tmux, todo: list[Plan], deadline: float, allowed: frozenset[str], log: Log
) -> int:
    """Type each plan's command as soon as its pane is ready, all panes at once.

    Each round takes one pane listing and one process snapshot, re-checks every
    waiting pane's guards, and types into those whose shell shows its prompt.
    Returns how many were typed.
    """
    waiting = {p.pane.pane_id: p for p in todo if p.pane is not None}
    typed = 0
    reasons: dict[str, str] = {}
    lock_path = tmux.settings.resurrect_dir / RESTORE_LOCK
    os.makedirs(lock_path.parent, exist_ok=True)
    while waiting:
        with locked(lock_path):  # concurrent restores: one round at a time
            typed += _type_round(tmux, waiting, allowed, log, reasons)
        if not waiting:
            break
        if time.monotonic() >= deadline:
            for pane_id, p in waiting.items():
                log(f"skip {p.address}: not ready in time ({reasons.get(pane_id)})")
            break
        time.sleep(POLL)
    return typed


def _type_round(
    tmux: Tmux,
    waiting: dict[str, Plan],
    allowed: frozenset[str],
    log: Log,
    reasons: dict[str, str],
) -> int:
    """One round under the restore lock: fresh panes (with the markers other
    runs set), fresh processes, guards, then type into the ready panes."""
    typed = 0
    by_id = {pane.pane_id: pane for pane in tmux.list_panes()}
    snap = procs.snapshot()
    for pane_id, p in list(waiting.items()):
        assert p.session is not None and p.text is not None
        fresh = by_id.get(pane_id)
        sid = str(p.session.session_id)
        tool = p.session.tool
        # A restore killed while typing into this pane: if the command reached
        # the pane (its session ID is on screen) it is not typed again; if it
        # still sits on the prompt line, unentered, it gets its Enter.
        if fresh is not None and fresh.restored_marker == TYPING + sid:
            screen = tmux.screen_lines(pane_id)  # joined: a wrapped ID still reads whole
            if any(sid in line for line in screen):
                if sid in screen[-1] and guard(fresh, snap, allowed) is None:
                    tmux.send_enter(pane_id)
                    log(
                        f"restored {tool} in {p.address} ({pane_id}): "
                        "pressed Enter on the line an interrupted run typed"
                    )
                    typed += 1
                else:
                    log(f"skip {p.address}: an interrupted run already typed its command")
                tmux.set_pane_option(pane_id, MARKER, sid)
                del waiting[pane_id]
                continue
        if fresh is None or fresh.restored_marker == sid:
            log(
                f"skip {p.address}: "
                + ("the pane went away" if fresh is None else "already restored by another run")
            )
            del waiting[pane_id]
            continue
        reason = guard(fresh, snap, allowed)
        if reason is None and not tmux.capture(pane_id).strip():
            reason = "no shell prompt yet"
        if reason is not None:
            reasons[pane_id] = reason
            continue
        tmux.set_pane_option(pane_id, MARKER, TYPING + sid)
        tmux.send_literal(pane_id, p.text)
        tmux.send_enter(pane_id)
        tmux.set_pane_option(pane_id, MARKER, sid)
        log(f"restored {tool} in {p.address} ({pane_id}): {p.log_text}")
        typed += 1
        del waiting[pane_id]
    return typed
