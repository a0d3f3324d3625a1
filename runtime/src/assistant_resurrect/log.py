"""Size-bounded log files in the resurrect directory."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Optional

MAX_BYTES = 256 * 1024


class Log:
    """Appends timestamped lines; rotates to `<name>.1` past MAX_BYTES.

    Never raises: a log that cannot be written must not break a save or restore.
    """

    def __init__(self, path: Optional[Path], echo: bool = False) -> None:
        self.path = path
        self.echo = echo
        self._rotated = False

    def __call__(self, message: str) -> None:
        line = f"[{time.strftime('%Y-%m-%dT%H:%M:%S%z')}] {message}\n"
        if self.echo:
            sys.stderr.write(message + "\n")
        if self.path is None:
            return
        try:
            if not self._rotated:
                self._rotated = True
                try:
                    if os.path.getsize(self.path) > MAX_BYTES:
                        os.replace(self.path, f"{self.path}.1")
                except FileNotFoundError:
                    pass
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8", "backslashreplace"))
            finally:
                os.close(fd)
        except OSError:
            pass
