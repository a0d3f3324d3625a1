"""`doctor`: check the setup; non-zero exit with what to fix."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Callable, Optional

from assistant_resurrect import __version__, assistants, paths, store
from assistant_resurrect.errors import AgentError
from assistant_resurrect.tmux import TESTED_TMUX, Tmux

HOOKS = {
    "@resurrect-hook-post-save-layout": "save",
    "@resurrect-hook-post-save-all": "save-finish",
    "@resurrect-hook-post-restore-all": "restore",
}


def tmux_outside_tested(version: str) -> str:
    """A warning when `tmux -V` names a release outside the range CI tests ('' inside)."""
    low, high = TESTED_TMUX
    tested = f"tmux {low[0]}.{low[1]} to {high[0]}.{high[1]}"
    found = re.search(r"(\d+)\.(\d+)", version)
    if not found:
        return f"cannot tell the release of {version!r}; tested are {tested}"
    if low <= (int(found.group(1)), int(found.group(2))) <= high:
        return ""
    return f"{version} is outside the tested range ({tested}); saves and restores may fail"


class Findings:
    """What doctor found: notes (`ok:`), warnings and problems, each in order.
    `tmux_error` is set (and nothing else checked) when tmux did not answer."""

    __slots__ = ("notes", "problems", "tmux_error", "warnings")

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.problems: list[str] = []
        self.tmux_error: Optional[str] = None

    def as_data(self) -> list[dict[str, str]]:
        """The warnings and problems as [{level, message}] (status --json)."""
        if self.tmux_error is not None:
            return [{"level": "problem", "message": self.tmux_error}]
        return [{"level": "warning", "message": m} for m in self.warnings] + [
            {"level": "problem", "message": m} for m in self.problems
        ]


def doctor(tmux: Tmux, out: Callable[[str], None] = print) -> int:
    found = check(tmux)
    if found.tmux_error is not None:
        out(f"PROBLEM: {found.tmux_error}")
        return 1
    for note in found.notes:
        out(f"ok: {note}")
    for warning in found.warnings:
        out(f"WARNING: {warning}")
    for problem in found.problems:
        out(f"PROBLEM: {problem}")
    if not found.problems:
        out("everything looks right")
    return 1 if found.problems else 0


def check(tmux: Tmux) -> Findings:
    """Every check of doctor, as data."""
    found = Findings()
    problems, notes, warnings = found.problems, found.notes, found.warnings
    notes.append(f"assistant-resurrect {__version__}, Python {sys.version.split()[0]}")
    try:
        version = tmux.run("-V").strip()
        notes.append(f"{version} at {tmux.exe}")
        outside = tmux_outside_tested(version)
        if outside:
            warnings.append(outside)
        tmux.list_panes()
    except AgentError as exc:
        found.tmux_error = str(exc)
        return found
    tmux_settings = tmux.settings
    opts = tmux_settings.options
    for option, sub in HOOKS.items():
        value = tmux.option(option)
        if "assistant-resurrect" not in value or sub not in value.split():
            problems.append(
                f"{option} is {value!r}; set it to '<path>/assistant-resurrect {sub}' "
                "(the Ansible role does this)"
            )
    listed = set(opts.get("@resurrect-processes", "").replace('"', " ").replace("'", " ").split())
    if ":all:" in listed:
        problems.append(
            "':all:' in @resurrect-processes makes tmux-resurrect start every saved program, "
            "assistants included, a second time beside the resume this agent types; "
            "list the programs you want instead"
        )
    words = {p.lstrip("~").split("->")[0].strip().split("/")[-1] for p in listed}
    for program, tool in assistants.programs().items():
        if program in words:
            what = program if program == tool else f"{program} (the program of {tool})"
            problems.append(
                f"{what} is listed in @resurrect-processes: tmux-resurrect would start it a "
                "second time; remove it from that option"
            )
    if opts.get("@continuum-save-interval", "").strip() == "0":
        problems.append(
            "@continuum-save-interval is 0: automatic saves are off, so a reboot loses "
            "everything since your last manual save; set it to e.g. 15"
        )
    try:
        sdir = paths.state_dir(create=False)
        notes.append(f"state dir {sdir}" + ("" if sdir.exists() else " (not created yet)"))
    except AgentError as exc:
        problems.append(str(exc))
    rdir = tmux_settings.resurrect_dir
    if rdir.exists() and not os.access(rdir, os.W_OK):
        problems.append(f"resurrect dir {rdir} is not writable; fix its permissions")
    warnings.extend(tmux_settings.timing_problems())
    from assistant_resurrect import autosave

    warnings.extend(autosave.warnings(tmux))
    untrusted = store.check_dir(rdir) if rdir.exists() else None
    if untrusted:
        problems.append(
            f"{untrusted}: save writes nothing there and restore trusts nothing from it; "
            f"run 'chmod go-w {rdir}' (or set @resurrect-dir to a folder of your own)"
        )
    notes.append(
        f"resurrect dir {rdir}"
        + (
            ""
            if rdir.exists()
            else " (not created yet: tmux-resurrect creates it at its first save)"
        )
    )
    settings = os.path.join(paths.home(), ".claude", "settings.json")
    try:
        with open(settings, "rb") as fh:
            text = json.dumps(json.load(fh))
        if "assistant-resurrect hook claude-session-start" not in text:
            problems.append(
                f"{settings} has no SessionStart hook running 'assistant-resurrect hook "
                "claude-session-start': Claude session IDs will only be found from arguments"
            )
    except FileNotFoundError:
        notes.append(f"{settings} not found (Claude Code not set up for this user)")
    except (OSError, ValueError) as exc:
        problems.append(f"{settings} is unreadable: {exc}")
    try:
        import psutil

        notes.append(f"psutil {psutil.__version__}")
    except ImportError:
        problems.append("psutil is not installed in the agent's environment; reinstall it")
    return found
