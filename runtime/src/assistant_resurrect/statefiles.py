"""Per-process state files in the state dir: `<tool>-<pid>.json`.

Written by the Claude hooks and the OpenCode plugin while an assistant runs;
read by save. Each is a JSON object with at least `tool`, `pid`,
`session_id` and `timestamp`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from assistant_resurrect.errors import StateDirError
from assistant_resurrect.fileio import NotRegularFile, atomic_write, read_regular
from assistant_resurrect.paths import state_dir

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Optional

if TYPE_CHECKING:
    from assistant_resurrect.log import Log

MAX_BYTES = 1 << 20  # a state file is a few hundred bytes


class StateFiles:
    def __init__(self, directory: Optional[Path], log: Optional[Log] = None) -> None:
        self.directory = directory
        self.log = log
        self._cache: dict[tuple[str, int], Optional[dict[str, Any]]] = {}

    @classmethod
    def load(cls, log: Optional[Log] = None) -> StateFiles:
        try:
            return cls(state_dir(create=False), log)
        except StateDirError as exc:
            if log is not None:
                log(f"state files ignored: {exc}")
            return cls(None, log)

    def path(self, tool: str, pid: int) -> Optional[Path]:
        return None if self.directory is None else self.directory / f"{tool}-{pid}.json"

    def get(self, tool: str, pid: int) -> Optional[dict[str, Any]]:
        key = (tool, pid)
        if key in self._cache:
            return self._cache[key]
        path = self.path(tool, pid)
        entry: Optional[dict[str, Any]] = None
        if path is not None:
            try:
                # Never a FIFO or device (an open would hang save), never a symlink.
                raw, _ = read_regular(path, limit=MAX_BYTES)
                data = json.loads(raw)
                if isinstance(data, dict):
                    entry = data
                elif self.log is not None:
                    self.log(f"state file {path} is not a JSON object; ignored")
            except FileNotFoundError:
                pass
            except NotRegularFile as exc:
                if self.log is not None:
                    self.log(f"state file {exc}; ignored")
            except (OSError, ValueError, RecursionError) as exc:
                if self.log is not None:
                    self.log(f"state file {path} is unreadable ({exc}); ignored")
        self._cache[key] = entry
        return entry


def write(tool: str, pid: int, data: dict[str, Any]) -> Path:
    directory = state_dir(create=True)
    path = directory / f"{tool}-{pid}.json"
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True).encode() + b"\n")
    return path


def remove(tool: str, pid: int) -> bool:
    directory = state_dir(create=False)
    try:
        os.unlink(directory / f"{tool}-{pid}.json")
        return True
    except FileNotFoundError:
        return False
