"""OpenCode (`opencode`): native executable; a project directory may follow.

Session ID strategies, first answer wins (evidence order: what this process
showed after it started outranks its arguments, the db by cwd comes last):
1. `tui-state`: `opencode-tui-<pid>.json` written by our TUI plugin on every
   route change of the TUI: the session on screen (a pick from the session
   list, `-s`, a message that opened a new one), or "home" (`/new`, or a
   start without `-s`, before any message: OpenCode creates the row with the
   first message) -> NO_CONVERSATION, a fresh start, unless the server plugin
   recorded a session after that, or the db has one of the cwd created after
   it (a first message whose route change the TUI has not written yet: then
   the next strategies answer);
2. `plugin-state`: `opencode-<pid>.json` written by our server plugin (the
   session of the last message or new session; it never sees a pick);
3. `args`: `-s/--session <id>`, for a process neither plugin wrote for;
4. `db`: `opencode.db` (read-only): the newest non-archived top-level
   session whose directory is the process's cwd.
Both state files are checked against the process start time (a reused PID).

Code-loading options (1.18.33 --help; policy in base.py): none loads a file
(its config comes from OPENCODE_CONFIG and the project), but `--hostname`,
`--port`, `--mdns(-domain)` and `--cors` open the server it starts, which runs
commands, to other users, hosts or web pages; legacy entries drop them.
"""

from __future__ import annotations

import os
import re

from assistant_resurrect.assistants import _files
from assistant_resurrect.assistants.base import (
    NO_CONVERSATION,
    Assistant,
    Context,
    Found,
    Strategy,
    scan,
)
from assistant_resurrect.procs import same_start

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Optional

SESSION_COLUMNS = ("id", "directory", "parent_id", "time_archived", "time_updated")

# Subcommands that are not interactive sessions (helpers, one-shot runs, servers).
NOT_SESSIONS = frozenset(
    {
        "run",
        "serve",
        "web",
        "acp",
        "mcp",
        "auth",
        "agent",
        "models",
        "upgrade",
        "uninstall",
        "stats",
        "export",
        "import",
        "github",
        "pr",
        "debug",
        "completion",
        "session",
        # 1.18.33 (opencode --help)
        "providers",
        "db",
        "plugin",
        "plug",
        "attach",
    }
)


