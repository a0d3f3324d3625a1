"""Resumes that wait for a client (`@assistant-resurrect-start attached`).

A TUI assistant asks its terminal about itself when it starts (background
colour, cursor shape, hyperlinks). In a tmux session that no client shows,
nobody answers and it keeps fallback settings for its whole life. So restore
types at once only into sessions a client shows; for each other session it
records the saved entries in `pending-<server pid>.json` in the state dir and
arms two one-shot tmux hooks (`client-attached[N]`, `client-session-changed[N]`)
that run `assistant-resurrect -S <socket> restore --pending <session id>
--hook-index N`. That runner types when a client shows the session, then
removes its own two hooks and its entries.

The file is keyed by the tmux server's PID and checked against the server's
start time, so a file left by an earlier server is never used. Sessions are
named by their tmux ID (`$3`), which survives a rename.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from assistant_resurrect import paths
from assistant_resurrect.errors import TmuxError
from assistant_resurrect.fileio import LOCK_TIMEOUT, atomic_write, locked, read_regular
from assistant_resurrect.session import InvalidEntry, SavedSession
from assistant_resurrect.tmux import Tmux

VERSION = 1
EVENTS = ("client-attached", "client-session-changed")
FIRST_INDEX = 4200  # hook array indexes we use start here, far from a user's own
MARK = "restore --pending"  # in every hook command we arm
MAX_BYTES = 16 << 20  # a pending file far larger than any restore writes is not read


@dataclass
class Server:
    pid: int
    start: str
    socket: str

    @classmethod
    def of(cls, tmux: Tmux) -> Server:
        found = tmux.query(["display-message", "-p"], ("pid", "start_time", "socket_path"))
        if len(found) != 1 or len(found[0]) != 3 or not found[0][0].isdigit():
            raise TmuxError("tmux display-message answered in an unexpected format")
        pid, start, socket = found[0]
        return cls(int(pid), start, socket)


@dataclass
class Session:
    id: str
    name: str
    attached: bool


def sessions(tmux: Tmux) -> dict[str, Session]:
    """Every session by its ID."""
    found = {}
    for values in tmux.query(
        ["list-sessions", "-F"], ("session_id", "session_attached", "session_name")
    ):
        if len(values) == 3:
            sid, attached, name = values
            found[sid] = Session(sid, name, attached not in ("", "0"))
    return found


# -- the pending file --------------------------------------------------------


def path_for(server: Server) -> Path:
    return paths.state_dir(create=True) / f"pending-{server.pid}.json"


@contextlib.contextmanager
def lock() -> Iterator[None]:
    with locked(paths.state_dir(create=True) / ".pending.lock", LOCK_TIMEOUT):
        yield


class Waiting:
    """One tmux session's resumes, waiting for a client to show it: the typed
    form of one `sessions[<session id>]` value of the pending file."""

    __slots__ = ("entries", "hook_index", "invalid", "name", "since", "source")

    def __init__(
        self,
        name: str,
        hook_index: Optional[int],
        entries: list[tuple[str, SavedSession]],
        since: str = "",
        source: str = "",
        invalid: Optional[list[str]] = None,
    ) -> None:
        self.name = name
        self.hook_index = hook_index
        self.entries = entries  # (pane ID, the saved session typed into that pane)
        self.since = since
        self.source = source
        self.invalid = invalid or []  # why entries of the file did not load

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hook_index": self.hook_index,
            "since": self.since,
            "source": self.source,
            "entries": [{"pane_id": pid, "entry": s.to_json()} for pid, s in self.entries],
        }

    @classmethod
    def load(cls, obj: object) -> Optional[Waiting]:
        if not isinstance(obj, dict):
            return None
        index = obj.get("hook_index")
        if not isinstance(index, int) or isinstance(index, bool):
            index = None
        entries: list[tuple[str, SavedSession]] = []
        invalid: list[str] = []
        for item in obj.get("entries") or []:
            pane_id = item.get("pane_id") if isinstance(item, dict) else None
            if not isinstance(pane_id, str):
                invalid.append("a waiting entry has no pane ID")
                continue
            try:
                entries.append((pane_id, SavedSession.load(item.get("entry"))))
            except InvalidEntry as exc:
                invalid.append(f"{exc.address}: {exc}")
        return cls(
            str(obj.get("name") or ""),
            index,
            entries,
            str(obj.get("since") or ""),
            str(obj.get("source") or ""),
            invalid,
        )

    def merge(self, entries: list[tuple[str, SavedSession]]) -> None:
        """Newer entries replace those of the same pane."""
        merged = dict(self.entries)
        merged.update(entries)
        self.entries = list(merged.items())


def _sessions(doc: object) -> dict[str, Waiting]:
    found = doc.get("sessions") if isinstance(doc, dict) else None
    if not isinstance(found, dict):
        return {}
    out = {}
    for sid, value in found.items():
        waiting = Waiting.load(value)
        if waiting is not None:
            out[str(sid)] = waiting
    return out


def _read(path: Path, server: Server) -> dict[str, Waiting]:
    """The waiting sessions in `path` when it is this server's file (version and
    server start time match); FileNotFoundError, OSError or ValueError else."""
    raw, _ = read_regular(path, limit=MAX_BYTES)
    doc = json.loads(raw)
    if (
        not isinstance(doc, dict)
        or doc.get("version") != VERSION
        or doc.get("server_start") != server.start
    ):
        return {}
    return _sessions(doc)


def load(server: Server) -> dict[str, Waiting]:
    """The waiting sessions of this server (none when there is no file, it is
    unreadable, or an earlier server that had the same PID left it)."""
    try:
        return _read(path_for(server), server)
    except (OSError, ValueError, RecursionError):
        return {}


def waiting_of(server: Server, log: Optional[Callable[[str], None]] = None) -> dict[str, Waiting]:
    """The waiting sessions of this server, read only (no state dir is created,
    no lock taken: the file is replaced atomically), for `save` to carry them
    into the sidecar. An unreadable file is logged; StateDirError when the state
    dir is unsafe."""
    path = paths.state_dir(create=False) / f"pending-{server.pid}.json"
    try:
        return _read(path, server)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as exc:
        if log is not None:
            log(f"waiting resumes file {path} unreadable ({exc}); ignored")
        return {}


def store(server: Server, sessions: dict[str, Waiting]) -> None:
    path = path_for(server)
    if not sessions:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    doc = {
        "version": VERSION,
        "server_pid": server.pid,
        "server_start": server.start,
        "socket": server.socket,
        "sessions": {sid: w.to_json() for sid, w in sessions.items()},
    }
    atomic_write(path, json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n")


def read_only(tmux: Tmux) -> dict[str, Waiting]:
    """The waiting sessions of this server, for `status` (never creates anything)."""
    try:
        server = Server.of(tmux)
        directory = paths.state_dir(create=False)
        raw, _ = read_regular(directory / f"pending-{server.pid}.json", limit=MAX_BYTES)
        doc = json.loads(raw)
    except Exception:
        return {}
    if not isinstance(doc, dict) or doc.get("server_start") != server.start:
        return {}
    return _sessions(doc)


def prune() -> None:
    """Remove the pending files of tmux servers that are gone."""
    try:
        names = os.listdir(paths.state_dir(create=False))
    except OSError:
        return
    for name in names:
        pid = name[len("pending-") : -len(".json")]
        if not (name.startswith("pending-") and name.endswith(".json") and pid.isdigit()):
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                os.unlink(paths.state_dir_path() / name)
        except OSError:
            pass  # alive, another user's PID


# -- hooks -------------------------------------------------------------------


def agent_argv() -> list[str]:
    """How to run this very agent again from a tmux hook, with no help from PATH
    nor from the server's environment: absolute paths, and the state dir this
    run uses (the hook's environment is the server's, which may differ)."""
    pin = ["/usr/bin/env", f"{paths.STATE_DIR_ENV}={paths.state_dir_path()}"]
    arg0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(arg0) == "assistant-resurrect":
        full = arg0 if os.sep in arg0 else None
        if full is None:
            from assistant_resurrect.spawn import which

            full = which(arg0)
        if full and os.access(full, os.X_OK):
            return [*pin, os.path.abspath(full)]
    import assistant_resurrect

    src = os.path.dirname(os.path.dirname(os.path.abspath(assistant_resurrect.__file__)))
    python = sys.executable or "python3"
    return [*pin, f"PYTHONPATH={src}", python, "-m", "assistant_resurrect"]


def tmux_quote(text: str) -> str:
    """`text` as one word of tmux's command parser: single quotes (no $ or ~), or,
    when it holds a newline (tmux 3.1 answers "syntax error" to one inside single
    quotes), double quotes with \\, \\", \\$ and \\n escapes."""
    if "\n" in text:
        body = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
        return '"' + body.replace("\n", "\\n") + '"'
    return "'" + text.replace("'", "'\\''") + "'"


