"""One process-table snapshot per save, from one of two backends.

`procs_linux` reads /proc directly (Linux: the save hook's hot path);
`procs_psutil` serves everywhere else (macOS, the BSDs), like psutil's own
per-platform modules. ASSISTANT_RESURRECT_PROCS=linux|psutil forces one (CI
runs the integration suite once with psutil on Linux). The records are plain
classes (`dataclasses` costs ~10 ms to import).
"""

from __future__ import annotations

import os
import sys

from assistant_resurrect.records import Proc, Record

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType
    from typing import Any, Optional

__all__ = ["Proc", "Snapshot", "backend", "read_proc", "same_start", "snapshot"]

BACKEND_ENV = "ASSISTANT_RESURRECT_PROCS"
_backend: Optional[ModuleType] = None


def backend() -> ModuleType:
    """The process backend of this run (chosen once)."""
    global _backend
    if _backend is None:
        wanted = os.environ.get(BACKEND_ENV, "")
        if wanted == "psutil" or (
            wanted != "linux"
            and not (sys.platform.startswith("linux") and os.path.isdir("/proc/self"))
        ):
            from assistant_resurrect import procs_psutil as chosen
        else:
            from assistant_resurrect import procs_linux as chosen  # type: ignore[no-redef]
        _backend = chosen
    return _backend


def read_proc(pid: int) -> Optional[Proc]:
    """One process, or None when it is gone."""
    return backend().read_proc(pid)


class Snapshot(Record):
    _fields = ("procs", "children", "_argv", "_environ", "_cwd")
    # `detected`: what detect.prefetch found per (pane pid, uid), each taken
    # once by detect.in_pane.
    __slots__ = (*_fields, "detected")

    def __init__(
        self,
        procs: Optional[dict[int, Proc]] = None,
        children: Optional[dict[int, list[int]]] = None,
        _argv: Optional[dict[int, list[str]]] = None,
    ) -> None:
        self.procs: dict[int, Proc] = {} if procs is None else procs
        self.children: dict[int, list[int]] = {} if children is None else children
        self._argv: dict[int, list[str]] = {} if _argv is None else _argv
        self._environ: dict[int, dict[str, str]] = {}
        self._cwd: dict[int, Optional[str]] = {}
        # (detect.Detected or None, foreign) per (pane pid, uid); detect sits above
        self.detected: dict[tuple[int, int], Any] = {}

    def add(self, proc: Proc) -> None:
        self.procs[proc.pid] = proc
        self.children.setdefault(proc.ppid, []).append(proc.pid)

    def argv(self, pid: int) -> list[str]:
        """The command line ([] when unreadable or a kernel thread)."""
        cached = self._argv.get(pid)
        if cached is None:
            cached = self._argv[pid] = backend().argv(pid)
        return cached

    def cwd(self, pid: int) -> Optional[str]:
        """The working directory of `pid` (None when unreadable), read on first ask."""
        if pid in self._cwd:
            return self._cwd[pid]
        cached = self._cwd[pid] = backend().cwd(pid)
        return cached

    def environ(self, pid: int) -> dict[str, str]:
        """The environment of `pid` ({} when unreadable), read on first ask
        (a tool's strategies and the env capture each ask for it)."""
        cached = self._environ.get(pid)
        if cached is None:
            cached = self._environ[pid] = backend().environ(pid)
        return cached

    def uid(self, pid: int) -> int:
        """The real uid of process `pid` (-1 unknown or gone), read on first ask."""
        proc = self.procs.get(pid)
        return -1 if proc is None else int(backend().real_uid(proc))

    def foreground_group(self, pid: int) -> int:
        """The foreground process group of the terminal of process `pid` (-1 unknown)."""
        proc = self.procs.get(pid)
        return -1 if proc is None else int(backend().foreground_group(proc))

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
    for proc in backend().all_procs():
        snap.add(proc)
    return snap


def same_start(a: Optional[float], b: Optional[float]) -> bool:
    """Two start times of the same process (tolerates float rounding)."""
    return a is not None and b is not None and abs(float(a) - float(b)) <= 0.05
