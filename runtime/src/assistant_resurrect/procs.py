"""One process-table snapshot per save.

On Linux the table is read straight from /proc (the save hook's hot path:
about 4x cheaper than psutil here); command lines, cwds and environments are
read only for the processes that are looked at. Elsewhere psutil serves.

Files under /proc are read with os.open/os.read (half the cost of open()'s
buffered file objects: the save hook reads one per process), and the records
are plain classes (`dataclasses` costs ~10 ms to import).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

from assistant_resurrect.records import Record

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

LINUX = sys.platform.startswith("linux") and os.path.isdir("/proc/self")
_O_RDONLY = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


class Proc(Record):
    _fields = ("pid", "ppid", "comm", "start", "tpgid")
    __slots__ = _fields

    def __init__(self, pid: int, ppid: int, comm: str, start: float, tpgid: int = -1) -> None:
        self.pid = pid
        self.ppid = ppid
        self.comm = comm
        self.start = start  # seconds since the epoch (same figure as psutil's create_time)
        self.tpgid = tpgid  # foreground process group of its terminal, -1 unknown


def _read(path: str) -> bytes:
    """The whole file (OSError when it cannot be opened)."""
    fd = os.open(path, _O_RDONLY)
    try:
        chunk = os.read(fd, 65536)
        if len(chunk) < 4096:
            return chunk  # /proc answers a small file in one read
        chunks = [chunk]
        while chunk:
            chunk = os.read(fd, 65536)
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _boot_time() -> float:
    for line in _read("/proc/stat").splitlines():
        if line.startswith(b"btime"):
            return float(line.split()[1])
    return 0.0


_CLK_TCK: Optional[int] = None
_BTIME: Optional[float] = None


def _parse_stat(pid: int, data: bytes) -> Proc:
    global _CLK_TCK, _BTIME
    if _CLK_TCK is None:
        _CLK_TCK = os.sysconf("SC_CLK_TCK")
        _BTIME = _boot_time()
    lpar = data.index(b"(")
    rpar = data.rindex(b")")
    comm = data[lpar + 1 : rpar].decode("utf-8", "surrogateescape")
    rest = data[rpar + 2 :].split()
    start = round((_BTIME or 0.0) + int(rest[19]) / _CLK_TCK, 2)
    return Proc(pid=pid, ppid=int(rest[1]), comm=comm, start=start, tpgid=int(rest[5]))


def read_proc(pid: int) -> Optional[Proc]:
    """One process, or None when it is gone."""
    if LINUX:
        try:
            return _parse_stat(pid, _read(f"/proc/{pid}/stat"))
        except (OSError, ValueError, IndexError):
            return None
    import psutil

    try:
        p = psutil.Process(pid)
        return Proc(pid=pid, ppid=p.ppid(), comm=p.name(), start=round(p.create_time(), 2))
    except psutil.Error:
        return None


class Snapshot(Record):
    _fields = ("procs", "children", "_argv")
    __slots__ = _fields

    def __init__(
        self,
        procs: Optional[dict[int, Proc]] = None,
        children: Optional[dict[int, list[int]]] = None,
        _argv: Optional[dict[int, list[str]]] = None,
    ) -> None:
        self.procs: dict[int, Proc] = {} if procs is None else procs
        self.children: dict[int, list[int]] = {} if children is None else children
        self._argv: dict[int, list[str]] = {} if _argv is None else _argv

    def add(self, proc: Proc) -> None:
        self.procs[proc.pid] = proc
        self.children.setdefault(proc.ppid, []).append(proc.pid)

    def argv(self, pid: int) -> list[str]:
        """The command line ([] when unreadable or a kernel thread)."""
        cached = self._argv.get(pid)
        if cached is not None:
            return cached
        args: list[str] = []
        if LINUX:
            try:
                raw = _read(f"/proc/{pid}/cmdline")
                args = [a.decode("utf-8", "surrogateescape") for a in raw.split(b"\0")]
                if args and args[-1] == "":
                    args.pop()
            except OSError:
                args = []
        else:
            import psutil

            try:
                args = psutil.Process(pid).cmdline()
            except psutil.Error:
                args = []
        self._argv[pid] = args
        return args

    def cwd(self, pid: int) -> Optional[str]:
        if LINUX:
            try:
                return os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                return None
        import psutil

        try:
            return psutil.Process(pid).cwd()
        except psutil.Error:
            return None

    def environ(self, pid: int) -> dict[str, str]:
        if LINUX:
            try:
                raw = _read(f"/proc/{pid}/environ")
            except OSError:
                return {}
            env: dict[str, str] = {}
            for item in raw.split(b"\0"):
                name, sep, value = item.partition(b"=")
                if sep:
                    env[name.decode("utf-8", "surrogateescape")] = value.decode(
                        "utf-8", "surrogateescape"
                    )
            return env
        import psutil

        try:
            return dict(psutil.Process(pid).environ())
        except psutil.Error:
            return {}

    def walk(self, root: int) -> Iterator[tuple[int, int]]:
        """(pid, depth) of root and its descendants, breadth first, children by pid."""
        queue = [(root, 0)]
        seen = {root}
        while queue:
            pid, depth = queue.pop(0)
            yield pid, depth
            for child in sorted(self.children.get(pid, ())):
                if child not in seen:
                    seen.add(child)
                    queue.append((child, depth + 1))


def snapshot() -> Snapshot:
    """All processes visible to this user (pid, ppid, name, start time)."""
    snap = Snapshot()
    if LINUX:
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            try:
                snap.add(_parse_stat(pid, _read(f"/proc/{name}/stat")))
            except (OSError, ValueError, IndexError):
                continue  # exited while we read
        return snap
    import psutil

    for p in psutil.process_iter(["pid", "ppid", "name", "create_time"]):
        info = p.info
        snap.add(
            Proc(
                pid=info["pid"],
                ppid=info["ppid"] or 0,
                comm=info["name"] or "",
                start=round(info["create_time"] or 0.0, 2),
            )
        )
    return snap


def same_start(a: Optional[float], b: Optional[float]) -> bool:
    """Two start times of the same process (tolerates float rounding)."""
    return a is not None and b is not None and abs(float(a) - float(b)) <= 0.05
