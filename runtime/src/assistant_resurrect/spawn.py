"""Run a program and collect its output without importing subprocess.

The save hook runs every few minutes on machines with hundreds of panes;
`subprocess` alone costs about 10 ms to import there, so the hot path uses
os.posix_spawn with plain pipes instead.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional


class Started:
    """A program started by `start`, not yet waited for."""

    __slots__ = ("err_r", "out_r", "pid")

    def __init__(self, pid: int, out_r: int, err_r: int) -> None:
        self.pid = pid
        self.out_r = out_r
        self.err_r = err_r


def start(argv: Sequence[str], stdin: Optional[bytes] = None) -> Started:
    """Start argv (looked up on PATH) with its output going to pipes; `finish`
    collects it. Raises FileNotFoundError when the program is not found."""
    exe = argv[0] if os.sep in argv[0] else which(argv[0])
    if not exe:
        raise FileNotFoundError(argv[0])
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r = None
    actions: list[tuple[int, ...]] = [
        (os.POSIX_SPAWN_DUP2, out_w, 1),
        (os.POSIX_SPAWN_DUP2, err_w, 2),
    ]
    if stdin is None:
        actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))  # type: ignore[arg-type]
    else:
        in_r, in_w = os.pipe()
        actions.append((os.POSIX_SPAWN_DUP2, in_r, 0))
    try:
        pid = os.posix_spawn(exe, list(argv), os.environ, file_actions=actions)
    except BaseException:
        os.close(out_r)
        os.close(err_r)
        if in_r is not None:
            os.close(in_w)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
        if in_r is not None:
            os.close(in_r)
    if stdin is not None:
        with contextlib.suppress(BrokenPipeError):
            os.write(in_w, stdin)
        os.close(in_w)
    return Started(pid, out_r, err_r)


def finish(started: Started) -> tuple[int, bytes, bytes]:
    """(exit status, stdout, stderr) of a started program, once it has exited."""
    out, err = _drain(started.out_r, started.err_r)
    _, status = os.waitpid(started.pid, 0)
    return os.waitstatus_to_exitcode(status), out, err


def which(name: str, path: Optional[str] = None) -> Optional[str]:
    """The first executable `name` on PATH (shutil.which costs 5 ms to import)."""
    for folder in (path if path is not None else os.environ.get("PATH", os.defpath)).split(
        os.pathsep
    ):
        candidate = os.path.join(folder or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _drain(out_r: int, err_r: int) -> tuple[bytes, bytes]:
    """Read both pipes to EOF without deadlocking on a full pipe."""
    import select

    bufs: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(err_r, select.POLLIN)
    open_fds = 2
    while open_fds:
        for fd, _ in poller.poll():
            chunk = os.read(fd, 65536)
            if chunk:
                bufs[fd].append(chunk)
            else:
                poller.unregister(fd)
                os.close(fd)
                open_fds -= 1
    return b"".join(bufs[out_r]), b"".join(bufs[err_r])
