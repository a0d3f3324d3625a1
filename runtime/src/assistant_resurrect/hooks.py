"""The agent's command hooks: Claude Code's SessionStart / SessionEnd (below),
Gemini CLI's (gemini_hooks.py), Factory Droid's SessionStart / SessionEnd and
Cursor Agent's sessionStart / beforeSubmitPrompt (at the end).

Claude runs the hook through a shell whose parent chain leads to the Claude
process; the hook walks up that chain to find it and keys the state file by
Claude's own PID (never by the pane shell's), with its start time so that a
reused PID never matches a stale file.

When the state file cannot be written (a state dir owned by another user, a
symlink, writable by others, a full disk), SessionStart says so in one line on
stderr and exits 1: Claude shows a non-zero exit other than 2 as a
non-blocking hook error with that line, and the session goes on (exit 0 would
hide it; 2 is the blocking code of other events).
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


# Exit status of a SessionStart hook that could not record the session: any
# non-zero status but 2 is a non-blocking error for Claude, shown with stderr.
NOT_RECORDED = 1


def _hook_log() -> Log:
    try:
        return Log(paths.state_dir(create=True) / "hooks.log")
    except Exception:
        return Log(None)


def _captured_env() -> dict[str, str]:
    """This process's values of the names in `@assistant-resurrect-capture-env`,
    when inside tmux (one tmux call), without those that look like credentials."""
    if not os.environ.get("TMUX"):
        return {}
    from assistant_resurrect import capture
    from assistant_resurrect.tmux import Tmux

    env_opt, secret_opt = (
        "@assistant-resurrect-capture-env",
        "@assistant-resurrect-capture-secret-env",
    )
    try:
        opts = Tmux().options_of([env_opt, secret_opt], os.environ.get("TMUX_PANE"))
    except Exception:
        return {}
    allow = capture.allowed(opts[secret_opt])
    names = capture.names(opts[env_opt], allow)[0]
    return capture.keep_values({n: os.environ[n] for n in names if n in os.environ}, allow)[0]


def claude_session_start(stdin: Any = None) -> int:
    raw = (stdin or sys.stdin.buffer).read()
    try:
        log = Log(paths.state_dir(create=True) / "hooks.log")
    except StateDirError as exc:  # refused: nothing could be recorded
        return _fail(Log(None), "claude-session-start", "Claude", exc)
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
    env = _captured_env()
    record = dict(payload)
    record.update(
        {
            "tool": "claude",
            "pid": proc.pid,
            "start_time": proc.start,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "timestamp_epoch": round(time.time(), 3),
            "env": env,
        }
    )
    try:
        statefiles.write("claude", proc.pid, record)
    except Exception as exc:
        return _fail(log, "claude-session-start", "Claude", f"cannot write the state file: {exc}")
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


def _gemini(name: str) -> Any:
    """Gemini CLI's hooks live in gemini_hooks.py, imported only when one runs."""

    def run(stdin: Any = None) -> int:
        from assistant_resurrect import gemini_hooks

        return int(gemini_hooks.HOOKS[name](stdin))

    return run


def find_outermost(tool: str, start: Optional[int] = None) -> Optional[procs.Proc]:
    """The outermost process of the nearest run of `tool` ancestors of this
    process (Droid: the node launcher above its native binary and engine; the
    process detection saves), or None."""
    pid = start if start is not None else os.getppid()
    seen = set()
    found: Optional[procs.Proc] = None
    while pid > 1 and pid not in seen:
        seen.add(pid)
        proc = procs.read_proc(pid)
        if proc is None:
            break
        m = assistants.match(_argv(pid))
        if m is not None and m[0].name == tool:
            found = proc
        elif found is not None:
            break  # the run ended: `found` is its top
        pid = proc.ppid
    return found


