"""`status`: what a save would record now, and what restore would type."""

from __future__ import annotations

from typing import Callable

from assistant_resurrect import assistants, command, paths, store
from assistant_resurrect.log import Log
from assistant_resurrect.save import collect
from assistant_resurrect.tmux import Tmux


def _cell(value: object, width: int) -> str:
    text = "-" if value in (None, "") else str(value)
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= width else text[: width - 1] + "…"


def status(tmux: Tmux, out: Callable[[str], None] = print) -> int:
    panes = tmux.list_panes()
    sessions = collect(tmux, panes, Log(None))
    by_pane = {s["pane"]: s for s in sessions}
    rows = [("PANE", "TOOL", "SESSION ID", "FOUND BY", "RESTORE WOULD TYPE")]
    for pane in panes:
        s = by_pane.get(pane.address)
        if s is None:
            rows.append((pane.address, "-", "-", "-", "nothing (no assistant)"))
            continue
        tool = assistants.by_name(s["tool"])
        if not s["session_id"] or tool is None:
            would = "nothing (no session ID found)"
        else:
            argv = tool.resume_argv(s["program"], s["cli_args"], s["session_id"])
            try:
                would = command.build(argv, s["env"], None, None, "bash")
            except command.UnquotableError as exc:
                would = f"nothing ({exc})"
        rows.append((pane.address, s["tool"], s["session_id"], s["id_source"], would))
    widths = (24, 9, 38, 11, 70)
    for row in rows:
        out("  ".join(_cell(v, w).ljust(w) for v, w in zip(row, widths)).rstrip())
    rdir = paths.resurrect_dir(tmux.options.get("@resurrect-dir"))
    last = store.last_layout(rdir)
    out("")
    out(f"{len(sessions)} assistant session(s) in {len(panes)} pane(s); resurrect dir {rdir}")
    if last is not None:
        sidecar = store.sidecar_for(last)
        out(f"last save: {last.name} -> {sidecar.name if sidecar.exists() else 'no sidecar'}")
    waiting(tmux, out)
    return 0


def waiting(tmux: Tmux, out: Callable[[str], None]) -> None:
    """The resumes that restore left waiting for a client to show their session."""
    from assistant_resurrect import pending

    sessions = pending.read_only(tmux)
    items = [
        (s.get("name"), s.get("since"), item.get("entry") or {})
        for s in sessions.values()
        if isinstance(s, dict)
        for item in s.get("entries") or []
        if isinstance(item, dict) and isinstance(item.get("entry"), dict)
    ]
    if not items:
        return
    out("")
    out(f"{len(items)} resume(s) waiting for a client to show their session:")
    rows: list[tuple[object, ...]] = [("PANE", "TOOL", "SESSION ID", "WAITING SINCE")]
    rows += [(e.get("pane"), e.get("tool"), e.get("session_id"), since) for _, since, e in items]
    widths = (24, 9, 38, 20)
    for row in rows:
        out("  ".join(_cell(v, w).ljust(w) for v, w in zip(row, widths)).rstrip())
