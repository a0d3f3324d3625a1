"""Typing the planned lines: all panes at once, each as soon as its shell is ready,
the way a careful person types.

A pane that got its command is marked (pane option `@assistant-resurrect-restored`)
so a second restore never types twice. The mark is set to `typing:ID` before
typing and to `ID` after: a restore killed in between leaves a mark the next run
checks against the screen (never lost, never typed twice). Rounds run under a
lock, so concurrent restores type once.

How a line is typed, and why this way
-------------------------------------
Nothing in a shell tells another process what its line editor holds or which
mode it is in, so the typist reads the screen, which is what the user sees
too. The text up to the cursor on the cursor's row (`Tmux.cursor_rows`: rows
as wide as the pane, wrapped rows not joined, cut at the cursor's column, so a
zsh RPROMPT or a fish autosuggestion to the right of the cursor never counts)
is the pane's *line*.

1. **An empty line.** The line is remembered when the prompt first shows (the
   cursor past column 0 on a screen with text). It must then stay the same for
   SETTLE seconds and still be the same just before typing. Where a client
   shows the pane (the user's keys reach it) and the line grew at the cursor on
   the same row, someone is typing: the pane is skipped, never typed into.
   Elsewhere a change is the shell still drawing and the line is remembered
   anew. (What the user typed before restore first looked at the pane cannot
   be told from a prompt; the reading back below still refuses to press Enter
   on a line that is not exactly the remembered one plus ours.)
2. **Insert state.** ONE space is typed first and must appear at the cursor
   (line = remembered line + " "). In vi command mode a space only moves the
   cursor, in copy mode it goes nowhere: the pane is skipped, nothing else is
   typed. The leading space stays: it keeps the line out of the shell's
   history with HISTCONTROL=ignorespace/ignoreboth (Debian's default), zsh's
   HIST_IGNORE_SPACE and in fish.
3. **Read back before Enter.** The text is typed, and the line is read back
   until it holds exactly remembered line + " " + text (bounded: ECHO_WAIT plus
   a little per KB). Characters outside printable ASCII may be shown by the
   shell in its own way (bash in the C locale writes é as \\303\\251), so each
   run of them matches any short run of screen text; all ASCII, the remembered
   line and the space must match exactly, so nothing typed before our text can
   hide. Only then is Enter pressed (`prompt` start mode: never). Otherwise C-u
   clears what was typed (bash and zsh in emacs or vi insert mode, fish, and
   dash through the tty's kill character) and the pane is skipped with the line
   as it read back.

Per-pane failures (a tmux error, anything unexpected) are logged with the pane
and the reason and never stop the other panes.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from typing import Any, Callable, Optional

from assistant_resurrect import procs, store
from assistant_resurrect.fileio import locked
from assistant_resurrect.guards import guard
from assistant_resurrect.log import Log
from assistant_resurrect.planner import Plan
from assistant_resurrect.tmux import MAX_TYPED_BYTES, CursorRows, Pane, Tmux

MARKER = "@assistant-resurrect-restored"
PROMPT = "@assistant-resurrect-prompt"  # the line seen while no client showed the pane
RESTORE_LOCK = store.RESTORE_LOCK
TYPING = "typing:"  # marker prefix while a command is being typed
POLL = 0.1
SETTLE = 0.3  # seconds a prompt's line must stay the same before typing
ECHO_WAIT = 2.0  # seconds for a shell to echo what was typed (plus PER_KB per KB)
PER_KB = 0.25
READ_POLL = 0.02
STILL = 1.0  # seconds an unchanged screen means the shell has finished echoing
MAX_ECHO_WAIT = 60.0  # seconds, whatever the screen does
TAIL = 200  # characters of a garbled line's ASCII end that must read back (see _type_line)


class Typed:
    """What a run typed: panes whose line got its Enter (for watch.Started)."""

    __slots__ = ("count", "started")

    def __init__(self) -> None:
        self.count = 0
        self.started: list[tuple[str, str, str, str]] = []  # pane ID, address, tool, ID

    def __int__(self) -> int:
        return self.count


class _State:
    """What the typist remembers of one waiting pane between rounds."""

    __slots__ = ("line", "row", "saved", "since")

    def __init__(self) -> None:
        self.line: Optional[str] = None  # its line when the prompt showed
        self.row = -1  # and the cursor's row then
        self.since = 0.0
        self.saved = False  # `line` was seen while no client showed the pane


def _width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def before_cursor(row: str, cursor_x: int) -> str:
    """The characters of `row` left of column `cursor_x`."""
    col = 0
    for i, ch in enumerate(row):
        if col >= cursor_x:
            return row[:i]
        col += _width(ch)
    return row + " " * max(0, cursor_x - col)


def line_of(screen: CursorRows) -> str:
    """The cursor's row up to the cursor."""
    return before_cursor(screen.rows[-1] if screen.rows else "", screen.cursor_x)