class OpenCode(Assistant):
    name = "opencode"
    executables = ("opencode",)
    script_markers = ("opencode-ai/bin/opencode",)
    session_id_re = re.compile(r"ses_[A-Za-z0-9]{8,64}\Z")
    not_session_subcommands = NOT_SESSIONS
    resume_form = ("-s",)
    display_name = "OpenCode"
    checked_version = "1.18.33"
    real_cli_test = True
    plugin_files = ("opencode/assistant-resurrect.js",)
    evidence = frozenset({"tui-state", "plugin-state"})
    value_options = frozenset(
        {
            "--model",
            "-m",
            "--agent",
            "--port",
            "--hostname",
            "--log-level",
            "--prompt",
            "--mdns-domain",
            "--cors",
        }
    )
    session_options = frozenset({"--session", "-s", "--prompt"})
    session_flags = frozenset({"--continue", "-c"})
    code_options = ("--hostname", "--port", "--mdns", "--mdns-domain", "--cors")
    # `opencode [project]` changes into the project first: the saved cwd is that
    # folder and restore cd-s there, so the (possibly relative) path is not replayed.
    keep_positionals = False

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [
            ("tui-state", self.id_from_tui),
            ("plugin-state", self.id_from_plugin),
            ("args", self.id_from_args),
            ("db", self.id_from_db),
        ]

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option in ("--session", "-s") and tok.value:
                return tok.value
        return None

    def id_from_tui(self, ctx: Context, found: Found) -> Optional[str]:
        """The TUI's route: the session on screen, or home (no conversation yet)."""
        for _pid, entry in self._own_entries(ctx, found, "opencode-tui"):
            route = entry.get("route")
            if route == "home":
                at = entry.get("timestamp_epoch")
                for _, later in self._own_entries(ctx, found, "opencode"):
                    ts = later.get("timestamp_epoch")
                    if isinstance(at, (int, float)) and isinstance(ts, (int, float)) and ts > at:
                        # A message opened a session after the TUI showed home;
                        # its route change has not been written yet. Unless the
                        # db says that session is older than home: a late event
                        # of the session the user left by /new (its title, the
                        # end of its turn).
                        sid = later.get("session_id")
                        if not (isinstance(sid, str) and self._older(ctx, found, sid, at)):
                            return None
                if isinstance(at, (int, float)) and self._created_since(ctx, found, at):
                    return None  # the same, seen in the db: the next strategies answer
                return NO_CONVERSATION
            if route == "session":
                sid = entry.get("session_id")
                return sid if isinstance(sid, str) else None
        return None

    def id_from_plugin(self, ctx: Context, found: Found) -> Optional[str]:
        for _pid, entry in self._own_entries(ctx, found, "opencode"):
            sid = entry.get("session_id")
            return sid if isinstance(sid, str) else None
        return None

    def _own_entries(
        self, ctx: Context, found: Found, kind: str
    ) -> list[tuple[int, dict[str, Any]]]:
        """State files of `kind` that belong to these live processes (not a
        file left by an earlier process with a reused PID)."""
        out: list[tuple[int, dict[str, Any]]] = []
        for pid in found.pids:
            entry = ctx.state.get(kind, pid)
            if entry is None:
                continue
            proc = ctx.snap.procs.get(pid)
            started = entry.get("start_time")
            if started is None and not isinstance(entry.get("timestamp_epoch"), (int, float)):
                continue  # nothing ties this file to the live process (a reused PID)
            if started is not None and proc is not None and not same_start(started, proc.start):
                continue
            ts = entry.get("timestamp_epoch")
            if isinstance(ts, (int, float)) and proc is not None and ts + 1 < proc.start:
                ctx.log(f"opencode pid {pid}: {kind} state predates the process; ignored")
                continue
            out.append((pid, entry))
        return out

    def db_path(self, ctx: Context, found: Found) -> Optional[str]:
        """OpenCode's database: $OPENCODE_DB (absolute, or relative to the data
        dir), else <data dir>/opencode.db, else the newest opencode*.db there
        (non-release channels use opencode-<channel>.db)."""
        env = _files.proc_env(ctx, found)
        data_home = _files.env_path(env, "XDG_DATA_HOME") or os.path.join(
            ctx.home, ".local", "share"
        )
        data = os.path.join(data_home, "opencode")
        explicit = env.get("OPENCODE_DB") if env else os.environ.get("OPENCODE_DB")
        if explicit and explicit != ":memory:":
            return explicit if os.path.isabs(explicit) else os.path.join(data, explicit)
        default = os.path.join(data, "opencode.db")
        if os.path.isfile(default):
            return default
        others = _files.recent_files(data, (".db",), 0.0)
        named = [p for _, p in others if os.path.basename(p).startswith("opencode")]
        return named[0] if named else None

    def _older(self, ctx: Context, found: Found, session_id: str, at: float) -> bool:
        """Whether the db has session `session_id`, created before `at` (epoch
        seconds); False when the db or the row cannot be read."""
        path = self.db_path(ctx, found)
        if path is None:
            return False
        from assistant_resurrect.assistants import _sqlite

        def run(conn: object, cols: set[str]) -> bool:
            if "time_created" not in cols:
                return False
            row = conn.execute(  # type: ignore[attr-defined]
                "SELECT time_created FROM session WHERE id = ?", (session_id,)
            ).fetchone()
            return row is not None and isinstance(row[0], int) and row[0] < int(at * 1000)

        label = f"opencode pid {found.pid}"
        return bool(_sqlite.read(path, "session", SESSION_COLUMNS, run, ctx.log, label))

    def _created_since(self, ctx: Context, found: Found, at: float) -> bool:
        """Whether the db has a top-level session of this directory created
        after `at` (epoch seconds)."""
        path = self.db_path(ctx, found) if found.cwd else None
        if path is None:
            return False
        from assistant_resurrect.assistants import _sqlite

        def run(conn: object, cols: set[str]) -> bool:
            if "time_created" not in cols:
                return False
            row = conn.execute(  # type: ignore[attr-defined]
                "SELECT 1 FROM session WHERE directory = ? AND parent_id IS NULL "
                "AND time_created > ? LIMIT 1",
                (found.cwd, int(at * 1000)),
            ).fetchone()
            return row is not None

        label = f"opencode pid {found.pid}"
        return bool(_sqlite.read(path, "session", SESSION_COLUMNS, run, ctx.log, label))

    def id_from_db(self, ctx: Context, found: Found) -> Optional[str]:
        """The newest non-archived top-level session of this directory."""
        if not found.cwd:
            return None
        path = self.db_path(ctx, found)
        if path is None:
            return None
        from assistant_resurrect.assistants import _sqlite

        def run(conn: object, cols: set[str]) -> Optional[str]:
            rows = conn.execute(  # type: ignore[attr-defined]
                "SELECT id FROM session WHERE directory = ? AND parent_id IS NULL "
                "AND time_archived IS NULL ORDER BY time_updated DESC LIMIT 20",
                (found.cwd,),
            ).fetchall()
            for (sid,) in rows:
                if isinstance(sid, str) and _files.unclaimed(ctx, found, sid):
                    return sid
            return None

        result: Optional[str] = _sqlite.read(
            path, "session", SESSION_COLUMNS, run, ctx.log, f"opencode pid {found.pid}"
        )
        return result
