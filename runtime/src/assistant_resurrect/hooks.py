"""Claude Code's SessionStart / SessionEnd command hooks.

Claude runs the hook through a shell whose parent chain leads to the Claude
process; the hook walks up that chain to find it and keys the state file by
Claude's own PID (never by the pane shell's), with its start time so that a
reused PID never matches a stale file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time

from assistant_resurrect import assistants, paths, procs, statefiles
from assistant_resurrect.log import Log

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Optional


def _argv(pid: int) -> list[str]:
    snap = procs.Snapshot()
    return snap.argv(pid)


def find_tool_pid(tool: str, start: Optional[int] = None) -> Optional[procs.Proc]:
    """The nearest ancestor of this process that runs `tool`."""
    pid = start if start is not None else os.getppid()
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        proc = procs.read_proc(pid)
        if proc is None:
            return None
        m = assistants.match(_argv(pid))
        if m is not None and m[0].name == tool:
            return proc
        pid = proc.ppid
    return None


def _hook_log() -> Log:
    try:
        return Log(paths.state_dir(create=True) / "hooks.log")
    except Exception:
        return Log(None)


def _capture_names() -> list[str]:
    """Names from `@assistant-resurrect-capture-env` when inside tmux (one tmux call)."""
    if not os.environ.get("TMUX"):
        return []
    from assistant_resurrect import capture
    from assistant_resurrect.tmux import Tmux

    env_opt, secret_opt = (
        "@assistant-resurrect-capture-env",
        "@assistant-resurrect-capture-secret-env",
    )
    try:
        opts = Tmux().options_of([env_opt, secret_opt], os.environ.get("TMUX_PANE"))
    except Exception:
        return []
    return capture.names(opts[env_opt], capture.allowed(opts[secret_opt]))[0]


def claude_session_start(stdin: Any = None) -> int:
    log = _hook_log()
    raw = (stdin or sys.stdin.buffer).read()
    try:
        payload = json.loads(raw or b"{}")
    except (ValueError, RecursionError) as exc:
        log(f"claude-session-start: stdin is not JSON ({exc}); nothing recorded")
        return 0
    if not isinstance(payload, dict) or not payload.get("session_id"):
        log("claude-session-start: no session_id in the hook payload; nothing recorded")
        return 0
    proc = find_tool_pid("claude")
    if proc is None:
        log(
            f"claude-session-start: no claude process above pid {os.getpid()}; session "
            f"{payload.get('session_id')} not recorded"
        )
        return 0
    names = _capture_names()
    record = dict(payload)
    record.update(
        {
            "tool": "claude",
            "pid": proc.pid,
            "start_time": proc.start,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "timestamp_epoch": round(time.time(), 3),
            "env": {n: os.environ[n] for n in names if n in os.environ},
        }
    )
    try:
        statefiles.write("claude", proc.pid, record)
    except Exception as exc:
        log(f"claude-session-start: cannot write the state file: {exc}")
        sys.stderr.write(f"assistant-resurrect: {exc}\n")
    return 0


def claude_session_end(stdin: Any = None) -> int:
    log = _hook_log()
    raw = b""
    with contextlib.suppress(OSError):
        raw = (stdin or sys.stdin.buffer).read()
    try:
        payload = json.loads(raw or b"{}")
    except ValueError:
        payload = {}
    ended = payload.get("session_id") if isinstance(payload, dict) else None
    proc = find_tool_pid("claude")
    if proc is None:
        log(f"claude-session-end: no claude process above pid {os.getpid()}; nothing removed")
        return 0
    # /clear and /resume end one session and start another in the same
    # process: never remove the record of the session that replaced it.
    current = statefiles.StateFiles.load(log).get("claude", proc.pid)
    if ended and current and current.get("session_id") not in (None, ended):
        log(
            f"claude-session-end: session {ended} ended but pid {proc.pid} already records "
            f"{current.get('session_id')}; kept"
        )
        return 0
    try:
        statefiles.remove("claude", proc.pid)
    except Exception as exc:
        log(f"claude-session-end: cannot remove the state file: {exc}")
    return 0


HOOKS = {
    "claude-session-start": claude_session_start,
    "claude-session-end": claude_session_end,
}
