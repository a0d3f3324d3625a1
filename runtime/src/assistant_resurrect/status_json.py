"""`status --json`: the status of this host as one JSON document (fleet view).

The layout is docs/status.schema.json (`"schema": 1`), documented in the
README. It is printed whether or not a tmux server runs: without one the
sessions list is empty, `tmux.reason` says why, and the last save is still
read from the resurrect dir (its `last` layout and our sidecar). The panes'
lines come from the planner (as in the status table), the problems from
doctor's checks (doctor.check), the last restore from watch.py's report.

Every string is made valid Unicode (a byte that was not UTF-8, kept by tmux's
output decoding as a lone surrogate, becomes U+FFFD) and the document is
ASCII JSON: newlines and control characters in a cwd or an argument are
escaped, so stdout is always one valid document.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

from assistant_resurrect import __version__, doctor, procs, store, watch
from assistant_resurrect.errors import AgentError, SidecarError
from assistant_resurrect.log import Log
from assistant_resurrect.planner import plan
from assistant_resurrect.save import collect
from assistant_resurrect.settings import Settings
from assistant_resurrect.tmux import Pane, Tmux

SCHEMA = 1
_ISO = "%Y-%m-%dT%H:%M:%SZ"
_ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def iso(seconds: float) -> str:
    """UTC ISO 8601 to the second."""
    return time.strftime(_ISO, time.gmtime(seconds))


def clean(value: Any) -> Any:
    """`value` with every string valid Unicode (lone surrogates -> U+FFFD)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            pass
        try:
            raw = value.encode("utf-8", "surrogateescape")  # tmux's undecodable bytes
        except UnicodeEncodeError:
            raw = value.encode("utf-8", "surrogatepass")  # a \ud800 read from JSON
        return raw.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def _user() -> dict[str, Any]:
    uid = os.getuid()
    try:
        import pwd

        name = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        name = str(uid)
    return {"name": name, "uid": uid}


def default_socket(tmux: Tmux) -> Optional[str]:
    """The socket the tmux client would connect to (tmux's own rule)."""
    args = tmux.socket_args
    if args and args[0] == "-S":
        return os.path.abspath(args[1])
    if not args and os.environ.get("TMUX"):
        return os.environ["TMUX"].split(",")[0] or None
    name = args[1] if args else "default"
    base = os.environ.get("TMUX_TMPDIR") or "/tmp"
    return os.path.join(base, f"tmux-{os.getuid()}", name)


def tmux_state(tmux: Tmux) -> tuple[dict[str, Any], Optional[list[Pane]]]:
    """The `tmux` section, and the panes (None when no server answered)."""
    state: dict[str, Any] = {"running": False, "version": None, "socket": None, "reason": None}
    try:
        state["version"] = tmux.run("-V").strip() or None
    except AgentError as exc:  # tmux not found or not runnable
        state["reason"] = str(exc)
        return state, None
    state["socket"] = default_socket(tmux)
    try:
        panes = tmux.list_panes()
    except AgentError as exc:
        state["reason"] = str(exc)
        return state, None
    state["running"] = True
    asked = tmux.run("display-message", "-p", "#{socket_path}", check=False).strip()
    if asked:
        state["socket"] = asked
    return state, panes


def sessions(tmux: Tmux, panes: list[Pane]) -> list[dict[str, Any]]:
    """Each pane with an assistant: what a save records and what restore would type."""
    settings = tmux.settings
    found = collect(tmux, panes, Log(None))
    by_addr = {p.address: p for p in panes}
    snap = procs.snapshot()
    rows = []
    for s in found:
        line = reason = None
        try:
            p = plan(
                s, by_addr, snap, settings.shells, settings.replay_env_names, check_panes=False
            )
            line, reason = (None, p.skip) if p.skip else (p.text, None)
        except Exception as exc:  # one pane's failure never hides the others
            reason = f"cannot plan: {type(exc).__name__}: {exc}"
        rows.append(
            {
                "pane": s.pane,
                "tool": s.tool,
                "session_id": s.session_id,
                "found_by": s.id_source,
                "args": list(s.cli_args),
                "model": s.model,
                "cwd": s.cwd,
                "restore_line": line,
                "restore_reason": reason,
            }
        )
    return rows


