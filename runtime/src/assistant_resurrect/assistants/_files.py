"""Small helpers the file-based fallback strategies share."""

from __future__ import annotations

import os

from assistant_resurrect.fileio import NotRegularFile, open_regular, read_regular

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from collections.abc import Collection
    from typing import Any, Callable, Optional

if TYPE_CHECKING:
    from assistant_resurrect.assistants.base import Assistant, Context, Found, Launch

# Files written up to this long before the process start still count as
# written by it (start times are rounded to 1/100 s; file systems may round
# mtimes down to whole seconds).
MTIME_SLACK = 1.0


def proc_env(ctx: Context, found: Found) -> dict[str, str]:
    """The assistant's environment (empty when unreadable)."""
    return ctx.snap.environ(found.pid)


def env_path(env: dict[str, str], name: str) -> Optional[str]:
    """An absolute path from the assistant's environment (ours when its
    environment cannot be read)."""
    value = env.get(name) if env else os.environ.get(name)
    return value if value and os.path.isabs(value) else None


def recent_files(
    directory: str, suffixes: tuple[str, ...], since: float
) -> list[tuple[float, str]]:
    """(mtime, path) of the regular files in `directory` ending in one of
    `suffixes` and modified at or after `since`, newest first."""
    out: list[tuple[float, str]] = []
    try:
        entries = os.scandir(directory)
    except OSError:
        return out
    with entries:
        for entry in entries:
            if not entry.name.endswith(suffixes):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            if st.st_mtime >= since - MTIME_SLACK:
                out.append((st.st_mtime, entry.path))
    out.sort(reverse=True)
    return out


def read_file(
    path: str,
    limit: int = 16 << 20,
    log: Optional[Callable[[str], None]] = None,
    label: str = "",
    follow: bool = True,
) -> Optional[bytes]:
    """A tool's store file, whole, when it is a regular file of at most `limit`
    bytes: a FIFO, device, socket or directory there (or a symlink, with
    `follow` off) is skipped with one log line instead of hanging or crashing
    the save. None when missing (silently) or unreadable (logged)."""
    try:
        return read_regular(path, limit, follow)[0]
    except FileNotFoundError:
        return None
    except NotRegularFile as exc:
        if log is not None:
            log(f"{label + ': ' if label else ''}{exc}; skipped")
        return None
    except OSError as exc:
        if log is not None:
            log(f"{label + ': ' if label else ''}cannot read {path} ({exc.strerror}); skipped")
        return None


def newest_in_subdirs(folder: str, name: str, count: int) -> list[str]:
    """`folder/*/name` that exist, the `count` most recently modified first."""
    found: list[tuple[float, str]] = []
    try:
        subdirs = os.listdir(folder)
    except OSError:
        return []
    for sub in subdirs:
        path = os.path.join(folder, sub, name)
        try:
            found.append((os.stat(path).st_mtime, path))
        except OSError:
            continue
    found.sort(reverse=True)
    return [path for _, path in found[:count]]


def head_json_lines(
    path: str,
    count: int,
    limit: int = 1 << 20,
    log: Optional[Callable[[str], None]] = None,
    follow: bool = False,
) -> list[Any]:
    """The first `count` lines of a JSON-lines file, parsed, up to the first
    one that is not JSON ([] if the path is not a regular file: see
    read_file); each line is read up to `limit` bytes."""
    import json

    try:
        fd, _ = open_regular(path, follow)
    except FileNotFoundError:
        return []
    except NotRegularFile as exc:
        if log is not None:
            log(f"{exc}; skipped")
        return []
    except OSError:
        return []
    out: list[Any] = []
    try:
        with os.fdopen(fd, "rb") as fh:
            for _ in range(count):
                line = fh.readline(limit)
                if not line:
                    break
                try:
                    out.append(json.loads(line))
                except ValueError:
                    break
    except OSError:
        return out
    return out


def first_json_line(
    path: str,
    limit: int = 1 << 20,
    log: Optional[Callable[[str], None]] = None,
    follow: bool = False,
) -> Optional[dict[str, Any]]:
    """The first line of a JSON-lines file as an object (None if it is not one,
    or the path is not a regular file: see read_file)."""
    lines = head_json_lines(path, 1, limit, log, follow)
    return lines[0] if lines and isinstance(lines[0], dict) else None


def unclaimed(ctx: Context, found: Found, session_id: str) -> bool:
    """True unless another pane's assistant already saved this session ID."""
    owner = ctx.claimed.get(session_id)
    return owner is None or owner == found.pid


def other_sessions(
    ctx: Context,
    found: Found,
    tool: Assistant,
    comms: Collection[str],
    same_place: Callable[[int, Launch], bool],
) -> list[float]:
    """Start times of the other live session processes of `tool` (process
    name in `comms`, matching the tool, a session not a helper) that run as
    the same user as `found` and for which `same_place(pid, launch)` holds
    (its cwd or workspace is found's). Another user's process talks to its
    own store and is never counted."""
    from assistant_resurrect.assistants.base import parse_launch

    mine = {found.pid, *found.pids}
    uid = ctx.snap.uid(found.pid)
    out: list[float] = []
    for pid, proc in ctx.snap.procs.items():
        if pid in mine or proc.comm not in comms:
            continue
        launch = parse_launch(ctx.snap.argv(pid))
        if launch is None or not tool.match(launch) or not tool.is_session(launch.args):
            continue
        if ctx.snap.uid(pid) != uid or not same_place(pid, launch):
            continue
        out.append(proc.start)
    return out