def texts_to_cursor(screen: CursorRows) -> list[str]:
    """The text from the start of each row above (nearest first) to the cursor:
    the candidates for a line that began on that row and wrapped down."""
    if not screen.rows:
        return [""]
    last = screen.rows[-1]
    # Cut at the cursor; and the whole row: where the cursor waits to wrap at the
    # row's end, or where the terminal's width of a character (an emoji, an
    # unassigned code point) is not Python's and the cut misses.
    heads = [before_cursor(last, screen.cursor_x), last.rstrip(" ")]
    out: list[str] = []
    above = ""
    for i in range(len(screen.rows) - 1, -1, -1):
        if i < len(screen.rows) - 1:
            above = screen.rows[i] + above
        out.extend(above + h for h in heads)
    return out


def typed_pattern(prefix: str, text: str) -> re.Pattern[str]:
    """The screen text of `prefix` (screen text itself: literal) followed by
    `text` as a shell echoes it: printable ASCII exactly, each run of other
    characters as any short run (a shell shows them in its own way)."""
    parts = [re.escape(prefix)]
    for run in re.findall(r"[\x20-\x7e]+|[^\x20-\x7e]+", text):
        if " " <= run[0] <= "~":
            parts.append(re.escape(run))
        else:
            parts.append(f".{{0,{16 * len(run) + 2}}}?")
    return re.compile("".join(parts), re.DOTALL)


def _unspaced(text: str) -> str:
    return text.replace(" ", "")


def ascii_tail(text: str) -> str:
    """`text` after its last character outside printable ASCII (all of it if none)."""
    for i in range(len(text) - 1, -1, -1):
        if not " " <= text[i] <= "~":
            return text[i + 1 :]
    return text


def ends_at_cursor(screen: CursorRows, bare: str, least: int = 12) -> bool:
    """Does the text just before the cursor (this row, or with the row above) end
    like `bare` (at least `least` characters of it)? For a shell that redraws a
    line garbled (bash under LC_ALL=C counts a UTF-8 character's columns
    differently from the terminal and writes a wrapped line's last row over
    the start of that row): the end of the line, with the session ID, still
    sits at the cursor, while the rest of the screen no longer reads as the line."""
    if not screen.rows or not bare:
        return False
    # Cut at the cursor, and the whole row: a shell whose width of a character
    # is not the terminal's puts its cursor a few columns off the line's end.
    heads = {
        _unspaced(before_cursor(screen.rows[-1], screen.cursor_x)),
        _unspaced(screen.rows[-1].rstrip(" ")),
    }
    candidates = list(heads)
    if len(screen.rows) > 1:
        candidates.extend(_unspaced(screen.rows[-2]) + h for h in heads)
    need = min(least, len(bare))
    for c in candidates:
        k = min(len(c), len(bare))
        if k >= need and c[-k:] == bare[-k:]:
            return True
    return False


def reads_back(screen: CursorRows, pattern: re.Pattern[str], literal: str) -> bool:
    """Does a line starting on some row above end at the cursor matching `pattern`?"""
    return any(
        t.startswith(literal) and pattern.fullmatch(t) is not None for t in texts_to_cursor(screen)
    )


