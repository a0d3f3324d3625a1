"""Crush (Charm, `crush`, npm package @charmland/crush): a Go executable. The
npm package's `crush` is a node script (`run-crush.js`) that runs the native
`node_modules/@charmland/crush/bin/crush` as its child (spawnSync) and waits:
both match (the package path, the program name); Homebrew, `go install` and
release archives run the native `crush` directly. Go leaves argv alone, so
the command line stays readable.

Checked against the source of 0.90.0 (its --help text, database migrations,
config and data dir lookup) and the npm package of 0.96.1 (the launcher): the
0.96.1 binary could not be run here, as the package's postinstall downloads
it from GitHub releases (no binary ships in the npm package).

Sessions (0.90, internal/db): one SQLite database per project data dir,
`<data dir>/crush.db` (WAL), table `sessions` (id: a UUID, parent_session_id:
set for sub-agent task and title sessions, created_at/updated_at: Unix
seconds, message_count). The data dir is `--data-dir/-D` (relative to the
cwd), else `options.data_directory` of its config, else the closest `.crush`
from the cwd up to the git work tree root (the home folder's own never
counts), else `<cwd>/.crush`. Every interactive start records the data dir it
chose in `projects.json` of the global data dir (`$CRUSH_GLOBAL_DATA`,
`$XDG_DATA_HOME/crush`, `~/.local/share/crush`): `{"projects": [{"path":
<cwd>, "data_dir": ...}]}`, read first. The TUI creates the row with the first
message (a start, or a new session with ctrl+n, writes nothing until then: no
row, nothing to resume); every message bumps `updated_at`. Crush writes no
per-process record. With CRUSH_CLIENT_SERVER=1 the pane's `crush` is a client
of a detached `crush server` (outside the pane) that writes the same
database; the client records nothing in projects.json.

Session ID strategies, in evidence order:
1. `args`: `--session/-s <id>`: a UUID, or the hash prefix Crush prints on
   exit (`Continue crush -s 1a2b3c4`), which it resolves itself;
2. `db`: the newest top-level session of the data dir updated since the
   process started, not claimed by another pane. One created before this
   process started but after another live Crush of the cwd started is most
   likely that one's own: taken only when no other is left. Two Crush panes
   chatting in one folder cannot be told apart otherwise (they may swap;
   never one ID); nor can a `crush run` of the folder that has ended;
3. `continue`: `--continue/-C` and no message since the start: the newest
   top-level session of the data dir (the one `-C` opened).
Resume (`crush --help`: `-s, --session  Continue a previous session by ID`;
`-C, --continue  Continue the most recent session`): `crush --session <id>`.

Code-loading options (--help; policy in base.py): `--data-dir/-D` (Crush
loads `<dir>/crush.json`, with hooks, MCP servers and LSP commands, as its
top-priority config), `--host/-H` (with CRUSH_CLIENT_SERVER=1 it starts a
`crush server` listening on that host, which runs tools, when none is) and
the hidden `--channels` (MCP servers whose messages reach the session).
"""

from __future__ import annotations

import os
import re

from assistant_resurrect.assistants import _files
from assistant_resurrect.assistants.base import (
    UUID,
    Assistant,
    Context,
    Found,
    Strategy,
    scan,
)

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

SESSION_COLUMNS = ("id", "parent_session_id", "created_at", "updated_at")
PROJECTS_LIMIT = 4 << 20
WATCHED = 16  # data dirs (of projects.json, most recently used first) the event saver polls
# A session ID Crush accepts on `--session`: a UUID, or a prefix of the hex
# xxh3 hash of one (what it prints on exit: 7 hex digits).
_HASH_PREFIX = re.compile(r"[0-9a-f]{4,16}\Z")

# Subcommands that are not interactive sessions (0.90 `crush --help`, with aliases).
NOT_SESSIONS = frozenset(
    {
        "run",
        "r",
        "dirs",
        "projects",
        "update-providers",
        "logs",
        "login",
        "auth",
        "logout",
        "signout",
        "schema",
        "stats",
        "session",
        "sessions",
        "s",
        "server",
        "models",
        "help",
        "completion",
    }
)


