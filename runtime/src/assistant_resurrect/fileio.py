"""Atomic, private file writes, bounded advisory locks, and reads that only
ever open regular files."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional, Union

    PathLike = Union[str, Path]

# How long a save or restore waits for the sidecar or pending-file lock another
# run holds. Those holders keep it for a few file operations, so 10 s means the
# holder is stuck; giving up lets the next save (15 min later) run.
LOCK_TIMEOUT = 10.0


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` to `path` so that readers see the old or the new file, whole:
    a private temp file beside it, fsync, rename, fsync of the directory. On any
    failure (ENOSPC, EROFS, EACCES, ...) the temp file is removed, the old file
    is left as it was, and the OSError is raised."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _holder(fd: int) -> str:
    """' (pid N?)' when the lock file names a live process (the last run that
    took the lock writes its PID there; the holder may be another program)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    if not text.isdigit():
        return ""
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return ""
    except OSError:
        pass  # alive, another user's
    return f" (pid {text}?)"


@contextlib.contextmanager
def locked(lock_path: Path, timeout: Optional[float] = None) -> Iterator[None]:
    """An exclusive flock on `lock_path` for the duration of the block, waited
    for at most `timeout` seconds (LOCK_TIMEOUT for the sidecar and pending
    locks; None: forever); LockTimeout (one line, with the PID the last holder
    wrote into the file when it is alive) after that."""
    import fcntl

    from assistant_resurrect.errors import AgentError, LockTimeout

    # O_NOFOLLOW: a lock file replaced by a symlink never creates its target.
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise AgentError(f"lock file {lock_path} is a symlink; remove it and run again") from None
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            delay = 0.005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"another assistant-resurrect{_holder(fd)} holds {lock_path} for "
                        f"{timeout:g} s; giving up"
                    )
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        with contextlib.suppress(OSError):  # who holds it, for the message above
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


class NotRegularFile(OSError):
    """A path that should be a data file is a FIFO, device, directory, socket or
    (where not followed) a symlink. str() is one line naming it."""

    def __str__(self) -> str:
        return str(self.strerror)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symlink"
    return "not a regular file"


def open_regular(path: PathLike, follow: bool = False) -> tuple[int, os.stat_result]:
    """(fd, fstat) of `path` opened read-only, when it is a regular file.

    Opened with O_NONBLOCK, so a FIFO or a device never blocks the open, then
    checked with fstat (what was opened, not what a path named a moment before);
    `follow` off adds O_NOFOLLOW. NotRegularFile otherwise; FileNotFoundError and
    other OSErrors as they come."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise NotRegularFile(errno.ELOOP, f"{path} is a symlink") from None
        if exc.errno == errno.ENXIO:  # a socket (or a FIFO on some systems)
            raise NotRegularFile(errno.ENXIO, f"{path} is not a regular file") from None
        raise
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFile(errno.EINVAL, f"{path} is {_kind(st.st_mode)}, not a regular file")
    return fd, st


def read_regular(
    path: PathLike, limit: Optional[int] = None, follow: bool = False
) -> tuple[bytes, os.stat_result]:
    """(contents, fstat) of the regular file `path` (see open_regular); a file
    longer than `limit` bytes raises NotRegularFile (EFBIG) unread."""
    fd, st = open_regular(path, follow)
    try:
        if limit is not None and st.st_size > limit:
            raise NotRegularFile(errno.EFBIG, f"{path} is larger than {limit} bytes")
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if limit is not None and total > limit:
                raise NotRegularFile(errno.EFBIG, f"{path} is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)
