"""One process-table snapshot per save.

On Linux the table is read straight from /proc (the save hook's hot path:
about 4x cheaper than psutil here); command lines, cwds and environments are
read only for the processes that are looked at. Elsewhere psutil serves.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional

LINUX = sys.platform.startswith("linux") and os.path.isdir("/proc/self")


@dataclass
class Proc:
    pid: int
    ppid: int
    comm: str
    start: float  # seconds since the epoch (same figure as psutil's create_time)
    tpgid: int = -1  # foreground process group of its terminal, -1 unknown


def _boot_time() -> float:
    with open("/proc/stat", "rb") as fh:
        for line in fh:
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
            with open(f"/proc/{pid}/stat", "rb") as fh:
                return _parse_stat(pid, fh.read())
        except (OSError, ValueError, IndexError):
            return None
    import psutil

    try:
        p = psutil.Process(pid)
        return Proc(pid=pid, ppid=p.ppid(), comm=p.name(), start=round(p.create_time(), 2))
    except psutil.Error:
        return None


@dataclass
class Snapshot:
    procs: dict[int, Proc] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)
    _argv: dict[int, list[str]] = field(default_factory=dict)

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
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    raw = fh.read()
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
                with open(f"/proc/{pid}/environ", "rb") as fh:
                    raw = fh.read()
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

    def ancestors(self, pid: int) -> Iterator[int]:
        seen = set()
        proc = self.procs.get(pid)
        while proc is not None and proc.ppid and proc.ppid not in seen:
            seen.add(proc.ppid)
            yield proc.ppid
            proc = self.procs.get(proc.ppid)


def snapshot() -> Snapshot:
    """All processes visible to this user (pid, ppid, name, start time)."""
    snap = Snapshot()
    if LINUX:
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    snap.add(_parse_stat(pid, fh.read()))
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