def hook_command(server: Server, session_id: str, index: int) -> str:
    argv = [
        *agent_argv(),
        "-S",
        server.socket,
        "restore",
        "--pending",
        session_id,
        "--hook-index",
        str(index),
    ]
    return run_shell(argv)


def run_shell(argv: list[str], output: str = "/dev/null") -> str:
    """A tmux command running `argv` in the background, its output to `output`.

    Three layers read it: tmux's parser (tmux_quote), run-shell's format
    expansion (a literal # is written ##) and sh (shlex.quote). Output would
    be shown over the client's pane, so the hooks send it to /dev/null."""
    shell = " ".join(shlex.quote(a) for a in argv) + f" >{shlex.quote(output)} 2>&1"
    return "run-shell -b " + tmux_quote(shell.replace("#", "##"))


def hooks_in_use(tmux: Tmux) -> dict[int, str]:
    """index -> command of every global client-attached / client-session-changed hook."""
    used: dict[int, str] = {}
    for event in EVENTS:
        out = tmux.run("show-hooks", "-g", event, check=False)
        for line in out.split("\n"):
            if line.startswith(event + "["):
                index, _, command = line[len(event) + 1 :].partition("] ")
                if index.isdigit():
                    used[int(index)] = used.get(int(index), "") + command
    return used


def arm(tmux: Tmux, server: Server, session_id: str, index: int) -> None:
    command = hook_command(server, session_id, index)
    for event in EVENTS:
        tmux.run("set-hook", "-g", f"{event}[{index}]", command)


def disarm(tmux: Tmux, index: int) -> None:
    """Remove our two hooks at `index` (nothing else; never a hook we did not arm)."""
    used = hooks_in_use(tmux)
    if MARK in used.get(index, ""):
        for event in EVENTS:
            tmux.run("set-hook", "-gu", f"{event}[{index}]", check=False)


def free_index(used: dict[int, str], taken: set[int]) -> int:
    index = FIRST_INDEX
    while index in used or index in taken:
        index += 1
    return index


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