def type_when_ready(
    tmux: Tmux,
    todo: list[Plan],
    deadline: float,
    allowed: frozenset[str],
    log: Log,
    enter: bool = True,
) -> Typed:
    """Type each plan's command as soon as its pane is ready, all panes at once.

    Each round takes one pane listing and one process snapshot, re-checks every
    waiting pane's guards, and types into those whose shell shows its prompt on
    an unchanged, empty line (see the module docstring). `enter` off (start mode
    `prompt`): the line is typed and left for the user's Enter. Returns what was
    typed.
    """
    done = Typed()
    waiting: dict[str, Plan] = {}
    for p in todo:
        if p.pane is None or p.text is None or p.session is None:
            continue
        pane_id = p.pane.pane_id
        other = waiting.get(pane_id)
        if other is not None and other.session is not None:
            log(
                f"two saved sessions for pane {p.address} ({pane_id}): "
                f"{other.session.tool} {other.session.session_id} and "
                f"{p.session.tool} {p.session.session_id}; typing the first, skipping "
                f"{p.session.session_id}"
            )
            continue
        size = len(p.text.encode("utf-8", "surrogateescape"))
        if size > MAX_TYPED_BYTES:
            log(
                f"skip {p.address}: its command line is {size} bytes, more than tmux takes "
                f"in one command ({MAX_TYPED_BYTES}); start it by hand: "
                "assistant-resurrect status shows it"
            )
            continue
        waiting[pane_id] = p
    if not waiting:
        return done
    pacer = _pacer(tmux, log)
    per_tool: dict[str, int] = {}
    for p in waiting.values():
        assert p.session is not None
        per_tool[p.session.tool] = per_tool.get(p.session.tool, 0) + 1
    stagger = float(getattr(pacer, "seconds", 0.0) or 0.0)
    deadline += stagger * max(per_tool.values())
    states = {pane_id: _State() for pane_id in waiting}
    reasons: dict[str, str] = {}
    lock_path = tmux.settings.resurrect_dir / RESTORE_LOCK
    os.makedirs(lock_path.parent, exist_ok=True)
    while waiting:
        with locked(lock_path):  # concurrent restores: one round at a time
            _type_round(tmux, waiting, states, allowed, log, reasons, done, pacer, enter)
        if not waiting:
            break
        if time.monotonic() >= deadline:
            for pane_id, p in waiting.items():
                log(f"skip {p.address}: not ready in time ({reasons.get(pane_id)})")
            break
        time.sleep(POLL)
    return done


def _pacer(tmux: Tmux, log: Log) -> Any:
    """The stagger between two starts of one tool (pacing.py); none without it."""
    try:
        from assistant_resurrect.pacing import Pacer
    except ImportError:
        return None
    try:
        return Pacer.of(tmux.settings, log)
    except Exception as exc:  # a broken option must not stop restore
        log(f"no stagger between starts: {type(exc).__name__}: {exc}")
        return None


def _type_round(
    tmux: Tmux,
    waiting: dict[str, Plan],
    states: dict[str, _State],
    allowed: frozenset[str],
    log: Log,
    reasons: dict[str, str],
    done: Typed,
    pacer: Any,
    enter: bool,
) -> None:
    """One round under the restore lock: fresh panes (with the markers other
    runs set), fresh processes, guards, then type into the ready panes. A
    failure in one pane is logged and ends only that pane's wait."""
    by_id = {pane.pane_id: pane for pane in tmux.list_panes()}
    snap = procs.snapshot()
    for pane_id, p in list(waiting.items()):
        try:
            finished = _one_pane(
                tmux,
                p,
                by_id.get(pane_id),
                states[pane_id],
                snap,
                allowed,
                log,
                reasons,
                done,
                pacer,
                enter,
            )
        except Exception as exc:
            log(f"skip {p.address} ({pane_id}): {type(exc).__name__}: {exc}")
            finished = True
        if finished:
            del waiting[pane_id]


