"""Size-bounded log files in the resurrect directory."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

MAX_BYTES = 256 * 1024
# Control characters in a message (from session names, saved values, errors)
# would forge lines or send escapes to the terminal of whoever reads the log.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Log:
    """Appends timestamped lines; rotates to `<name>.1` past MAX_BYTES.

    Never raises: a log that cannot be written must not break a save or restore.
    Each message is one line: control characters are written as \\xHH.
    """

    def __init__(self, path: Optional[Path], echo: bool = False) -> None:
        self.path = path
        self.echo = echo
        self._rotated = False

    def __call__(self, message: str) -> None:
        message = CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", message)
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
            # O_NOFOLLOW: a log replaced by a symlink (to ~/.bashrc, say) is
            # not written through.
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
            fd = os.open(self.path, flags, 0o600)
            try:
                os.write(fd, line.encode("utf-8", "backslashreplace"))
            finally:
                os.close(fd)
        except OSError:
            pass