def _payload(raw: bytes) -> Optional[dict[str, Any]]:
    try:
        payload = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def _record(tool: str, hook: str, sid_key: str, stdin: Any, keep: tuple[str, ...]) -> int:
    """Write `<tool>-<pid>.json` for the outermost `tool` ancestor: the session
    ID the payload names under `sid_key` (when the tool accepts it as one) and
    the payload's `keep` fields. 0 when nothing is to be recorded, NOT_RECORDED
    with one line on stderr when the file cannot be written."""
    raw = b""
    with contextlib.suppress(OSError):
        raw = (stdin or sys.stdin.buffer).read()
    try:
        log = Log(paths.state_dir(create=True) / "hooks.log")
    except StateDirError as exc:
        return _fail(Log(None), hook, tool, exc)
    payload = _payload(raw)
    assistant = assistants.by_name(tool)
    sid = payload.get(sid_key) if payload is not None else None
    if assistant is None or not assistant.valid_session_id(sid):
        log(f"{hook}: no valid {sid_key} in the hook payload; nothing recorded")
        return 0
    proc = find_outermost(tool)
    if proc is None:
        log(f"{hook}: no {tool} process above pid {os.getpid()}; session {sid} not recorded")
        return 0
    assert payload is not None
    record: dict[str, Any] = {k: payload[k] for k in keep if isinstance(payload.get(k), str)}
    record.update(
        {
            "tool": tool,
            "session_id": sid,
            "pid": proc.pid,
            "start_time": proc.start,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "timestamp_epoch": round(time.time(), 3),
            "event": hook,
            "env": _captured_env(),
        }
    )
    try:
        statefiles.write(tool, proc.pid, record)
    except Exception as exc:
        return _fail(log, hook, tool, f"cannot write the state file: {exc}")
    return 0


def _fail(log: Log, hook: str, tool: str, reason: object) -> int:
    """One line on stderr (the tool shows it) and the log, when it can be written."""
    line = (
        f"assistant-resurrect: {reason}; {tool} session IDs will not be saved: "
        "run 'assistant-resurrect doctor'"
    )
    log(f"{hook}: {line}")
    sys.stderr.write(" ".join(line.split()) + "\n")
    return NOT_RECORDED


def droid_session_start(stdin: Any = None) -> int:
    """Factory Droid's SessionStart (0.225.2: run by its engine, `droid exec`,
    below the native binary and the node launcher; payload `session_id`,
    `transcript_path`, `cwd`, `source` startup/resume/clear, `hook_event_name`).
    Exit 1 is a non-blocking error for Droid, as for Claude."""
    return _record("droid", "droid-session-start", "session_id", stdin, ("source", "cwd"))


def droid_session_end(stdin: Any = None) -> int:
    """Droid's SessionEnd: the state file goes, unless it already records
    another session (`/new` ends one session and starts the next in the
    same process)."""
    log = _hook_log()
    raw = b""
    with contextlib.suppress(OSError):
        raw = (stdin or sys.stdin.buffer).read()
    payload = _payload(raw) or {}
    ended = payload.get("session_id")
    proc = find_outermost("droid")
    if proc is None:
        log(f"droid-session-end: no droid process above pid {os.getpid()}; nothing removed")
        return 0
    current = statefiles.StateFiles.load(log).get("droid", proc.pid)
    if ended and current and current.get("session_id") not in (None, ended):
        log(f"droid-session-end: session {ended} ended, pid {proc.pid} records another; kept")
        return 0
    try:
        statefiles.remove("droid", proc.pid)
    except Exception as exc:
        log(f"droid-session-end: cannot remove the state file: {exc}")
    return 0


def _cursor(hook: str, answer: str) -> Any:
    """Cursor Agent's hooks (~/.cursor/hooks.json, documented, not run here):
    `sessionStart` and `beforeSubmitPrompt` both carry `conversation_id` (the
    chat ID `--resume` takes); each prints the JSON answer Cursor reads from
    stdout and never blocks it (exit 0 whatever happened: a non-zero exit of
    `beforeSubmitPrompt` could stop the prompt)."""

    def run(stdin: Any = None) -> int:
        try:
            _record("cursor-agent", hook, "conversation_id", stdin, ("generation_id",))
        except Exception as exc:  # never in the way of the user's prompt
            _hook_log()(f"{hook}: {exc}")
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()
        return 0

    return run


HOOKS = {
    "claude-session-start": claude_session_start,
    "claude-session-end": claude_session_end,
    "gemini-session-start": _gemini("gemini-session-start"),
    "gemini-session-end": _gemini("gemini-session-end"),
    "droid-session-start": droid_session_start,
    "droid-session-end": droid_session_end,
    "cursor-session-start": _cursor("cursor-session-start", "{}"),
    "cursor-prompt": _cursor("cursor-prompt", '{"continue": true}'),
}