def _one_pane(
    tmux: Tmux,
    p: Plan,
    fresh: Optional[Pane],
    state: _State,
    snap: procs.Snapshot,
    allowed: frozenset[str],
    log: Log,
    reasons: dict[str, str],
    done: Typed,
    pacer: Any,
    enter: bool,
) -> bool:
    """One waiting pane in one round. True: its wait is over (typed or skipped)."""
    assert p.session is not None and p.text is not None and p.pane is not None
    pane_id = p.pane.pane_id
    sid = p.session.restore_key
    tool = p.session.tool
    if fresh is not None and fresh.restored_marker == TYPING + sid:
        return _interrupted(tmux, p, fresh, snap, allowed, log, done, enter)
    if fresh is None or fresh.restored_marker == sid:
        log(
            f"skip {p.address}: "
            + ("the pane went away" if fresh is None else "already restored by another run")
        )
        return True
    reason = guard(fresh, snap, allowed)
    if reason is not None:
        reasons[pane_id] = reason
        return False
    screen = tmux.cursor_rows(pane_id)
    line = line_of(screen)
    now = time.monotonic()
    if screen.cursor_x == 0 or not any(r.strip() for r in screen.rows):
        reasons[pane_id] = "no shell prompt yet"
        return False
    if state.line is None and fresh.saved_prompt:
        state.line, state.row, state.since = fresh.saved_prompt, -1, float("-inf")
        state.saved = True
    if state.line is not None and line != state.line:
        # Text added at the cursor where nobody but the user can have typed it
        # (seen while no client showed the pane, or the user's keys reach it).
        grew = line.startswith(state.line) and line[len(state.line) :].strip()
        if grew and (state.saved or (fresh.keys_reach and screen.row_number == state.row)):
            _forget_prompt(tmux, fresh)
            log(
                f"skip {p.address}: its command line is not empty (it reads {line!r}, "
                f"its prompt was {state.line!r}): nothing typed; start it by hand: "
                "assistant-resurrect status shows it"
            )
            return True
        state.line = None
    if state.line is None:
        state.line, state.row, state.since, state.saved = line, screen.row_number, now, False
        reasons[pane_id] = "its prompt is still being drawn"
        return False
    if now - state.since < SETTLE:
        reasons[pane_id] = "its prompt is still being drawn"
        return False
    if enter and pacer is not None:
        wait = pacer.wait_for(tool)
        if wait > 0:
            reasons[pane_id] = "staggered"
            return False
    typed = _type_line(tmux, p, state.line, log)
    _forget_prompt(tmux, fresh)
    if not typed:
        return True
    if enter:
        tmux.send_enter(pane_id)
        if pacer is not None:
            pacer.started(tool)
        done.started.append((pane_id, p.address, tool, sid))
    tmux.set_pane_option(pane_id, MARKER, sid)
    done.count += 1
    how = "" if enter else " (typed, waiting for your Enter)"
    log(f"restored {tool} in {p.address} ({pane_id}){how}: {p.log_text}")
    return True


def _forget_prompt(tmux: Tmux, pane: Pane) -> None:
    if pane.saved_prompt:
        tmux.unset_pane_option(pane.pane_id, PROMPT)


def remember_prompts(tmux: Tmux, plans: list[Plan], log: Log) -> None:
    """For panes left waiting for a client: their line now, while no client shows
    them and so nobody can type there (pane option PROMPT). When the client
    comes, text added to it is the user's, and nothing is typed."""
    for p in plans:
        if p.pane is None or p.pane.keys_reach:
            continue
        try:
            screen = tmux.cursor_rows(p.pane.pane_id)
            line = line_of(screen)
            if screen.cursor_x > 0 and not screen.in_mode and not line.endswith(";"):
                tmux.set_pane_option(p.pane.pane_id, PROMPT, line)
        except Exception as exc:  # it only sharpens a later check
            log(f"{p.address}: its prompt not remembered ({type(exc).__name__}: {exc})")


def _type_line(tmux: Tmux, p: Plan, prompt: str, log: Log) -> bool:
    """Type " " + text after `prompt` and read it back; True when the line holds
    exactly that (Enter still to press)."""
    assert p.pane is not None and p.session is not None and p.text is not None
    pane_id = p.pane.pane_id
    sid = p.session.restore_key
    tmux.set_pane_option(pane_id, MARKER, TYPING + sid)
    tmux.send_literal(pane_id, " ")
    probe = prompt + " "
    screen = _read_until(tmux, pane_id, 0, ECHO_WAIT, lambda s: line_of(s) == probe)
    if screen is None or line_of(screen) != probe:
        got = line_of(screen) if screen is not None else "?"
        tmux.unset_pane_option(pane_id, MARKER)
        log(
            f"skip {p.address}: a typed space did not appear at the cursor (the line "
            f"reads {got!r}): its shell is not taking text (vi command mode?); "
            "nothing else typed"
        )
        return False
    tmux.send_literal(pane_id, p.text)
    expected = probe + p.text
    pattern = typed_pattern(probe, p.text)
    width = max(screen.width, 1)
    back = len(expected) // width + 2
    wait = ECHO_WAIT + PER_KB * len(expected) / 1024
    tail = ascii_tail(p.text)
    bare = _unspaced(tail)[-TAIL:]
    # Where the line cannot read back whole, its end must: a line longer than
    # TAIL (zsh and fish show only part of a line taller than the screen, fish
    # indents continuation rows), or one with non-ASCII text (a shell whose
    # locale is not the pane's, bash under LC_ALL=C, counts columns wrongly and
    # redraws garbled, with blank cells inside rows; its buffer is right): the
    # last TAIL non-blank characters after the last non-ASCII one (the resume
    # form and session ID at least) must read back at the cursor.
    relaxed = len(expected) > TAIL or tail != p.text

    def echoed(screen: CursorRows) -> bool:
        if reads_back(screen, pattern, probe):
            return True
        if not relaxed:
            return False
        if any(_unspaced(t).endswith(bare) for t in texts_to_cursor(screen)[-2:]):
            return True
        return ends_at_cursor(screen, bare)

    screen = _read_until(tmux, pane_id, back, wait, echoed)
    if screen is not None and echoed(screen):
        return True
    got = line_of(screen) if screen is not None else "?"
    tmux.send_key(pane_id, "C-u")
    tmux.unset_pane_option(pane_id, MARKER)
    shown = got if len(got) <= 120 else got[:60] + "..." + got[-60:]
    log(f"skip {p.address}: the line read back as {shown!r}, not what was typed; cleared")
    return False


