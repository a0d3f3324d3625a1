"""`status`: what a save would record now, and what restore would type.

"Restore would type" comes from the restore planner itself (planner.plan, for
the pane as tmux-resurrect would bring it back), so it is the very line a
restore types: the same `cd`, the same quoting for the pane's shell.
What the last restore saw of each pane (watch.py's report: the assistant kept
running, or exited with this line) follows the table.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional

from assistant_resurrect import procs, store, watch
from assistant_resurrect.log import Log
from assistant_resurrect.planner import plan
from assistant_resurrect.save import collect
from assistant_resurrect.session import SavedSession
from assistant_resurrect.tmux import Tmux


def _cell(value: object, width: int) -> str:
    text = "-" if value in (None, "") else str(value)
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[tuple[object, ...]], widths: tuple[int, ...], out: Callable[[str], None]):
    for row in rows:
        out("  ".join(_cell(v, w).ljust(w) for v, w in zip(row, widths)).rstrip())


def status(tmux: Tmux, out: Callable[[str], None] = print) -> int:
    panes = tmux.list_panes()
    settings = tmux.settings
    sessions = collect(tmux, panes, Log(None))
    by_pane = {s.pane: s for s in sessions}
    by_addr = {p.address: p for p in panes}
    snap = procs.snapshot()
    env_names = settings.replay_env_names
    rows: list[tuple[object, ...]] = [
        ("PANE", "TOOL", "SESSION ID", "FOUND BY", "RESTORE WOULD TYPE")
    ]
    for pane in panes:
        s = by_pane.get(pane.address)
        if s is None:
            rows.append((pane.address, "-", "-", "-", "nothing (no assistant)"))
            continue
        p = plan(s, by_addr, snap, settings.shells, env_names, check_panes=False)
        would = f"nothing ({p.skip})" if p.skip else p.text
        rows.append((pane.address, s.tool, s.session_id, s.id_source, would))
    _table(rows, (24, 9, 38, 11, 70), out)
    rdir = settings.resurrect_dir
    last = store.last_layout(rdir)
    out("")
    out(f"{len(sessions)} assistant session(s) in {len(panes)} pane(s); resurrect dir {rdir}")
    if last is not None:
        sidecar = store.sidecar_for(last)
        out(f"last save: {last.name} -> {sidecar.name if sidecar.exists() else 'no sidecar'}")
        out(store.restore_source(rdir))
        out(coverage(sidecar, sessions))
    else:
        out("last save: none yet")
    checked(rdir, {p.address for p in panes}, out)
    waiting(tmux, out)
    return 0


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    if seconds < 172800:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


def coverage(sidecar: Path, sessions: list[SavedSession], now: Optional[float] = None) -> str:
    """How old the last save is and whether every running assistant is in it with
    the session it shows now."""
    try:
        age = (time.time() if now is None else now) - sidecar.stat().st_mtime
        doc = store.read(sidecar)
    except Exception as exc:
        return f"last save: its sidecar cannot be read ({exc})"
    saved = set()
    for entry in doc.get("sessions") or []:
        if isinstance(entry, dict):
            saved.add((entry.get("pane"), entry.get("tool"), entry.get("session_id") or None))
    missing = [s for s in sessions if (s.pane, s.tool, s.session_id or None) not in saved]
    head = f"last save {_age(age)} ago: "
    if not sessions:
        return head + "no assistant runs now"
    if not missing:
        return head + f"all {len(sessions)} running assistant(s) are in it, with their sessions"
    names = ", ".join(f"{s.pane} {s.tool} {s.session_id or '(no ID)'}" for s in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    return (
        head + f"{len(sessions) - len(missing)} of {len(sessions)} running assistant(s) are in "
        f"it; not saved as they are now: {names}{more}"
    )


def checked(rdir: Path, addresses: set[str], out: Callable[[str], None]) -> None:
    """The last restore's check of each pane that exists now (watch.py's report)."""
    latest = watch.latest_by_address(watch.read_report(rdir))
    shown = [e for address, e in sorted(latest.items()) if address in addresses]
    if not shown:
        return
    out("")
    out(f"what the last restore saw of {len(shown)} pane(s) ({watch.REPORT}):")
    rows: list[tuple[object, ...]] = [("PANE", "TOOL", "SESSION ID", "RESTORE")]
    rows += [(e["address"], e["tool"], e["session_id"], watch.describe(e)) for e in shown]
    _table(rows, (24, 9, 38, watch.MAX_LINE + 40), out)


def waiting(tmux: Tmux, out: Callable[[str], None]) -> None:
    """The resumes that restore left waiting for a client to show their session."""
    from assistant_resurrect import pending

    items = [(w.since, saved) for w in pending.read_only(tmux).values() for _, saved in w.entries]
    if not items:
        return
    out("")
    out(f"{len(items)} resume(s) waiting for a client to show their session:")
    rows: list[tuple[object, ...]] = [("PANE", "TOOL", "SESSION ID", "WAITING SINCE")]
    rows += [(s.pane, s.tool, s.session_id, since) for since, s in items]
    _table(rows, (24, 9, 38, 20), out)
