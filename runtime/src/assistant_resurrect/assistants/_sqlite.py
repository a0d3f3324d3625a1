"""Reading the assistants' own SQLite databases, safely.

Only the fallback strategies come here, and only when the cheap ones found
nothing, so `sqlite3` is imported on first use, never by the save hook's
import chain.

The databases belong to running programs: they are opened read-only
(`mode=ro`), with a short busy timeout, and their WAL is honoured. Nothing is
ever written or created beside them: a read-only open of a WAL database
whose `-shm` is missing would create an empty `-shm` and `-wal` and leave
them there (owned by whoever saved), so then the database is opened
`immutable` when it has no WAL content (no writer has it open), and copied
with its WAL to a private temporary folder otherwise. A read-only open that
fails for any other reason falls back to the copy too. A table without
the columns a strategy needs (schema drift in a newer release) means: skip
that strategy, with one log line saying why.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    import sqlite3

BUSY_TIMEOUT = 1.0


def _connect_ro(path: str, immutable: bool = False) -> sqlite3.Connection:
    import sqlite3
    from urllib.parse import quote

    flags = "mode=ro&immutable=1" if immutable else "mode=ro"
    conn = sqlite3.connect(f"file:{quote(path)}?{flags}", uri=True, timeout=BUSY_TIMEOUT)
    conn.execute("PRAGMA query_only = 1")
    return conn


def _copy_and_connect(path: str, tmpdir: str) -> sqlite3.Connection:
    import shutil

    base = os.path.join(tmpdir, "copy.db")
    for suffix in ("", "-wal"):
        src = path + suffix
        if os.path.exists(src):
            shutil.copyfile(src, base + suffix)
    return _connect_ro(base)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def not_regular(path: str) -> Optional[str]:
    """Why SQLite must not open `path`, or None: the database (a symlink to it is
    followed, as SQLite does) must be a regular file, and its `-wal`, `-shm`
    and `-journal` companions absent or regular files (SQLite opens them by
    name; a FIFO or device there could block or be read as a database)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not stat.S_ISREG(st.st_mode):
        return f"is {_kind(st.st_mode)}, not a database file"
    for suffix in ("-wal", "-shm", "-journal"):
        try:
            st = os.stat(path + suffix)
        except FileNotFoundError:
            continue
        except OSError as exc:
            return f"has a {suffix} file that cannot be read ({exc.strerror})"
        if not stat.S_ISREG(st.st_mode):
            return f"has a {suffix} that is {_kind(st.st_mode)}"
    return None


def _open_plan(path: str) -> str:
    """How to open `path` without creating anything beside it: "ro" when its
    `-shm` exists (SQLite reads the WAL through it), "immutable" when there is
    neither `-shm` nor WAL content, "copy" when a WAL has content but no `-shm`."""
    if os.path.exists(path + "-shm"):
        return "ro"
    try:
        wal = os.stat(path + "-wal").st_size
    except FileNotFoundError:
        wal = 0
    return "immutable" if wal == 0 else "copy"


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}


def read(
    path: str,
    table: str,
    required: Sequence[str],
    run: Callable[[sqlite3.Connection, set[str]], Any],
    log: Callable[[str], None],
    label: str,
) -> Any:
    """Open `path` read-only, check that `table` has the `required` columns,
    and return `run(conn, columns)`; None (with one log line) when the
    database is missing, unreadable, locked, or its schema has drifted."""
    import sqlite3
    import tempfile

    reason = not_regular(path)
    if reason == "missing":
        return None
    if reason is not None:
        log(f"{label}: {path} {reason}; strategy skipped")
        return None
    tmp: Optional[tempfile.TemporaryDirectory[str]] = None
    conn: Optional[sqlite3.Connection] = None
    try:
        try:
            how = _open_plan(path)
            if how == "copy":
                raise sqlite3.OperationalError("a WAL without its -shm")
            conn = _connect_ro(path, immutable=how == "immutable")
            cols = columns(conn, table)
        except sqlite3.OperationalError:
            if conn is not None:
                conn.close()
            tmp = tempfile.TemporaryDirectory(prefix="assistant-resurrect-")
            conn = _copy_and_connect(path, tmp.name)
            cols = columns(conn, table)
        if not cols:
            log(f"{label}: {path} has no table {table!r}; strategy skipped")
            return None
        missing = [c for c in required if c not in cols]
        if missing:
            log(
                f"{label}: table {table!r} in {path} lacks column(s) {', '.join(missing)} "
                "(schema changed?); strategy skipped"
            )
            return None
        return run(conn, cols)
    except (sqlite3.Error, OSError) as exc:
        log(f"{label}: cannot read {path} ({exc}); strategy skipped")
        return None
    finally:
        if conn is not None:
            conn.close()
        if tmp is not None:
            tmp.cleanup()