def _read_until(
    tmux: Tmux,
    pane_id: str,
    back: int,
    wait: float,
    ok: Callable[[CursorRows], bool],
) -> Optional[CursorRows]:
    """Read the pane's rows until `ok`, or until `wait` seconds passed and the
    screen stopped changing for STILL seconds (a shell redrawing a long line,
    slowly on a loaded machine, is still echoing), at most MAX_ECHO_WAIT
    (the last read)."""
    start = time.monotonic()
    end = start + wait
    screen: Optional[CursorRows] = None
    seen: Optional[tuple[list[str], int, int]] = None
    while True:
        screen = tmux.cursor_rows(pane_id, back)
        if ok(screen):
            return screen
        now = time.monotonic()
        state = (screen.rows, screen.cursor_x, screen.row_number)
        if state != seen:
            seen = state
            end = max(end, min(now + STILL, start + MAX_ECHO_WAIT))
        if now >= end:
            return screen
        time.sleep(READ_POLL)


def _interrupted(
    tmux: Tmux,
    p: Plan,
    fresh: Pane,
    snap: procs.Snapshot,
    allowed: frozenset[str],
    log: Log,
    done: Typed,
    enter: bool,
) -> bool:
    """A restore killed while typing into this pane: if the command reached the
    pane (its session ID is on screen) it is not typed again; if it still sits
    whole at the cursor, unentered, it gets its Enter. A line cut short (the
    kill came mid-text) is cleared and typed anew."""
    assert p.session is not None and p.text is not None
    pane_id = fresh.pane_id
    sid = p.session.restore_key
    tool = p.session.tool
    lines = tmux.screen_lines(pane_id)  # joined: a wrapped ID still reads whole
    screen = tmux.cursor_rows(pane_id, len(p.text) // 10 + 2)
    whole = texts_to_cursor(screen)[-2:]  # all rows up to the cursor (two cuts)
    if any(sid in line for line in lines):
        ending = re.compile("(?:" + typed_pattern("", p.text).pattern + r")\Z", re.DOTALL)
        at_cursor = any(ending.search(t) for t in whole)
        if at_cursor and guard(fresh, snap, allowed) is None:
            if enter:
                tmux.send_enter(pane_id)
                done.started.append((pane_id, p.address, tool, sid))
                how = "pressed Enter on the line an interrupted run typed"
            else:
                how = "an interrupted run typed its line (waiting for your Enter)"
            done.count += 1
            log(f"restored {tool} in {p.address} ({pane_id}): {how}")
        else:
            log(f"skip {p.address}: an interrupted run already typed its command")
        tmux.set_pane_option(pane_id, MARKER, sid)
        return True
    if guard(fresh, snap, allowed) is None and _ends_with_part_of(whole[-1], " " + p.text):
        tmux.send_key(pane_id, "C-u")
        log(f"{p.address}: cleared the part of its line an interrupted run typed")
    tmux.unset_pane_option(pane_id, MARKER)
    return False


def _ends_with_part_of(text: str, own: str) -> bool:
    """Does `text` end with the start of `own` (at least its first two characters)?"""
    head = own[: min(len(own), 8)]
    at = text.rfind(head[:2])
    while at >= 0:
        tail = text[at:]
        if own.startswith(tail) and len(tail) >= 2:
            return True
        at = text.rfind(head[:2], 0, at)
    return False
