"""After typing: did each resumed assistant keep running?

An assistant that cannot resume its session exits at once, printing why
(`No conversation found with session ID: …`, a flag the new release refuses),
and the pane is back at its shell with the reason one line above the prompt.
`watch` looks at the typed panes for `@assistant-resurrect-check` seconds
(one pane listing and one process snapshot per poll) and reports each
assistant that is no longer running: one log line with its last screen line,
and an entry in the report file `assistant-restore-report.json` in the
resurrect dir, which `status` shows. Entries are keyed by the saved pane
address and session ID and merged with the earlier runs' (restore, then each
`restore --pending` run), newest kept.
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
from pathlib import Path

from assistant_resurrect import detect, fileio, procs
from assistant_resurrect.errors import AgentError, TmuxError
from assistant_resurrect.records import Record
from assistant_resurrect.settings import Settings
from assistant_resurrect.tmux import Tmux

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

REPORT = "assistant-restore-report.json"
REPORT_LOCK = ".assistant-restore-report.lock"
VERSION = 1
POLL = 0.2  # seconds between two looks at the panes
MAX_ENTRIES = 256  # the newest; older restores' entries are dropped
MAX_LINE = 300  # characters of the last screen line kept
MAX_BYTES = 1024 * 1024
OUTCOMES = ("ok", "failed")


class Started(Record):
    """An assistant restore typed into a pane: where, which tool, which session."""

    _fields = ("pane_id", "address", "tool", "session_id")
    __slots__ = _fields

    def __init__(self, pane_id: str, address: str, tool: str, session_id: str) -> None:
        self.pane_id = pane_id
        self.address = address  # the saved pane address (session:window.pane)
        self.tool = tool
        self.session_id = session_id


class _Watched:
    __slots__ = ("done", "line", "screen", "seen", "started")

    def __init__(self, started: Started) -> None:
        self.started = started
        self.seen = False  # the assistant was seen running
        self.screen: Optional[list[str]] = None  # last capture once it exited
        self.done = False
        self.line = ""


def watch(
    tmux: Tmux, started: list[Started], log: Callable[[str], None], settings: Settings
) -> list[str]:
    """Watch the started assistants for `settings.check_seconds`; log and
    report the ones that exited. Returns the failure lines."""
    check = settings.check_seconds
    if check <= 0 or not started:
        return []
    watched = [_Watched(s) for s in started]
    deadline = time.monotonic() + check
    shells = settings.shells
    while True:
        final = time.monotonic() >= deadline
        try:
            _poll(tmux, [w for w in watched if not w.done], shells, final)
        except TmuxError as exc:
            log(f"restore check stopped: {exc}")
            watched = [w for w in watched if w.done]
            break
        if final or all(w.done for w in watched):
            break
        time.sleep(max(0.0, min(POLL, deadline - time.monotonic())))
    failures = []
    entries = []
    for w in watched:
        s = w.started
        if w.done:
            line = f"failed: {s.tool} in {s.address} ({s.pane_id}) exited within {check:g}s: " + (
                w.line or "(no output)"
            )
            log(line)
            failures.append(line)
        else:
            log(f"ok: {s.tool} in {s.address} ({s.pane_id}) running after {check:g}s")
        entries.append(_entry(s, "failed" if w.done else "ok", w.line, check))
    if entries:
        try:
            record(settings.resurrect_dir, entries)
        except (OSError, AgentError) as exc:  # a full disk, a lock held too long
            log(f"cannot write the restore report: {getattr(exc, 'strerror', None) or exc}")
    return failures


def _poll(tmux: Tmux, watching: list[_Watched], shells: frozenset[str], final: bool) -> None:
    """One look: which assistants still run; the screens of those that exited
    (kept until two looks agree, so the prompt has been drawn)."""
    if not watching:
        return
    by_id = {pane.pane_id: pane for pane in tmux.list_panes()}
    snap = procs.snapshot()
    for w in watching:
        pane = by_id.get(w.started.pane_id)
        if pane is None:
            w.done, w.line = True, "(the pane closed)"
            continue
        if not pane.dead and detect.any_assistant(pane.pane_pid, snap) is not None:
            w.seen = True
            w.screen = None
            continue
        at_shell = not pane.dead and pane.current_command in shells
        # Not seen yet may mean not started yet: only the deadline decides then.
        if not (final or (w.seen and (at_shell or pane.dead))):
            continue
        try:
            shown = tmux.cursor_rows(pane.pane_id)  # down to the cursor's row
        except TmuxError:
            w.done, w.line = True, "(the pane closed)"
            continue
        if final or shown.rows == w.screen:
            w.done = True
            w.line = last_line(shown.rows, shown.width, w.started, at_shell)
        else:
            w.screen = shown.rows


def last_line(rows: list[str], width: int, started: Started, at_shell: bool) -> str:
    """The last thing the assistant printed: the last non-empty line between
    the line restore typed and the shell's prompt (the cursor's row, the last
    of `rows`, when the pane is back at its shell); '' when it printed nothing.

    The typed line is the last one holding the session ID after the tool's
    name, at its end (an error message names the ID, not the program before
    it). A prompt of several lines shows its upper lines as output, and a
    message exactly as wide as the pane is taken for the start of the prompt:
    nothing on the screen tells them apart."""
    lines = _lines(rows, width)
    if at_shell:
        lines = lines[:-1]  # the prompt, also when it wraps (a long cwd in a narrow pane)
    typed = _typed_line(lines, started)
    body = [line for line, _ in lines]
    if typed is not None:
        index, tail = typed
        body = [tail, *body[index + 1 :]]
    for row in reversed(body):
        text = row.strip()
        if text:
            return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"
    return ""


def _typed_line(lines: list[tuple[str, list[int]]], started: Started) -> Optional[tuple[int, str]]:
    """(index of the typed line, what follows it on that line) or None when it
    is not on screen. What follows is '' unless the typed line filled its last
    row, which was then taken to go on in the next: the output's first row."""
    sid, tool = started.session_id, started.tool
    for index in range(len(lines) - 1, -1, -1):
        line, ends = lines[index]
        program = line.find(tool)
        at = line.find(sid, program) if program >= 0 else -1
        if at < 0:
            continue
        end = at + len(sid)
        while end < len(line) and line[end] in "'\"\\":  # a closing quote
            end += 1
        rest = line[end:]
        if not rest.strip() or rest.startswith("  "):  # the end, or a right prompt (RPROMPT)
            return index, ""
        for row_end in ends:  # the ID ends its row: the next rows are output
            if row_end in (end, end + 1):
                return index, line[row_end:]
    return None


