"""Planning a restore: for each saved session, the exact line to type, or why none.

`status` shows what restore would type by calling `plan` too, so the two can
never disagree. Only the tool's own program and the env names listed now in
`@assistant-resurrect-capture-env` are ever typed (a sidecar never decides).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from assistant_resurrect import assistants, command, procs, store
from assistant_resurrect.guards import guard
from assistant_resurrect.log import Log
from assistant_resurrect.session import InvalidEntry, SavedSession
from assistant_resurrect.tmux import Pane, Tmux


@dataclass
class Plan:
    session: Optional[SavedSession]
    pane: Optional[Pane] = None
    text: Optional[str] = None
    log_text: Optional[str] = None  # `text` with captured env values hidden
    skip: Optional[str] = None  # the reason, when the pane is not restored
    where: str = "?"  # the saved pane address (also for entries that did not load)

    @property
    def address(self) -> str:
        return self.session.address if self.session is not None else self.where


def load_entry(entry: object) -> Plan:
    """A Plan holding the saved session, or skipped with the field that is wrong."""
    try:
        return Plan(SavedSession.load(entry))
    except InvalidEntry as exc:
        return Plan(None, skip=str(exc), where=exc.address)


def plan(
    entry: object,
    by_addr: dict[str, Pane],
    snap: procs.Snapshot,
    allowed: frozenset[str],
    env_names: frozenset[str] = frozenset(),
    log: Optional[Log] = None,
    check_panes: bool = True,
) -> Plan:
    """What to type for one saved entry (a SavedSession or its JSON), or why nothing.

    `check_panes` off (`status`): plan for the pane as tmux-resurrect would bring it
    back (its own shell, its current path), without the guards and restored
    marks that only matter at restore time."""
    p = Plan(entry) if isinstance(entry, SavedSession) else load_entry(entry)
    s = p.session
    if s is None:
        return p
    tool = assistants.by_name(s.tool)
    if tool is None:
        p.skip = f"unknown tool {s.tool!r} (saved by a newer version?)"
        return p
    sid = s.session_id
    if not sid:
        p.skip = "no session ID was found when it was saved"
        return p
    if not tool.valid_session_id(sid):
        p.skip = f"session ID {sid!r} is not a valid {tool.name} session ID"
        return p
    if check_panes and s.cwd and not os.path.isdir(s.cwd):
        p.skip = f"its directory {s.cwd!r} no longer exists"
        return p
    pane = by_addr.get(s.address)
    if pane is None:
        p.skip = "no such pane after restore"
        return p
    p.pane = pane
    if check_panes:
        if pane.restored_marker and pane.restored_marker == sid:
            p.skip = "already restored by an earlier run"
            return p
        reason = guard(pane, snap, allowed)
        if reason:
            p.skip = reason
            return p
    program = s.program or tool.name
    if not tool.valid_program(program):
        p.skip = f"its saved program {program!r} is not {tool.name}"
        return p
    env = s.env
    dropped = sorted(k for k in env if k not in env_names)
    if dropped:
        env = {k: v for k, v in env.items() if k in env_names}
        if log is not None:
            log(
                f"{p.address}: not replaying {', '.join(dropped)} (not listed in "
                "@assistant-resurrect-capture-env)"
            )
    argv = tool.resume_argv(program, s.cli_args, sid)
    if check_panes:
        pane_cwd = snap.cwd(pane.pane_pid) or pane.current_path
        shell = command.shell_name(pane.current_command)
    else:  # the pane as tmux-resurrect brings it back: its shell, in its current path
        pane_cwd = pane.current_path
        argv0 = snap.argv(pane.pane_pid)[:1]
        proc = snap.procs.get(pane.pane_pid)
        shell = command.shell_name(argv0[0] if argv0 else proc.comm if proc else "sh")
    try:
        p.text = command.build(argv, env, s.cwd, pane_cwd, shell)
        # Logs name the captured variables but never show their values.
        p.log_text = command.build(argv, dict.fromkeys(env, "<captured>"), s.cwd, pane_cwd, shell)
    except command.UnquotableError as exc:
        p.skip = str(exc)
    return p


def make_plans(tmux: Tmux, layout: Optional[str], log: Log) -> tuple[Optional[Path], list[Plan]]:
    """The sidecar restore uses (see store.for_restore) and a plan for each entry."""
    panes = tmux.list_panes()
    settings = tmux.settings
    path, doc = store.for_restore(settings.resurrect_dir, Path(layout) if layout else None, log)
    snap = procs.snapshot()
    by_addr = {p.address: p for p in panes}
    allowed, names = settings.shells, settings.replay_env_names
    return path, [plan(e, by_addr, snap, allowed, names, log) for e in doc.get("sessions", [])]
