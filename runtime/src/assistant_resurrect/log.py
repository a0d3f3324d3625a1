"""Size-bounded log files in the resurrect directory."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

MAX_BYTES = 256 * 1024


def _escape_char(ch: str) -> str:
    o = ord(ch)
    if o < 0x100:
        return f"\\x{o:02x}"
    if o < 0x10000:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def escape(message: str) -> str:
    """`message` with every code point that is not printable written as an
    escape (\\xHH, \\uHHHH, \\UHHHHHHHH): C0 and C1 controls, DEL, NEL (U+0085),
    the line and paragraph separators (U+2028, U+2029), format characters
    (bidi overrides, zero-width), undecodable bytes kept as surrogates. From
    session names, saved values or errors, they would forge lines (a viewer
    breaking lines at U+2028 or NEL) or send escapes (CSI is U+009B) to the
    terminal of whoever reads the log."""
    if message.isprintable():
        return message
    return "".join(ch if ch.isprintable() else _escape_char(ch) for ch in message)


class Log:
    """Appends timestamped lines; rotates to `<name>.1` before a line would take
    the file past MAX_BYTES, so neither file grows past the bound (a line longer
    than the bound is written alone). The size is read from the open file at
    each write: it counts what other processes appended too.

    Never raises: a log that cannot be written must not break a save or restore.
    Each message is one line: what is not printable is written as an escape.
    """

    def __init__(self, path: Optional[Path], echo: bool = False) -> None:
        self.path = path
        self.echo = echo

    def __call__(self, message: str) -> None:
        message = escape(message)
        line = f"[{time.strftime('%Y-%m-%dT%H:%M:%S%z')}] {message}\n"
        if self.echo:
            sys.stderr.write(message + "\n")
        if self.path is None:
            return
        data = line.encode("utf-8", "backslashreplace")
        try:
            fd = self._open()
            try:
                size = os.fstat(fd).st_size
                if size and size + len(data) > MAX_BYTES:
                    os.close(fd)
                    fd = -1
                    os.replace(self.path, f"{self.path}.1")
                    fd = self._open()
                os.write(fd, data)
            finally:
                if fd >= 0:
                    os.close(fd)
        except OSError:
            pass

    def _open(self) -> int:
        assert self.path is not None
        # O_NOFOLLOW: a log replaced by a symlink (to ~/.bashrc, say) is not
        # written through.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
        return os.open(self.path, flags, 0o600)