class Crush(Assistant):
    name = "crush"
    display_name = "Crush"
    executables = ("crush",)
    script_markers = ("@charmland/crush/",)
    session_id_re = re.compile(
        r"(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
        r"|[0-9a-f]{4,16})\Z"
    )
    checked_version = "0.90.0"
    real_cli_test = False
    value_options = frozenset({"--cwd", "-c", "--data-dir", "-D", "--host", "-H", "--channels"})
    model_options = ()  # the TUI has no model option (`crush run -m` is one-shot)
    session_options = frozenset({"--session", "-s"})
    session_flags = frozenset({"--continue", "-C"})
    not_session_options = frozenset({"--help", "-h", "--version", "-v"})
    not_session_subcommands = NOT_SESSIONS
    keep_positionals = False
    resume_form = ("--session",)
    code_options = ("--data-dir", "-D", "--host", "-H", "--channels")
    code_path_options = ("--data-dir", "-D")
    # Not replayed: `--cwd` moved the process into that folder, the saved cwd,
    # which restore starts in (a relative value would point elsewhere from there).
    cwd_options = frozenset({"--cwd", "-c"})

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [
            ("args", self.id_from_args),
            ("db", self.id_from_db),
            ("continue", self.id_from_continue),
        ]

    # -- arguments ---------------------------------------------------------------
    def _options(self, args: list[str]) -> dict[str, Optional[str]]:
        out: dict[str, Optional[str]] = {}
        for tok in scan(args, self.value_options | self.session_options):
            if tok.option is not None:
                out[tok.option] = tok.value
        return out

    def cli_args(self, args: list[str]) -> list[str]:
        kept: list[str] = []
        for tok in scan(args, self.value_options | self.session_options):
            if tok.option in self.cwd_options:
                continue
            if tok.option in self.session_options or tok.option in self.session_flags:
                continue
            if tok.option is None and not self.keep_positionals:
                continue
            kept.extend(tok.raw)
        return kept

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        opts = self._options(found.launch.args)
        value = opts.get("--session") or opts.get("-s")
        if not value:
            return None
        if UUID.match(value):
            return value.lower()
        return value if _HASH_PREFIX.match(value) else None

    # -- store -------------------------------------------------------------------
    def data_dir(self, ctx: Context, found: Found) -> Optional[str]:
        """The data dir this Crush uses (Crush's own precedence, see above)."""
        if not found.cwd:
            return None
        cwd = found.cwd
        opts = self._options(found.launch.args)
        given = opts.get("--data-dir") or opts.get("-D")
        if given:
            return os.path.normpath(os.path.join(cwd, given))
        recorded = self._recorded_data_dir(ctx, found)
        if recorded:
            return recorded
        return _closest_dot_crush(cwd, ctx.home) or os.path.join(cwd, ".crush")

    def _recorded_data_dir(self, ctx: Context, found: Found) -> Optional[str]:
        """The data dir `projects.json` records for the cwd."""
        env = _files.proc_env(ctx, found)
        base = _files.env_path(env, "CRUSH_GLOBAL_DATA")
        if base is None:
            xdg = _files.env_path(env, "XDG_DATA_HOME")
            base = os.path.join(xdg or os.path.join(ctx.home, ".local", "share"), "crush")
        for entry in _projects(os.path.join(base, "projects.json"), ctx.log):
            if entry.get("path") != found.cwd:
                continue
            value = entry.get("data_dir")
            if isinstance(value, str) and value:
                return os.path.normpath(os.path.join(found.cwd or "/", value))
        return None

    def watch_files(self, home: str) -> list[str]:
        """The WAL of the most recently used data dirs (a message writes it: a
        fresh start gets a session row) and projects.json (a new project)."""
        base = os.environ.get("CRUSH_GLOBAL_DATA")
        if not (base and os.path.isabs(base)):
            xdg = os.environ.get("XDG_DATA_HOME")
            xdg = xdg if xdg and os.path.isabs(xdg) else os.path.join(home, ".local", "share")
            base = os.path.join(xdg, "crush")
        path = os.path.join(base, "projects.json")
        out = [path]
        for entry in _projects(path)[:WATCHED]:
            value = entry.get("data_dir")
            if isinstance(value, str) and os.path.isabs(value):
                out.append(os.path.join(value, "crush.db-wal"))
        return out

    def _rows(self, ctx: Context, found: Found) -> Optional[list[tuple[str, int, int]]]:
        """(id, created_at, updated_at) of the data dir's top-level sessions,
        newest update first (None: no readable database)."""
        directory = self.data_dir(ctx, found)
        if directory is None:
            return None
        from assistant_resurrect.assistants import _sqlite

        def run(conn: object, cols: set[str]) -> list[tuple[str, int, int]]:
            rows = conn.execute(  # type: ignore[attr-defined]
                "SELECT id, created_at, updated_at FROM sessions "
                "WHERE parent_session_id IS NULL ORDER BY updated_at DESC LIMIT 50"
            ).fetchall()
            out = []
            for sid, created, updated in rows:
                if isinstance(sid, str) and isinstance(created, int) and isinstance(updated, int):
                    out.append((sid, created, updated))
            return out

        result: Optional[list[tuple[str, int, int]]] = _sqlite.read(
            os.path.join(directory, "crush.db"),
            "sessions",
            SESSION_COLUMNS,
            run,
            ctx.log,
            f"crush pid {found.pid}",
        )
        return result

    def id_from_db(self, ctx: Context, found: Found) -> Optional[str]:
        """The newest session updated since the start (see the module docstring)."""
        rows = self._rows(ctx, found)
        if not rows:
            return None
        since = found.start - _files.MTIME_SLACK
        others: Optional[list[float]] = None
        theirs: list[str] = []
        for sid, created, updated in rows:
            if updated < since:
                break
            if not self.valid_session_id(sid) or not _files.unclaimed(ctx, found, sid):
                continue
            if created < since:
                if others is None:
                    others = self.other_starts(ctx, found)
                if any(start - _files.MTIME_SLACK <= created for start in others):
                    theirs.append(sid)
                    continue
            return sid
        return theirs[0] if theirs else None

    def id_from_continue(self, ctx: Context, found: Found) -> Optional[str]:
        """`--continue` without a message yet: the session it opened."""
        opts = self._options(found.launch.args)
        if "--continue" not in opts and "-C" not in opts:
            return None
        for sid, _created, _updated in self._rows(ctx, found) or []:
            if self.valid_session_id(sid) and _files.unclaimed(ctx, found, sid):
                return sid
            return None  # the newest one is another pane's: not ours
        return None

    def other_starts(self, ctx: Context, found: Found) -> list[float]:
        """Start times of the other live Crush processes working in `found.cwd`."""
        return _files.other_sessions(
            ctx, found, self, ("crush", "node"), lambda pid, _: ctx.snap.cwd(pid) == found.cwd
        )


def _projects(path: str, log: Optional[Callable[[str], None]] = None) -> list[dict[str, Any]]:
    """The entries of a `projects.json` (none when it is missing or malformed)."""
    import json

    raw = _files.read_file(path, limit=PROJECTS_LIMIT, log=log, label="crush")
    if raw is None:
        return []
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        if log is not None:
            log(f"crush: {path} is not JSON; ignored")
        return []
    projects = data.get("projects") if isinstance(data, dict) else None
    if not isinstance(projects, list):
        return []
    return [entry for entry in projects if isinstance(entry, dict)]


def _closest_dot_crush(cwd: str, home: str) -> Optional[str]:
    """The closest `.crush` from `cwd` up to its git work tree root (only `cwd`
    outside one); the home folder's own is never used."""
    top = cwd
    probe = cwd
    while True:
        if os.path.lexists(os.path.join(probe, ".git")):
            top = probe
            break
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    here = cwd
    while True:
        candidate = os.path.join(here, ".crush")
        if os.path.lexists(candidate):
            return None if here == home else candidate
        if here == top:
            return None
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent
