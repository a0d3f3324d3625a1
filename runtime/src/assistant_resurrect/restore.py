"""`restore` (post-restore-all): type each saved assistant's resume command.

Before typing into a pane, two guards: its foreground process is a known
shell, and no assistant already runs in it. Both are checked when restore
plans and again at the moment of typing. A pane that got its command is
marked (pane option `@assistant-resurrect-restored`) so a second restore
never types twice.

`@assistant-resurrect-start` picks when: `attached` (the default) types at
once only into sessions a client shows and leaves the others waiting on a
one-shot tmux hook (see pending.py: `restore --pending` runs when a client
first shows the session); `immediate` types into every pane at once.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from assistant_resurrect import assistants, capture, command, detect, paths, pending, procs, store
from assistant_resurrect.errors import AgentError
from assistant_resurrect.fileio import locked
from assistant_resurrect.log import Log
from assistant_resurrect.tmux import Pane, Tmux

MARKER = "@assistant-resurrect-restored"
RESTORE_LOCK = ".assistant-resurrect-restore.lock"
TYPING = "typing:"  # marker prefix while a command is being typed
READY_TIMEOUT = 15.0  # seconds, for all panes together
POLL = 0.1
MODES = ("attached", "immediate")


@dataclass
class Plan:
    entry: dict[str, Any]
    pane: Optional[Pane] = None
    text: Optional[str] = None
    log_text: Optional[str] = None  # `text` with captured env values hidden
    skip: Optional[str] = None  # the reason, when the pane is not restored

    @property
    def address(self) -> str:
        return str(self.entry.get("pane") or "?")


def shells(tmux: Tmux) -> frozenset[str]:
    configured = tmux.options.get("@assistant-resurrect-shells", "").split()
    return frozenset(configured or command.DEFAULT_SHELLS)


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
    shell_proc = snap.procs.get(pane.pane_pid)
    if shell_proc is None or shell_proc.tpgid <= 0 or shell_proc.tpgid == pane.pane_pid:
        return None
    leader = snap.procs.get(shell_proc.tpgid)
    if leader is not None:
        argv = snap.argv(leader.pid)
        name = command.shell_name(argv[0]) if argv else leader.comm
        interactive = all(a.startswith("-") and a not in ("-c", "-s") for a in argv[1:])
        if name in allowed and interactive and not snap.children.get(leader.pid):
            return None
        shown = " ".join(argv)[:60] if argv else leader.comm
        return f"its foreground job is {shown!r} (pid {leader.pid}), not the pane's shell"
    return f"its foreground job (process group {shell_proc.tpgid}) is not the pane's shell"


def replay_env_names(tmux: Tmux) -> frozenset[str]:
    """The env names restore may put before a command: those listed now in
    `@assistant-resurrect-capture-env` (secret-looking ones only with
    `@assistant-resurrect-capture-secret-env on`). A sidecar never decides."""
    wanted, _ = capture.names(
        tmux.options.get("@assistant-resurrect-capture-env", ""),
        capture.allowed(tmux.options.get("@assistant-resurrect-capture-secret-env", "")),
    )
    return frozenset(wanted)


def plan(
    entry: Any,
    by_addr: dict[str, Pane],
    snap: procs.Snapshot,
    allowed: frozenset[str],
    env_names: frozenset[str] = frozenset(),
    log: Optional[Log] = None,
) -> Plan:
    """What to type for one sidecar entry, or why nothing. Only the tool's own
    program and the env names in `env_names` are ever typed."""
    if not isinstance(entry, dict):
        return Plan({}, skip="a sidecar entry is not an object")
    p = Plan(entry)
    tool = assistants.by_name(str(entry.get("tool")))
    if tool is None:
        p.skip = f"unknown tool {entry.get('tool')!r} (saved by a newer version?)"
        return p
    sid = entry.get("session_id")
    if not sid:
        p.skip = "no session ID was found when it was saved"
        return p
    if not tool.valid_session_id(sid):
        p.skip = f"session ID {sid!r} is not a valid {tool.name} session ID"
        return p
    cli_args = entry.get("cli_args")
    if cli_args is None:
        cli_args = []
    if not isinstance(cli_args, list) or not all(isinstance(a, str) for a in cli_args):
        p.skip = "its saved cli_args are not a list of strings"
        return p
    env = entry.get("env") or {}
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        p.skip = "its saved env is not an object of strings"
        return p
    cwd = entry.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        p.skip = "its saved cwd is not a string"
        return p
    if cwd and not os.path.isdir(cwd):
        p.skip = f"its directory {cwd!r} no longer exists"
        return p
    pane = by_addr.get(p.address)
    if pane is None:
        p.skip = "no such pane after restore"
        return p
    p.pane = pane
    if pane.restored_marker and pane.restored_marker == sid:
        p.skip = "already restored by an earlier run"
        return p
    reason = guard(pane, snap, allowed)
    if reason:
        p.skip = reason
        return p
    program = entry.get("program") or tool.name
    if not isinstance(program, str) or not tool.valid_program(program):
        p.skip = f"its saved program {program!r} is not {tool.name}"
        return p
    dropped = sorted(k for k in env if k not in env_names)
    if dropped:
        env = {k: v for k, v in env.items() if k in env_names}
        if log is not None:
            log(
                f"{p.address}: not replaying {', '.join(dropped)} (not listed in "
                "@assistant-resurrect-capture-env)"
            )
    argv = tool.resume_argv(program, cli_args, sid)
    pane_cwd = snap.cwd(pane.pane_pid) or pane.current_path
    try:
        shell = command.shell_name(pane.current_command)
        p.text = command.build(argv, env, cwd, pane_cwd, shell)
        # Logs name the captured variables but never show their values.
        p.log_text = command.build(argv, dict.fromkeys(env, "<captured>"), cwd, pane_cwd, shell)
    except command.UnquotableError as exc:
        p.skip = str(exc)
    return p


def load(tmux: Tmux, layout: Optional[str], log: Log) -> tuple[Optional[Path], dict]:
    rdir = paths.resurrect_dir(tmux.options.get("@resurrect-dir"))
    return store.for_restore(rdir, Path(layout) if layout else None, log)


def make_plans(tmux: Tmux, layout: Optional[str], log: Log) -> tuple[Optional[Path], list[Plan]]:
    panes = tmux.list_panes()
    path, doc = load(tmux, layout, log)
    snap = procs.snapshot()
    by_addr = {p.address: p for p in panes}
    allowed = shells(tmux)
    names = replay_env_names(tmux)
    return path, [plan(e, by_addr, snap, allowed, names, log) for e in doc.get("sessions", [])]


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
    lock_path = paths.resurrect_dir(tmux.options.get("@resurrect-dir")) / RESTORE_LOCK
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
        fresh = by_id.get(pane_id)
        sid = str(p.entry.get("session_id"))
        # A restore killed while typing into this pane: if the command reached
        # the pane (its session ID is on screen) it is not typed again; if it
        # still sits on the prompt line, unentered, it gets its Enter.
        if fresh is not None and fresh.restored_marker == TYPING + sid:
            screen = tmux.capture(pane_id).rstrip().splitlines()
            if any(sid in line for line in screen):
                if sid in screen[-1] and guard(fresh, snap, allowed) is None:
                    tmux.send_enter(pane_id)
                    log(
                        f"restored {p.entry.get('tool')} in {p.address} ({pane_id}): "
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
        assert p.text is not None
        # Marked "typing" first, done after: a run killed in between leaves a
        # mark the next run can check against the screen (never lost, never twice).
        tmux.set_pane_option(pane_id, MARKER, TYPING + sid)
        tmux.send_literal(pane_id, p.text)
        tmux.send_enter(pane_id)
        tmux.set_pane_option(pane_id, MARKER, sid)
        log(f"restored {p.entry.get('tool')} in {p.address} ({pane_id}): {p.log_text}")
        typed += 1
        del waiting[pane_id]
    return typed


def start_mode(tmux: Tmux, log: Log) -> str:
    """`@assistant-resurrect-start`: `attached` (default) or `immediate`."""
    value = tmux.options.get("@assistant-resurrect-start", "").strip() or "attached"
    if value not in MODES:
        log(
            f"@assistant-resurrect-start is {value!r}, not one of {', '.join(MODES)}; "
            "using attached"
        )
        return "attached"
    return value


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
        doc = pending.load(server)
        used = pending.hooks_in_use(tmux)
        taken = {
            int(s["hook_index"])
            for s in doc["sessions"].values()
            if isinstance(s, dict) and isinstance(s.get("hook_index"), int)
        }
        for sid, plans in later.items():
            name = sessions[sid].name
            entries = [{"pane_id": p.pane.pane_id, "entry": p.entry} for p in plans if p.pane]
            old = doc["sessions"].get(sid)
            index = old.get("hook_index") if isinstance(old, dict) else None
            if isinstance(index, int) and pending.MARK in used.get(index, ""):
                merged = {
                    e.get("pane_id"): e for e in old.get("entries") or [] if isinstance(e, dict)
                }
                merged.update({e["pane_id"]: e for e in entries})
                old["entries"] = list(merged.values())
                old["name"] = name
                log(
                    f"session {name!r} already waits for a client (hook index {index}); "
                    "not armed again"
                )
                armed[sid] = index
                continue
            index = pending.free_index(used, taken)
            taken.add(index)
            pending.arm(tmux, server, sid, index)
            doc["sessions"][sid] = {
                "name": name,
                "hook_index": index,
                "since": pending.now(),
                "source": source.name,
                "entries": entries,
            }
            armed[sid] = index
            for p in plans:
                log(f"waiting for a client to show session {name!r}: {p.address} ({p.log_text})")
        pending.store(server, doc)
    return armed


def run_pending(
    tmux: Tmux, session_id: str, hook_index: Optional[int], log: Log, timeout: float
) -> int:
    """The hook's runner: when a client shows `session_id`, take its waiting entries
    (and remove its hooks) under the lock, then type them with fresh guards."""
    server = pending.Server.of(tmux)
    with pending.lock():
        doc = pending.load(server)
        waiting = doc["sessions"].get(session_id)
        session = pending.sessions(tmux).get(session_id)
        indexes = {hook_index} if hook_index is not None else set()
        if isinstance(waiting, dict) and isinstance(waiting.get("hook_index"), int):
            indexes.add(waiting["hook_index"])
        if waiting is not None and session is not None and not session.attached:
            return 0  # another session was attached: keep waiting
        if waiting is not None:
            del doc["sessions"][session_id]
            pending.store(server, doc)
        for index in indexes:
            pending.disarm(tmux, index)
    if not isinstance(waiting, dict):
        return 0  # already done by the other hook or by another restore
    name = session.name if session else waiting.get("name")
    if session is None:
        log(f"session {name!r} is gone; its waiting assistants are dropped")
        return 0
    log(f"a client shows session {name!r}: starting its assistants")
    panes = tmux.list_panes()
    by_id = {p.pane_id: p for p in panes}
    snap = procs.snapshot()
    allowed = shells(tmux)
    env_names = replay_env_names(tmux)
    todo = []
    for item in waiting.get("entries") or []:
        if not isinstance(item, dict):
            continue
        entry = item.get("entry")
        pane = by_id.get(str(item.get("pane_id")))
        address = str(entry.get("pane")) if isinstance(entry, dict) else "?"
        p = plan(entry, {address: pane} if pane else {}, snap, allowed, env_names, log)
        if p.skip:
            log(f"skip {p.address}: {p.skip}")
        else:
            todo.append(p)
    typed = type_when_ready(tmux, todo, time.monotonic() + timeout, allowed, log) if todo else 0
    total = len(waiting.get("entries") or [])
    log(f"session {name!r}: restored {typed} of {total} waiting session(s)")
    return 0


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
    tmux.list_panes()
    rdir = paths.resurrect_dir(tmux.options.get("@resurrect-dir"))
    log = Log(None if dry_run else rdir / "assistant-restore.log", echo=False)
    try:
        path, plans = make_plans(tmux, layout, log)
    except Exception as exc:
        log(f"restore stopped, no pane touched: {exc}")
        raise
    if path is None:
        out("nothing to restore: no assistant sessions were saved for this layout")
        return 0
    mode = start_mode(tmux, log)
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
    if mode == "attached" and todo:
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
    typed = type_when_ready(tmux, now, deadline, shells(tmux), log)
    log(f"restored {typed} of {len(plans)} saved session(s)")
    return 0


def restore_pending(
    tmux: Tmux, session_id: str, hook_index: Optional[int], timeout: float = READY_TIMEOUT
) -> int:
    """`restore --pending SESSION_ID`: run by a hook in the background, with its
    output discarded; everything goes to the restore log and it exits 0."""
    log = Log(None)
    try:
        tmux.list_panes()
        rdir = paths.resurrect_dir(tmux.options.get("@resurrect-dir"))
        log = Log(rdir / "assistant-restore.log")
        return run_pending(tmux, session_id, hook_index, log, timeout)
    except Exception as exc:
        log(f"restore --pending {session_id}: {type(exc).__name__}: {exc}")
        return 0