def last_save(rdir: Path, now: float) -> Optional[dict[str, Any]]:
    """The save `last` points at, read from disk: what a restore would use."""
    layout = store.last_layout(rdir)
    if layout is None:
        return None
    sidecar: Optional[Path] = None
    error = None
    doc: dict[str, Any] = {}
    try:
        sidecar, doc = store.for_restore(rdir, None, lambda _line: None)
    except SidecarError as exc:
        error = str(exc)
    by_tool: dict[str, int] = {}
    for entry in doc.get("sessions") or []:
        tool = entry.get("tool") if isinstance(entry, dict) else None
        if isinstance(tool, str) and tool:
            by_tool[tool] = by_tool.get(tool, 0) + 1
    stamp = doc.get("timestamp")
    when: Optional[float] = None
    if isinstance(stamp, str) and _ISO_RE.match(stamp):
        when = float(calendar.timegm(time.strptime(stamp, _ISO)))
    else:
        try:
            when = layout.stat().st_mtime
        except OSError:
            when = None
    return {
        "time": iso(when) if when is not None else None,
        "age_seconds": max(0, int(now - when)) if when is not None else None,
        "layout": str(layout),
        "sessions_by_tool": by_tool,
        "sidecar": str(sidecar) if sidecar is not None else None,
        "sidecar_error": error,
    }


def last_restore(rdir: Path) -> Optional[dict[str, Any]]:
    """What the last restore saw of each pane (watch.py's report), or None."""
    path = watch.report_path(rdir)
    if not os.path.lexists(path):
        return None
    latest = watch.latest_by_address(watch.read_report(rdir))
    entries = [
        {
            "pane": e["address"],
            "tool": e["tool"],
            "session_id": e["session_id"],
            "outcome": e["outcome"],
            "line": e["line"],
            "at": iso(float(e["at"])),
        }
        for e in sorted(latest.values(), key=lambda e: float(e["at"]))
    ]
    return {"report": str(path), "entries": entries}


def document(tmux: Tmux, now: Optional[float] = None) -> dict[str, Any]:
    """The status document (schema 1). A part that fails is left empty and its
    failure is one of the `problems`: the document is always complete."""
    now = time.time() if now is None else now
    problems: list[dict[str, str]] = []

    def failed(what: str, exc: Exception) -> None:
        problems.append(
            {
                "level": "problem",
                "message": f"status could not read {what}: {type(exc).__name__}: {exc}",
            }
        )

    state, panes = tmux_state(tmux)
    settings = Settings({})
    rows: list[dict[str, Any]] = []
    if panes is not None:
        try:
            settings = tmux.settings
            rows = sessions(tmux, panes)
        except Exception as exc:
            failed("the panes' assistants", exc)
    rdir = settings.resurrect_dir
    saved = restored = None
    try:
        saved = last_save(rdir, now)
    except Exception as exc:
        failed("the last save", exc)
    try:
        restored = last_restore(rdir)
    except Exception as exc:
        failed("the last restore's report", exc)
    try:
        problems[:0] = doctor.check(tmux).as_data()
    except Exception as exc:
        failed("doctor's checks", exc)
    return {
        "schema": SCHEMA,
        "agent_version": __version__,
        "host": socket.gethostname(),
        "user": _user(),
        "generated_at": iso(now),
        "tmux": state,
        "sessions": rows,
        "last_save": saved,
        "problems": problems,
        "last_restore": restored,
    }


def encode(doc: dict[str, Any]) -> str:
    """The document as ASCII JSON text (valid Unicode strings), ending in a newline."""
    return json.dumps(clean(doc), ensure_ascii=True, indent=2, allow_nan=False) + "\n"


def status_json(tmux: Tmux, write: Optional[Callable[[str], Any]] = None) -> int:
    """Print the document; 0 whenever it was printed."""
    (write or sys.stdout.write)(encode(document(tmux)))
    return 0
