"""Event saves, the cheap part: asking for one (`event`), starting this server's
sentinel (`save-finish`, `restore`) and its lock. What the sentinel does is in
sentinel.py; this module stays light for the hooks' path.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path

from assistant_resurrect import paths, served

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

    from assistant_resurrect.log import Log
    from assistant_resurrect.tmux import Tmux

OPTION = "@assistant-resurrect-event-save"
REQUEST = "event-request"
LOG = "assistant-events.log"


def enabled(value: str) -> bool:
    return value.strip().lower() not in ("off", "0", "no", "false")


def lock_path(state: Path, server_pid: str) -> Path:
    return state / f"sentinel-{server_pid}.lock"


def _server(tmux: Tmux) -> tuple[str, str]:
    """(socket path, server pid) of the tmux server `tmux` talks to: from $TMUX
    inside tmux (hooks, no tmux call), else asked."""
    inside = served.inside_server()
    if not tmux.socket_args and inside is not None:
        return inside
    rec = tmux.query(["display-message", "-p"], ("socket_path", "pid"))
    if len(rec) != 1 or len(rec[0]) != 2 or not rec[0][1].isdigit():
        from assistant_resurrect.errors import TmuxError

        raise TmuxError("tmux did not say its socket and pid")
    return rec[0][0], rec[0][1]


def _try_lock(path: Path) -> Optional[int]:
    """An fd holding an exclusive flock on `path`, or None when another holds it."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    return fd


def held(path: Path) -> bool:
    """Whether another process holds the flock on `path` (False when it does not exist)."""
    if not path.exists():
        return False
    try:
        fd = _try_lock(path)
    except OSError:
        return False
    if fd is None:
        return True
    os.close(fd)
    return False


def ensure(tmux: Tmux, log: Log) -> None:
    """Start this server's sentinel in the background unless it runs or is off."""
    try:
        if not enabled(tmux.settings.get(OPTION)):
            return
        state = paths.state_dir(create=True)
        socket, pid = _server(tmux)
        if held(lock_path(state, pid)):
            return
        from assistant_resurrect.pending import agent_argv

        argv = [*agent_argv(), "-S", socket, "sentinel"]
        _detach(argv)
    except Exception as exc:  # event saves are a bonus: never fail the caller
        log(f"event saves not started: {exc}")


def _detach(argv: list[str]) -> None:
    """Run argv in its own session, stdio on /dev/null, not waited for (a double
    fork: the grandchild is reparented, never left a zombie of the caller)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            exe = argv[0]
            os.execv(exe, argv)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)


def restore_done(tmux: Tmux, log: Log) -> None:
    """After restore's typing: event saves may go on (and start)."""
    ensure(tmux, log)


def request(reason: str = "") -> int:
    """`assistant-resurrect event`: ask the sentinel for a save now."""
    try:
        state = paths.state_dir(create=True)
        path = state / REQUEST
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, f"{time.time():.3f} {reason}\n".encode())
        finally:
            os.close(fd)
        os.utime(state)  # a rewrite in place does not change the folder's mtime
    except Exception as exc:
        sys.stderr.write(f"assistant-resurrect: event not recorded: {exc}\n")
        return 1
    return 0
