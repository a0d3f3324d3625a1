"""The stagger: how long until a new session of a tool may start.

Sessions of one tool share one credential store, and tools refresh their
tokens as they start: started together, their refreshes race and the losers
are logged out (`@assistant-resurrect-stagger`, settings.py). A `Pacer` keeps
`seconds` between two starts of the same tool, across processes: restore and
each `restore --pending` run (sessions attached one after another) read and
write the last start of each tool in `stagger.json` in the state dir.

Callers hold the restore lock (typist.RESTORE_LOCK) from `wait_for` to
`started`, so the file needs no lock of its own. A missing or corrupt file is
no history. Times are wall-clock (they cross processes); a last start in the
future (the clock was set back) counts as now, and is stored as now so the
wait still ends. Within one process the monotonic clock is consulted too, so
a clock jump never shortens a wait this process itself started.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from assistant_resurrect import fileio, paths
from assistant_resurrect.errors import StateDirError
from assistant_resurrect.settings import Settings

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Callable, Optional

FILE = "stagger.json"
VERSION = 1
MAX_BYTES = 64 * 1024  # a few tools' timestamps; anything larger is not ours


class Pacer:
    """`wait_for(tool)`: seconds until a new `tool` session may start;
    `started(tool)`: one just started."""

    __slots__ = ("_log", "_mono", "_path", "_problem_logged", "seconds")

    def __init__(
        self,
        seconds: float,
        path: Optional[Path] = None,
        log: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.seconds = seconds
        self._path = path  # None: the state dir's file, found on first use
        self._log = log
        self._mono: dict[str, float] = {}  # this process's starts, monotonic
        self._problem_logged = False

    @classmethod
    def of(cls, settings: Settings, log: Optional[Callable[[str], None]] = None) -> Pacer:
        """The pacer of `@assistant-resurrect-stagger`."""
        return cls(settings.stagger, log=log)

    def wait_for(self, tool: str) -> float:
        """Seconds until a new `tool` session may start (0.0: now)."""
        if self.seconds <= 0:
            return 0.0
        wait = 0.0
        mono = self._mono.get(tool)
        if mono is not None:
            wait = self.seconds - (time.monotonic() - mono)
        starts = self._read()
        last = starts.get(tool)
        if last is not None:
            now = time.time()
            if last > now:  # the clock went back: that start is now
                starts[tool] = last = now
                self._write(starts)
            wait = max(wait, self.seconds - (now - last))
        return min(max(wait, 0.0), self.seconds)

    def started(self, tool: str) -> None:
        """Record that a `tool` session started now."""
        if self.seconds <= 0:
            return
        self._mono[tool] = time.monotonic()
        starts = self._read()
        starts[tool] = time.time()
        self._write(starts)

    def _file(self) -> Optional[Path]:
        if self._path is None:
            try:
                self._path = paths.state_dir(create=True) / FILE
            except StateDirError as exc:
                self._problem(f"stagger kept in this run only: {exc}")
                return None
        return self._path

    def _read(self) -> dict[str, float]:
        path = self._file()
        if path is None:
            return {}
        try:
            data, _ = fileio.read_regular(path, MAX_BYTES)
        except OSError:  # missing (no history), not a regular file, unreadable, too big
            return {}
        try:
            doc = json.loads(data)
        except ValueError:
            return {}
        starts = doc.get("last_start") if isinstance(doc, dict) else None
        if not isinstance(starts, dict):
            return {}
        found: dict[str, float] = {}
        for tool, at in starts.items():
            if isinstance(at, (int, float)) and not isinstance(at, bool):
                try:
                    stamp = float(at)
                except OverflowError:  # an integer beyond any float
                    continue
                if math.isfinite(stamp):
                    found[str(tool)] = stamp
        return found

    def _write(self, starts: dict[str, float]) -> None:
        path = self._file()
        if path is None:
            return
        doc = {"version": VERSION, "last_start": starts}
        try:
            fileio.atomic_write(path, json.dumps(doc, sort_keys=True).encode())
        except OSError as exc:
            self._problem(f"cannot write {path} ({exc.strerror or exc}); stagger kept in this run")

    def _problem(self, message: str) -> None:
        if self._log is not None and not self._problem_logged:
            self._problem_logged = True
            self._log(message)
