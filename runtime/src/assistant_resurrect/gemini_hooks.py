"""Gemini CLI's SessionStart / SessionEnd command hooks (0.61.0).

Gemini runs a hook through `bash -c` from its inner node process (`gemini`
re-launches itself under node with a larger heap), the payload on stdin:
`{"session_id", "transcript_path", "cwd", "hook_event_name", "timestamp",
"source"}` for SessionStart (`source`: startup, resume, clear) and `reason`
(exit, clear, ...) for SessionEnd. `/clear` (alias `/new`) fires SessionEnd
of the old session, then SessionStart of the new one with its new ID.

The hook walks up its parent chain to the gemini process and keys the state
file `gemini-<pid>.json` by the OUTERMOST gemini of that chain (the process
detection saves), with its start time so that a reused PID never matches a
stale file. A write makes the event saver save within seconds.

Failures never block Gemini: the hook says why in one line on stderr and
exits 1 (Gemini shows a non-zero exit other than 2 as a warning; 2 blocks).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time

from assistant_resurrect import assistants, paths, procs, statefiles
from assistant_resurrect.errors import StateDirError
from assistant_resurrect.log import Log

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Optional

TOOL = "gemini"
NOT_RECORDED = 1  # non-blocking error for Gemini, shown with stderr


def _is_gemini(snap: procs.Snapshot, pid: int) -> bool:
    m = assistants.match(snap.argv(pid))
    return m is not None and m[0].name == TOOL


def find_gemini(start: Optional[int] = None) -> Optional[procs.Proc]:
    """The outermost gemini process of the nearest run of gemini ancestors of
    this process (the node launcher, not the relaunched child), or None."""
    snap = procs.Snapshot()
    pid = start if start is not None else os.getppid()
    seen = set()
    found: Optional[procs.Proc] = None
    while pid > 1 and pid not in seen:
        seen.add(pid)
        proc = procs.read_proc(pid)
        if proc is None:
            break
        if _is_gemini(snap, pid):
            found = proc
        elif found is not None:
            break  # the run of gemini processes ended: `found` is its top
        pid = proc.ppid
    return found


def _log() -> Log:
    try:
        return Log(paths.state_dir(create=True) / "hooks.log")
    except Exception:
        return Log(None)


def _read_payload(stdin: Any) -> Optional[dict]:
    raw = b""
    with contextlib.suppress(OSError):
        raw = (stdin or sys.stdin.buffer).read()
    try:
        payload = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def _not_recorded(log: Log, reason: object) -> int:
    line = (
        f"assistant-resurrect: {reason}; Gemini session IDs will not be saved: "
        "run 'assistant-resurrect doctor'"
    )
    log(f"gemini-session-start: {line}")
    sys.stderr.write(" ".join(line.split()) + "\n")
    return NOT_RECORDED


def gemini_session_start(stdin: Any = None) -> int:
    try:
        log = Log(paths.state_dir(create=True) / "hooks.log")
    except StateDirError as exc:
        with contextlib.suppress(OSError):
            (stdin or sys.stdin.buffer).read()
        return _not_recorded(Log(None), exc)
    payload = _read_payload(stdin)
    if payload is None:
        log("gemini-session-start: stdin is not a JSON object; nothing recorded")
        return 0
    sid = payload.get("session_id")
    if not isinstance(sid, str) or not sid:
        log("gemini-session-start: no session_id in the hook payload; nothing recorded")
        return 0
    proc = find_gemini()
    if proc is None:
        log(f"gemini-session-start: no gemini process above pid {os.getpid()}; {sid} not recorded")
        return 0
    record = {
        "tool": TOOL,
        "pid": proc.pid,
        "start_time": proc.start,
        "session_id": sid,
        "source": payload.get("source") if isinstance(payload.get("source"), str) else None,
        "transcript_path": payload.get("transcript_path")
        if isinstance(payload.get("transcript_path"), str)
        else None,
        "cwd": payload.get("cwd") if isinstance(payload.get("cwd"), str) else None,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "timestamp_epoch": round(time.time(), 3),
    }
    try:
        statefiles.write(TOOL, proc.pid, record)
    except Exception as exc:
        return _not_recorded(log, f"cannot write the state file: {exc}")
    return 0


def gemini_session_end(stdin: Any = None) -> int:
    log = _log()
    payload = _read_payload(stdin) or {}
    ended = payload.get("session_id")
    proc = find_gemini()
    if proc is None:
        log(f"gemini-session-end: no gemini process above pid {os.getpid()}; nothing removed")
        return 0
    reason = payload.get("reason")
    if reason == "clear":
        # SessionStart of the new session follows at once and rewrites the
        # file: removing it now would let a save in between fall back to
        # the launch arguments (the session before the first /clear).
        return 0
    # Never remove the record of a session other than the one that ended,
    # unless Gemini exits (after a /resume from the session browser, which
    # fires no hook, the ending session is the resumed one).
    current = statefiles.StateFiles.load(log).get(TOOL, proc.pid)
    if reason != "exit" and ended and current and current.get("session_id") not in (None, ended):
        log(
            f"gemini-session-end: session {ended} ended but pid {proc.pid} already records "
            f"{current.get('session_id')}; kept"
        )
        return 0
    try:
        statefiles.remove(TOOL, proc.pid)
    except Exception as exc:
        log(f"gemini-session-end: cannot remove the state file: {exc}")
    return 0


HOOKS = {
    "gemini-session-start": gemini_session_start,
    "gemini-session-end": gemini_session_end,
}