def columns(text: str) -> int:
    """Terminal columns of `text` (wide East Asian characters take two)."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _lines(rows: list[str], width: int) -> list[tuple[str, list[int]]]:
    """Screen rows as lines, each with the offsets where its rows end: a row
    that reaches the pane's last column (or the one before it: wrapped at a
    space) goes on in the next row. tmux joins only the rows it wrapped itself
    (capture-pane -J); a line editor that moves the cursor itself (zsh) leaves
    its rows unmarked."""
    lines: list[tuple[str, list[int]]] = []
    joining = False
    for row in rows:
        text = row.rstrip()
        used = columns(text)
        if joining and lines:
            line, ends = lines[-1]
            lines[-1] = (line + text, ends)
        else:
            lines.append((text, []))
        joining = width > 1 and used >= width - 1
        if joining:
            line, ends = lines[-1]
            if used == width - 1:
                line += " "
            ends.append(len(line))
            lines[-1] = (line, ends)
    while lines and not lines[-1][0].strip():
        lines.pop()
    return lines


def logical_lines(rows: list[str], width: int) -> list[str]:
    """Screen rows as lines (see `_lines`)."""
    return [line for line, _ in _lines(rows, width)]


def _entry(s: Started, outcome: str, line: str, check: float) -> dict[str, Any]:
    return {
        "address": s.address,
        "session_id": s.session_id,
        "tool": s.tool,
        "pane_id": s.pane_id,
        "outcome": outcome,
        "line": line,
        "at": time.time(),
        "check_seconds": check,
    }


def report_path(resurrect_dir: Path) -> Path:
    return resurrect_dir / REPORT


def read_report(resurrect_dir: Path) -> list[dict[str, Any]]:
    """The valid entries of the report, oldest first ([] when there is none)."""
    try:
        data, _ = fileio.read_regular(report_path(resurrect_dir), MAX_BYTES)
        doc = json.loads(data)
    except (OSError, ValueError):  # none yet, not a regular file, too big, not JSON
        return []
    items = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return []
    entries = [e for e in items if _valid(e)]
    entries.sort(key=lambda e: float(e["at"]))
    return entries


def _valid(e: object) -> bool:
    if not isinstance(e, dict):
        return False
    texts = ("address", "session_id", "tool", "pane_id", "line")
    at = e.get("at")
    return (
        all(isinstance(e.get(k), str) for k in texts)
        and e.get("outcome") in OUTCOMES
        and isinstance(at, (int, float))
        and not isinstance(at, bool)
        and at == at  # not NaN
        and abs(at) < 1e12
    )


def record(resurrect_dir: Path, entries: list[dict[str, Any]]) -> None:
    """Merge `entries` into the report (atomic, 0600): one entry per saved pane
    address and session ID, the newest; at most MAX_ENTRIES."""
    os.makedirs(resurrect_dir, exist_ok=True)
    with fileio.locked(resurrect_dir / REPORT_LOCK):  # pending runs may finish together
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for e in read_report(resurrect_dir) + entries:
            merged[(e["address"], e["session_id"])] = e
        kept = sorted(merged.values(), key=lambda e: float(e["at"]))[-MAX_ENTRIES:]
        doc = {"version": VERSION, "entries": kept}
        # ASCII JSON: a screen line's undecodable bytes (surrogates) stay \u escapes.
        fileio.atomic_write(report_path(resurrect_dir), json.dumps(doc, indent=1).encode())


def latest_by_address(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest entry of each saved pane address."""
    return {e["address"]: e for e in entries}  # oldest first: the newest wins


def describe(e: dict[str, Any]) -> str:
    """`failed 12:03: <line>` / `running (checked 12:03)`, for status (with
    the date when it was not today)."""
    at = time.localtime(float(e["at"]))
    today = time.localtime()[:3] == at[:3]
    when = time.strftime("%H:%M" if today else "%Y-%m-%d %H:%M", at)
    if e["outcome"] == "failed":
        return f"failed {when}: {e['line'] or '(no output)'}"
    return f"running (checked {when})"
