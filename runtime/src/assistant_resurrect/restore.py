"""`restore` (post-restore-all) and `restore --pending`: the orchestration.

For each saved entry the planner (planner.py) decides the exact line or why
none, behind the pane guards (guards.py); the typist (typist.py) types the
lines as each shell becomes ready, re-checking the guards, marking each pane so
that nothing is ever typed twice. `@assistant-resurrect-start` picks when:
`attached` (the default) types at once only into sessions a client shows and
leaves the others waiting for one (attach.py, pending.py); `immediate` types
into every pane at once; `prompt` types into every pane at once too, but never
presses Enter (the user does).

Restore runs from tmux-resurrect's post-restore-all hook, which shows whatever
the hook prints over the user's pane: without --dry-run nothing is printed, all
goes to `assistant-restore.log`. One pane's failure (a tmux error, a plan that
raises) is logged with the pane and never stops the others.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from assistant_resurrect import pending, store
from assistant_resurrect.attach import arm_waiting, run_pending, split_by_client, watch_typed
from assistant_resurrect.errors import AgentError, SidecarError
from assistant_resurrect.log import Log
from assistant_resurrect.planner import Plan, make_plans
from assistant_resurrect.tmux import Tmux
from assistant_resurrect.typist import type_when_ready

READY_TIMEOUT = 15.0  # seconds, for all panes together


def restore(
    tmux: Tmux,
    layout: Optional[str],
    dry_run: bool,
    out: Callable[[str], None] = print,
    timeout: float = READY_TIMEOUT,
    note: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> int:
    """Plan every saved entry; type now into panes whose session a client shows
    (all of them in `immediate` mode); the others wait for a client (pending.py).
    --dry-run prints the lines to `out` and, on `note` (stderr), which would wait."""
    settings = tmux.settings
    log = Log(None if dry_run else settings.resurrect_dir / "assistant-restore.log", echo=False)
    try:
        path, plans = make_plans(tmux, layout, log)
    except Exception as exc:
        log(f"restore stopped, no pane touched: {exc}")
        raise
    if path is None:
        message = "nothing to restore: no assistant sessions were saved for this layout"
        log(message)
        if dry_run:
            out(message)
        return 0
    mode = settings.start_mode(log)
    settings.check_timings(log)
    log(f"restoring from {path.name}: {len(plans)} saved session(s), start mode {mode}")
    todo = []
    for p in plans:
        if p.skip:
            log(f"skip {p.address}: {p.skip}")
            if dry_run:
                out(f"skip {p.address}: {p.skip}")
        else:
            todo.append(p)
    now = todo
    later: dict[str, list[Plan]] = {}
    sessions: dict[str, pending.Session] = {}
    if mode == "attached" and todo:  # `prompt`: like immediate, every pane now
        now, later, sessions = split_by_client(tmux, todo)
    if dry_run:
        for p in now:
            out(f"{p.address}: {p.text}")
        for sid, waiting in later.items():
            for p in waiting:
                out(f"{p.address}: {p.text}")
                note(f"{p.address} would wait for a client to show session {sessions[sid].name!r}")
        return 0
    if later:
        try:
            armed = arm_waiting(tmux, later, sessions, path, log)
        except AgentError as exc:  # e.g. a tmux without hook arrays (before 3.0)
            log(f"cannot leave assistants waiting for a client ({exc}); starting them now")
            armed = {}
            now = now + [p for plans in later.values() for p in plans]
        # A client may have attached while the hooks were armed: run those now.
        fresh = pending.sessions(tmux) if armed else {}
        for sid, index in armed.items():
            if sid in fresh and fresh[sid].attached:
                run_pending(tmux, sid, index, log, timeout)
    if not now:
        return 0
    deadline = time.monotonic() + timeout
    enter = mode != "prompt"
    typed = type_when_ready(tmux, now, deadline, settings.shells, log, enter=enter)
    log(f"restored {typed.count} of {len(plans)} saved session(s)")
    if enter:
        watch_typed(tmux, typed, log)
    return 0


def restore_pending(
    tmux: Tmux, session_id: str, hook_index: Optional[int], timeout: float = READY_TIMEOUT
) -> int:
    """`restore --pending SESSION_ID`: run by a hook in the background, with its
    output discarded; everything goes to the restore log and it exits 0."""
    log = Log(None)
    try:
        log = Log(tmux.settings.resurrect_dir / "assistant-restore.log")
        return run_pending(tmux, session_id, hook_index, log, timeout)
    except Exception as exc:
        log(f"restore --pending {session_id}: {type(exc).__name__}: {exc}")
        return 0


def saves(rdir: Path) -> list[tuple[Path, str, str, bool]]:
    """Each save of rdir, newest first: (layout file, when (UTC), its assistants
    (`claude: 2, codex: 1` from the sidecar restore would read for it, or why
    none), whether `last` points at it)."""
    last = store.last_layout(rdir)
    rows = []
    for layout in reversed(store.layouts(rdir)):
        newer = store.pending_for(rdir, layout) if layout == last else []
        sidecar = newer[-1] if newer else store.sidecar_for(layout)
        when: Optional[str] = None
        try:
            doc = store.read(sidecar)
        except SidecarError as exc:  # SidecarUnusable included
            what = "no sidecar" if not os.path.lexists(sidecar) else f"sidecar not usable: {exc}"
        else:
            counts: dict[str, int] = {}
            for entry in doc.get("sessions") or []:
                tool = entry.get("tool") if isinstance(entry, dict) else None
                if isinstance(tool, str) and tool:
                    counts[tool] = counts.get(tool, 0) + 1
            what = ", ".join(f"{t}: {n}" for t, n in sorted(counts.items())) or "no assistants"
            stamp = doc.get("timestamp")
            when = stamp if isinstance(stamp, str) and stamp else None
        if when is None:
            try:
                when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(layout.stat().st_mtime))
            except OSError:
                when = "?"
        rows.append((layout, when, what, layout == last))
    return rows


def list_saves(tmux: Tmux, out: Callable[[str], None] = print) -> int:
    """`restore --list`: the saves, newest first; `restore --layout FILE` restores one.
    Works without a tmux server (the default resurrect dir then)."""
    from assistant_resurrect.settings import Settings

    try:
        settings = tmux.settings
    except AgentError:  # no server (or no tmux): the default resurrect dir
        settings = Settings({})
    rdir = settings.resurrect_dir
    rows = saves(rdir)
    if not rows:
        out(f"no saves in {rdir}")
        return 0
    out(f"{len(rows)} save(s) in {rdir}, newest first (* = last):")
    for layout, when, what, is_last in rows:
        out(f"{'*' if is_last else ' '} {when}  {layout}  {what}")
    out("restore one with: assistant-resurrect restore --layout LAYOUT_FILE")
    return 0
