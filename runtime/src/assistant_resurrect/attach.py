"""Attached mode (`@assistant-resurrect-start attached`, the default).

Restore types at once only into sessions a client shows; the others wait for a
client, on one-shot hooks that run `restore --pending <session id>` (the file
and the hooks are pending.py's).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from assistant_resurrect import pending, procs
from assistant_resurrect.log import Log
from assistant_resurrect.planner import Plan, plan
from assistant_resurrect.tmux import Tmux
from assistant_resurrect.typist import Typed, remember_prompts, type_when_ready


def split_by_client(
    tmux: Tmux, todo: list[Plan]
) -> tuple[list[Plan], dict[str, list[Plan]], dict[str, pending.Session]]:
    """(plans whose session a client shows, {session ID: plans of a session none shows},
    the sessions)."""
    sessions = pending.sessions(tmux)
    now: list[Plan] = []
    later: dict[str, list[Plan]] = {}
    for p in todo:
        assert p.pane is not None
        sid = p.pane.session_id
        session = sessions.get(sid)
        if session is None or session.attached:
            now.append(p)
        else:
            later.setdefault(sid, []).append(p)
    return now, later, sessions


def arm_waiting(
    tmux: Tmux,
    later: dict[str, list[Plan]],
    sessions: dict[str, pending.Session],
    source: Path,
    log: Log,
) -> dict[str, int]:
    """Record the plans of sessions no client shows and arm their one-shot hooks.

    A session already waiting (its hooks still armed) gets its entries updated,
    never a second pair of hooks. Returns {session ID: hook index}.
    """
    server = pending.Server.of(tmux)
    armed: dict[str, int] = {}
    with pending.lock():
        pending.prune()
        waiting = pending.load(server)
        used = pending.hooks_in_use(tmux)
        taken = {w.hook_index for w in waiting.values() if w.hook_index is not None}
        for sid, plans in later.items():
            name = sessions[sid].name
            entries = [(p.pane.pane_id, p.session) for p in plans if p.pane and p.session]
            old = waiting.get(sid)
            if (
                old is not None
                and old.hook_index is not None
                and pending.MARK in used.get(old.hook_index, "")
            ):
                old.merge(entries)
                old.name = name
                log(
                    f"session {name!r} already waits for a client (hook index "
                    f"{old.hook_index}); not armed again"
                )
                armed[sid] = old.hook_index
                continue
            index = pending.free_index(used, taken)
            taken.add(index)
            pending.arm(tmux, server, sid, index)
            waiting[sid] = pending.Waiting(name, index, entries, pending.now(), source.name)
            armed[sid] = index
            for p in plans:
                log(f"waiting for a client to show session {name!r}: {p.address} ({p.log_text})")
            remember_prompts(tmux, plans, log)
        pending.store(server, waiting)
    return armed


def run_pending(
    tmux: Tmux, session_id: str, hook_index: Optional[int], log: Log, timeout: float
) -> int:
    """The hook's runner: when a client shows `session_id`, take its waiting entries
    (and remove its hooks) under the lock, then type them with fresh guards."""
    server = pending.Server.of(tmux)
    with pending.lock():
        all_waiting = pending.load(server)
        waiting = all_waiting.get(session_id)
        session = pending.sessions(tmux).get(session_id)
        indexes = {hook_index} if hook_index is not None else set()
        if waiting is not None and waiting.hook_index is not None:
            indexes.add(waiting.hook_index)
        if waiting is not None and session is not None and not session.attached:
            return 0  # another session was attached: keep waiting
        if waiting is not None:
            del all_waiting[session_id]
            pending.store(server, all_waiting)
        for index in indexes:
            pending.disarm(tmux, index)
    if waiting is None:
        return 0  # already done by the other hook or by another restore
    name = session.name if session else waiting.name
    if session is None:
        log(f"session {name!r} is gone; its waiting assistants are dropped")
        return 0
    log(f"a client shows session {name!r}: starting its assistants")
    for reason in waiting.invalid:
        log(f"skip {reason}")
    by_id = {p.pane_id: p for p in tmux.list_panes()}
    snap = procs.snapshot()
    settings = tmux.settings
    allowed, env_names = settings.shells, settings.replay_env_names
    todo = []
    for pane_id, saved in waiting.entries:
        pane = by_id.get(pane_id)
        try:
            p = plan(saved, {saved.address: pane} if pane else {}, snap, allowed, env_names, log)
        except Exception as exc:  # one entry's failure never stops the others
            log(f"skip {saved.address}: {type(exc).__name__}: {exc}")
            continue
        if p.skip:
            log(f"skip {p.address}: {p.skip}")
        else:
            todo.append(p)
    mode = settings.start_mode(log)
    settings.check_timings(log)
    enter = mode != "prompt"
    typed = Typed()
    if todo:
        deadline = time.monotonic() + timeout
        typed = type_when_ready(tmux, todo, deadline, allowed, log, enter=enter)
    total = len(waiting.entries) + len(waiting.invalid)
    log(f"session {name!r}: restored {typed.count} of {total} waiting session(s)")
    if enter:
        watch_typed(tmux, typed, log)
    return 0


def watch_typed(tmux: Tmux, typed: Typed, log: Log) -> None:
    """Report the typed assistants that exit at once (watch.py), when it exists."""
    if not typed.started:
        return
    try:
        from assistant_resurrect.watch import Started, watch
    except ImportError:
        return
    try:
        watch(tmux, [Started(*s) for s in typed.started], log, tmux.settings)
    except Exception as exc:  # the check must never turn a restore into a failure
        log(f"checking the started assistants failed: {type(exc).__name__}: {exc}")
