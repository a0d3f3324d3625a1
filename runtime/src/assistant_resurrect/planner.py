"""Planning a restore: for each saved session, the exact line to type, or why none.

`status` shows what restore would type by calling `plan` too, so the two can
never disagree. Only the tool's own program and the env names listed now in
`@assistant-resurrect-capture-env` are ever typed (a sidecar never decides).

Nobody else's code runs (trust.py has the rules, sudo's):
- the program: a saved absolute (or relative, from the saved cwd) path must
  pass trust.check_program; a bare name is looked up on the pane shell's PATH,
  then on restore's own, and what is found must pass too. A name found on
  neither is typed as it is, for the shell to resolve (logged);
- the arguments: replayed as recorded from the user's own process, except the
  code-loading ones (assistants/base.py, `code_options`): dropped from entries
  of the upstream bash plugin's legacy file, and a file or folder one names
  must pass the same checks as a program, else the pane is skipped.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from assistant_resurrect import assistants, command, procs, store, trust
from assistant_resurrect.assistants.base import Assistant
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
    if not sid and not s.fresh:
        p.skip = "no session ID was found when it was saved"
        return p
    if sid and not tool.valid_session_id(sid):
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
        if pane.restored_marker and pane.restored_marker == s.restore_key:
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
    # (status: the pane as tmux-resurrect brings it back: its shell, in its current path)
    pane_cwd = (snap.cwd(pane.pane_pid) if check_panes else None) or pane.current_path
    run_dir = s.cwd or pane_cwd  # where the typed line runs the tool
    pane_path = snap.environ(pane.pane_pid).get("PATH")
    reason, found = program_reason(program, run_dir, pane_path)
    if reason:
        p.skip = reason
        return p
    if found is None and log is not None:
        log(
            f"{p.address}: {program} is on neither the pane shell's PATH nor restore's; "
            "typed for the shell to find"
        )
    cli_args = s.cli_args
    if s.id_source == "legacy":
        cli_args, dropped_opts = tool.without_code_options(cli_args)
        if dropped_opts and log is not None:
            log(
                f"{p.address}: not replaying {', '.join(dropped_opts)} from the upstream bash "
                "plugin's file (options that load code or configuration)"
            )
    reason = code_args_reason(tool, cli_args, run_dir)
    if reason:
        p.skip = reason
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
    if sid:
        argv = tool.resume_argv(program, cli_args, sid)
    else:
        argv = tool.fresh_argv(program, cli_args)
        if log is not None and check_panes:
            log(f"{p.address}: {tool.name} had no conversation yet; starting it afresh")
    if check_panes:
        shell = command.shell_name(pane.current_command)
    else:
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


def program_reason(
    program: str, run_dir: Optional[str], pane_path: Optional[str]
) -> tuple[Optional[str], Optional[str]]:
    """(why the saved `program` may not be run, the file it runs). (None, None): a
    bare name found on neither PATH, which the shell resolves."""
    uid = os.getuid()
    if os.path.isabs(program) or "/" in program:
        if not os.path.isabs(program):  # relative: to the folder the line cd-s into
            if not run_dir:
                why = f"its saved program {program!r} is a relative path and no folder is known"
                return f"{why}; not run", None
            program = os.path.join(run_dir, program)
        reason = trust.check_program(program, uid)
        return (None if reason is None else f"its saved {reason}; not run"), program
    found = trust.which(program, pane_path) or trust.which(program, os.environ.get("PATH"))
    if found is None:
        return None, None
    reason = trust.check_program(found, uid)
    if reason is None:
        return None, found
    return f"its saved program {program!r} is {found} on PATH, and {reason}; not run", found


def check_code_path(path: str, uid: int) -> Optional[str]:
    """A file or folder a code-loading option names, checked like a program: it
    (behind any symlink) is owned by `uid` or root and not writable by others, in
    folders that pass trust.check_parents (as does the folder of the link)."""
    try:
        lst = os.lstat(path)
    except OSError as exc:
        return f"{path} cannot be used ({exc.strerror})"
    if stat.S_ISLNK(lst.st_mode):
        reason = trust.check_parents(path, uid)
        if reason is not None:
            return f"{path}: {reason}"
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError as exc:
        return f"{path} cannot be used ({exc.strerror})"
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return f"{real} is not a file or a folder"
    if st.st_uid not in (uid, 0):
        who = "you or root" if uid != 0 else "you"
        return f"{real} is owned by uid {st.st_uid}, not by {who} (uid {uid})"
    reason = trust.writable_by_others(st, uid)
    if reason is not None:
        return f"{real} is {reason}"
    reason = trust.check_parents(real, uid)
    return None if reason is None else f"{real}: {reason}"


def code_args_reason(tool: Assistant, cli_args: list[str], run_dir: Optional[str]) -> Optional[str]:
    """Why the files and folders the code-loading arguments name may not be loaded."""
    uid = os.getuid()
    for option, value in tool.code_paths(cli_args):
        path = os.path.expanduser(value) if value.startswith("~") else value
        if not os.path.isabs(path):
            if not run_dir:
                return f"its {option} {value!r} is a relative path and no folder is known; not run"
            path = os.path.join(run_dir, path)
        reason = check_code_path(path, uid)
        if reason is not None:
            return f"its {option} {reason}; not run"
    return None


def make_plans(tmux: Tmux, layout: Optional[str], log: Log) -> tuple[Optional[Path], list[Plan]]:
    """The sidecar restore uses (store.for_restore) and a plan for each entry; an
    entry whose planning fails is skipped with the reason, the others are planned."""
    panes = tmux.list_panes()
    settings = tmux.settings
    path, doc = store.for_restore(settings.resurrect_dir, Path(layout) if layout else None, log)
    snap = procs.snapshot()
    by_addr = {p.address: p for p in panes}
    allowed, names = settings.shells, settings.replay_env_names
    plans = []
    for entry in doc.get("sessions", []):
        try:
            plans.append(plan(entry, by_addr, snap, allowed, names, log))
        except Exception as exc:
            where = entry.get("pane") if isinstance(entry, dict) else None
            plans.append(Plan(None, skip=f"{type(exc).__name__}: {exc}", where=str(where or "?")))
    return path, plans
