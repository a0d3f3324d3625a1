"""Kilo Code CLI (`kilo`, `kilocode`; npm `@kilocode/cli`), an OpenCode fork.

Process tree (7.7.7): `node <prefix>/bin/kilo [args]` (the npm launcher, a
node script also installed as `kilocode`) spawns the native Bun binary
`<prefix>/lib/node_modules/@kilocode/cli/bin/.kilo [args]` (a copy of
`@kilocode/cli-<os>-<arch>/bin/kilo`, which runs when the copy is missing or
KILO_BIN_PATH names it) with the same arguments; the process title is not
rewritten. `kilo [project]`: the native binary changes into the project, the
launcher (the process saved, whose cwd restore cd-s into) stays where it was
started, so the project is replayed as typed, and the strategies match
sessions against the native process's cwd (the deepest Kilo process); a
native binary run directly has changed into the project itself, so its
project argument is dropped on restore. `kilo` is also the name of an
unrelated text editor, so a direct program named `kilo` counts only under an
`@kilocode/` package folder.

Sessions live in `<data>/kilo.db` (SQLite, WAL; `<data>` is
`$XDG_DATA_HOME/kilo`, default `~/.local/share/kilo`; `$KILO_DB`, absolute or
relative to `<data>`, overrides it; non-release channels use
`kilo-<channel>.db`), table `session` as OpenCode's: `id` (`ses_…`),
`directory` (the cwd), `parent_id` (sub-agent sessions), `time_archived`,
`time_created` / `time_updated` (ms); table `message` (`session_id`). The
TUI creates a session's row with its first message (`--mini` at the start,
with no message row). Kilo itself writes no record naming its pid (its logs
are named by start time and shared).

Event saves: `watch_files` lists kilo.db and its WAL (without OpenCode's
plugins, whose state files start one, nothing else tells the sentinel that a
message was sent).

Session ID strategies, first answer wins:
1. `tui-state`: `opencode-tui-<pid>.json`, written by OpenCode's TUI plugin
   (roles/.../opencode/assistant-resurrect-tui.js), which Kilo 7.7.7 loads
   when `~/.config/kilo/tui.json` lists it (checked: it follows a pick from
   the session list): route "session" -> its session, route "home" (no
   message yet) -> NO_CONVERSATION;
2. `plugin-state`: `opencode-<pid>.json` in our state dir, for this Kilo
   process's pid: OpenCode's server plugin (roles/.../opencode/
   assistant-resurrect.js), which Kilo 7.7.7 loads from
   `~/.config/kilo/{plugin,plugins}/*.js` unchanged (checked: it writes that
   file with Kilo's pid on the first message and follows /new), names the
   session of the last message or new session; the file must be from this
   process (its start time), not an earlier one with a reused pid;
3. `args`: `-s/--session <id>` (not with `--fork` or `--cloud-fork`, which
   continue in a new session);
4. `db`: the newest non-archived top-level session of the process's cwd
   created or updated since the process started (a message was sent in it);
5. `continue`: with `-c/--continue` and nothing since the start, the newest
   non-archived top-level session of the cwd (what `-c` reopened).
6. `no-message`: without `-s` / `-c` (or with a fork flag), a readable
   kilo.db holding no top-level session of the cwd written since the start:
   no message was sent, nothing to resume -> NO_CONVERSATION, restore starts
   Kilo afresh (a session only picked in the TUI's list, with no message
   since, is not seen: it is restored as a fresh start too).
None of them gives an ID another pane saved. A session without a row in
kilo.db's `message` table (`--mini` creates its session at the start) is not
resumable: saved as a fresh start. Resume: `kilo [args] -s <id>`
(7.7.7 `--help`: "-s, --session  session id to continue"; Kilo prints
`kilo -s <id>` itself when it exits).

Code-loading options (7.7.7 --help; policy in base.py): as OpenCode, none
loads a file (config comes from KILO_CONFIG / KILO_CONFIG_DIR and the
project), but `--hostname`, `--port`, `--mdns(-domain)` and `--cors` open the
server it starts, which runs commands, to other users, hosts or web pages.
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
    Launch,
    Strategy,
    scan,
)
from assistant_resurrect.procs import same_start

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

# The columns of the `session` table (OpenCode's schema) the strategies read.
SESSION_COLUMNS = ("id", "directory", "parent_id", "time_archived", "time_updated")
# Subcommands that are not interactive sessions: helpers, one-shot runs,
# servers (7.7.7 `kilo --help`; tool modules import no other tool module, so
# this is not OpenCode's list plus Kilo's own).
NOT_SESSIONS = frozenset(
    {
        "completion",
        "acp",
        "mcp",
        "attach",
        "run",
        "debug",
        "auth",
        "providers",
        "agent",
        "upgrade",
        "uninstall",
        "serve",
        "models",
        "stats",
        "export",
        "import",
        "github",
        "pr",
        "session",
        "plugin",
        "plug",
        "db",
        "console",
        "cloud",
        "roll-call",
        "profile",
        "remote",
        "daemon",
        "config",
        "worktree",
        "help",
    }
)
# Flags that make `-s`/`-c` continue in a new session (a fork of the named one).
FORK_FLAGS = frozenset({"--fork", "--cloud-fork"})
# State files of OpenCode's server and TUI plugins (named after OpenCode, also in Kilo).
PLUGIN_KIND = "opencode"
TUI_KIND = "opencode-tui"
PACKAGE_DIR = "@kilocode/"  # @kilocode/cli/bin/.kilo, @kilocode/cli-linux-x64/bin/kilo


class Kilo(Assistant):
    name = "kilo"
    display_name = "Kilo Code CLI"
    executables = ("kilo", "kilocode", ".kilo")
    script_markers = (PACKAGE_DIR,)
    session_id_re = re.compile(r"ses_[A-Za-z0-9]{8,64}\Z")
    checked_version = "7.7.7"
    real_cli_test = True  # tests/realcli/test_kilo.py
    not_session_subcommands = NOT_SESSIONS
    not_session_options = frozenset({"--help", "-h", "--version", "-v"})
    resume_form = ("-s",)
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
            "--worktree",
            "--replay-limit",
        }
    )
    # --prompt is a first message: not replayed (the resumed session has it).
    session_options = frozenset({"--session", "-s", "--prompt"})
    session_flags = frozenset({"--continue", "-c"}) | FORK_FLAGS
    code_options = ("--hostname", "--port", "--mdns", "--mdns-domain", "--cors")
    evidence = frozenset({"tui-state", "plugin-state"})
    # OpenCode's two plugins, installed for Kilo by the role (tasks/kilo.yml).
    plugin_files = ("opencode/assistant-resurrect.js", "opencode/assistant-resurrect-tui.js")
    # `kilo [project]`: replayed from the launcher's cwd (see the docstring).
    keep_positionals = True

    def match(self, launch: Launch) -> bool:
        """`kilocode` or `.kilo` anywhere; `kilo` as a script (the npm launcher
        under node or bun) or under an @kilocode/ folder, never a direct
        program `kilo` elsewhere (the kilo text editor)."""
        if PACKAGE_DIR in launch.program:
            return True
        if launch.name in ("kilocode", ".kilo"):
            return True
        return launch.name == "kilo" and not launch.direct

    def resume_argv(self, program: str, cli_args: list[str], session_id: str) -> list[str]:
        return [program, *self._replayed(program, cli_args), *self.resume_form, session_id]

    def fresh_argv(self, program: str, cli_args: list[str]) -> list[str]:
        return [program, *self._replayed(program, cli_args)]

    def _replayed(self, program: str, cli_args: list[str]) -> list[str]:
        """`cli_args`, without the project when `program` is the native binary
        run directly (it changed into the project: the saved cwd is that)."""
        if program in ("kilo", "kilocode"):
            return cli_args  # through the launcher, which stays in its folder
        kept: list[str] = []
        for tok in scan(cli_args, self.value_options | self.session_options):
            if tok.option is not None:
                kept.extend(tok.raw)
        return kept

    def work_dir(self, found: Found, ctx: Context) -> Optional[str]:
        """The folder Kilo works in: the cwd of the deepest Kilo process (the
        native binary, which changed into `[project]`), else the saved one."""
        for pid in reversed(found.pids):
            cwd = ctx.snap.cwd(pid)
            if cwd:
                return cwd
        return found.cwd

    def watch_files(self, home: str) -> list[str]:
        """kilo.db and its WAL: Kilo writes them with each message and new
        session. OpenCode's plugins, when installed for Kilo, start an event
        save through our state dir; without them (the role does not install
        them for Kilo) nothing else does (checked with 7.7.7: a message and a
        crash 5 s later left the pane saved with no session)."""
        data = os.environ.get("XDG_DATA_HOME") or ""
        if not os.path.isabs(data):
            data = os.path.join(home, ".local", "share")
        db = os.path.join(data, "kilo", "kilo.db")
        return [db, db + "-wal"]

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [
            ("tui-state", self.id_from_tui),
            ("plugin-state", self.id_from_plugin),
            ("args", self.id_from_args),
            ("db", self.id_from_db),
            ("continue", self.id_from_continue),
            ("no-message", self.no_message),
        ]

    def _own_entry(self, ctx: Context, found: Found, kind: str) -> Optional[dict]:
        """The `kind` state file of one of these Kilo processes, if it is from
        that process (its start time), not an earlier one with a reused pid."""
        for pid in found.pids or [found.pid]:
            entry = ctx.state.get(kind, pid)
            if entry is None:
                continue
            proc = ctx.snap.procs.get(pid)
            started = entry.get("start_time")
            if proc is None or started is None or not same_start(started, proc.start):
                ctx.log(f"kilo pid {pid}: {kind} state is from an earlier process; ignored")
                continue
            return entry
        return None

    def id_from_tui(self, ctx: Context, found: Found) -> Optional[str]:
        """The TUI's route: the session on screen, or home (no conversation yet)."""
        entry = self._own_entry(ctx, found, TUI_KIND)
        if entry is None:
            return None
        if entry.get("route") == "home":
            return NO_CONVERSATION
        sid = entry.get("session_id")
        return sid if entry.get("route") == "session" and isinstance(sid, str) else None

    def id_from_plugin(self, ctx: Context, found: Found) -> Optional[str]:
        """The session OpenCode's plugin, loaded by this Kilo process, recorded."""
        entry = self._own_entry(ctx, found, PLUGIN_KIND)
        sid = entry.get("session_id") if entry is not None else None
        return sid if isinstance(sid, str) else None

    def _flags(self, found: Found) -> set[str]:
        return {
            tok.option
            for tok in scan(found.launch.args, self.value_options | self.session_options)
            if tok.option
        }

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        """`-s <id>`, unless a fork flag makes it open a new session."""
        if self._flags(found) & FORK_FLAGS:
            return None
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option in ("--session", "-s") and tok.value:
                return tok.value
        return None

    def db_path(self, ctx: Context, found: Found) -> Optional[str]:
        """$KILO_DB (absolute, or relative to the data dir), else <data>/kilo.db,
        else the newest kilo*.db there (non-release channels)."""
        env = _files.proc_env(ctx, found)
        data_home = _files.env_path(env, "XDG_DATA_HOME") or os.path.join(
            ctx.home, ".local", "share"
        )
        data = os.path.join(data_home, "kilo")
        explicit = env.get("KILO_DB") if env else os.environ.get("KILO_DB")
        if explicit and explicit != ":memory:":
            return explicit if os.path.isabs(explicit) else os.path.join(data, explicit)
        default = os.path.join(data, "kilo.db")
        if os.path.lexists(default):
            return default
        others = _files.recent_files(data, (".db",), 0.0)
        named = [p for _, p in others if os.path.basename(p).startswith("kilo")]
        return named[0] if named else None

    def _newest(self, ctx: Context, found: Found, since_ms: Optional[int]) -> Optional[str]:
        """The newest unclaimed non-archived top-level session of the cwd
        (updated at or after `since_ms`, when given)."""
        cwd = self.work_dir(found, ctx)
        if not cwd:
            return None
        path = self.db_path(ctx, found)
        if path is None:
            return None
        from assistant_resurrect.assistants import _sqlite

        def run(conn: object, cols: set[str]) -> Optional[str]:
            rows = conn.execute(  # type: ignore[attr-defined]
                "SELECT id FROM session WHERE directory = ? AND parent_id IS NULL "
                "AND time_archived IS NULL AND time_updated >= ? "
                "ORDER BY time_updated DESC LIMIT 20",
                (cwd, since_ms if since_ms is not None else -1),
            ).fetchall()
            for (sid,) in rows:
                if isinstance(sid, str) and _files.unclaimed(ctx, found, sid):
                    return sid
            return None

        result: Optional[str] = _sqlite.read(
            path, "session", SESSION_COLUMNS, run, ctx.log, f"kilo pid {found.pid}"
        )
        return result

    def id_from_db(self, ctx: Context, found: Found) -> Optional[str]:
        """A session of this cwd written since the process started."""
        since = int((found.start - _files.MTIME_SLACK) * 1000)
        return self._newest(ctx, found, since)

    def id_from_continue(self, ctx: Context, found: Found) -> Optional[str]:
        """`-c` with no message since: the cwd's newest session, which it reopened."""
        flags = self._flags(found)
        if not flags & {"--continue", "-c"} or flags & FORK_FLAGS:
            return None
        return self._newest(ctx, found, None)

    def no_message(self, ctx: Context, found: Found) -> Optional[str]:
        """NO_CONVERSATION when kilo.db shows no session of the cwd written since
        the start and the command line opens no existing one."""
        flags = self._flags(found)
        if flags & {"--session", "-s", "--continue", "-c"} and not flags & FORK_FLAGS:
            return None  # it reopened a session (one another pane saved, or unreadable)
        cwd = self.work_dir(found, ctx)
        if not cwd:
            return None
        path = self.db_path(ctx, found)
        if path is None:
            return None
        from assistant_resurrect.assistants import _sqlite

        since = int((found.start - _files.MTIME_SLACK) * 1000)

        def run(conn: object, cols: set[str]) -> Optional[str]:
            (count,) = conn.execute(  # type: ignore[attr-defined]
                "SELECT count(*) FROM session WHERE directory = ? AND parent_id IS NULL "
                "AND time_updated >= ?",
                (cwd, since),
            ).fetchone()
            return NO_CONVERSATION if count == 0 else None

        result: Optional[str] = _sqlite.read(
            path, "session", SESSION_COLUMNS, run, ctx.log, f"kilo pid {found.pid}"
        )
        return result

    def resumable(self, ctx: Context, found: Found, session_id: str) -> Optional[bool]:
        """False for a session with no message yet (`kilo --mini` creates its
        row at the start); None when kilo.db cannot tell."""
        path = self.db_path(ctx, found)
        if path is None:
            return None
        from assistant_resurrect.assistants import _sqlite

        def run(conn: object, cols: set[str]) -> Optional[bool]:
            known = conn.execute(  # type: ignore[attr-defined]
                "SELECT 1 FROM session WHERE id = ?", (session_id,)
            ).fetchone()
            if known is None:
                return None  # not in this database: cannot tell
            row = conn.execute(  # type: ignore[attr-defined]
                "SELECT 1 FROM message WHERE session_id = ? LIMIT 1", (session_id,)
            ).fetchone()
            return row is not None

        result: Optional[bool] = _sqlite.read(
            path, "message", ("session_id",), run, ctx.log, f"kilo pid {found.pid}"
        )
        return result
