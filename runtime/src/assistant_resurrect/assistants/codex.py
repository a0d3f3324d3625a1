"""Codex CLI (`codex`): node launcher `codex.js` spawning a native `codex`.

Session ID strategies, in evidence order (first answer wins; 0.169.0):
1. `logs-db`: what this very process did, from Codex's own log database
   (`logs_<N>.sqlite`, table `logs`, rows keyed by `process_uuid` =
   `pid:<pid>:<uuid>`). The TUI drives a shared app-server daemon over a
   socket; the daemon logs, per connection, the threads it creates
   (`thread_start.create_thread ... app_server.connection_id=C`, with the
   row's `thread_id`) and resumes (`... resume response thread_id=T ...
   ConnectionId(C)`). A TUI's connection is the one whose first `thread/`
   request follows the TUI's own "connected app-server platform" row within
   2 s (when no other TUI connected within 2 s of it); failing that, the
   TUIs (the running Codex processes by their start, exited ones by their
   first `codex_tui::` row: a TUI's own rows may reach the database seconds
   late) and the daemon's connections that started or resumed a thread (by
   connection number) are paired in order, counted from a quiet moment at or
   before this TUI's start (no TUI started in the 10 s before it, so no
   older TUI opens a connection after it); the last thread this process's
   connection created or resumed is its session (`/new`, `/resume`, the
   picker included), taken only when `threads` has it in this directory (a
   real run paired some panes wrongly: then the next strategies answer). A
   TUI with an in-process app server logs the thread IDs under its own pid:
   those rows answer directly, and a thread there with no `threads` row yet
   (a `/new` without a message) is NO_CONVERSATION;
2. `args`: `resume <id>` (or `resume <name>`, resolved through
   `session_index.jsonl`, the file `/rename` writes): only reached while the
   process has produced no evidence;
3. `threads-db`: the `threads` table of the newest `state_<N>.sqlite`: the
   thread of this cwd most recently updated since the process started (for
   `resume --last` without a new message: the newest thread of this cwd);
   when other plain `codex` sessions of this user work in the same cwd and
   as many threads of it were created since the first of them started, the
   threads pair with the sessions in order (Codex starts a TUI's thread as
   it connects; the newest update may be the other pane's);
4. `rollouts`: `sessions/YYYY/MM/DD/rollout-*.jsonl` written since the
   process started whose `session_meta` names this cwd;
5. `session-tags`: `session-tags.jsonl` lines `{"pid": ..., "session": ...}`
   (written by some setups; Codex 0.169 itself does not).
No Codex hooks: `~/.codex/hooks.json` hooks are skipped until the user
trusts them and managed hooks need an admin requirements file; instead
`watch_files` lists the state and log databases (and their WAL files) and
the session index, which Codex rewrites on every switch.
The `codex app-server` daemons are helpers, never sessions (`is_session`).

Code-loading options (0.169.0 --help; policy in base.py): `-c/--config`
(any config.toml value: MCP servers, notify commands, hooks), `--enable` and
`--disable` (the same, for features), `-p/--profile` (layers
`$CODEX_HOME/<name>.config.toml`), `--remote` (the app server the TUI
drives, which runs the commands) and `--dangerously-bypass-hook-trust`. None
names a file, so only legacy entries are affected (they drop them).
"""

from __future__ import annotations

import os
import re
import time

from assistant_resurrect.assistants import _files
from assistant_resurrect.assistants.base import (
    NO_CONVERSATION,
    UUID,
    Assistant,
    Context,
    Found,
    Strategy,
    Token,
    scan,
)

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Optional

THREAD_COLUMNS = ("id", "cwd", "created_at", "updated_at", "archived")
LOG_COLUMNS = ("ts", "ts_nanos", "target", "feedback_log_body", "thread_id", "process_uuid")
STATE_DB = re.compile(r"state_(\d+)\.sqlite\Z")
LOGS_DB = re.compile(r"logs_(\d+)\.sqlite\Z")
# The daemon's request lines and the rows that tie a thread to a connection.
REQUEST = re.compile(r"app-server request: (\S+) connection_id=ConnectionId\((\d+)\)")
CONNECTION = re.compile(r"(?:app_server\.connection_id=|ConnectionId\()(\d+)")
THREAD_REQUESTS = frozenset({"thread/start", "thread/resume", "thread/fork"})
BOOT = 10.0  # a TUI opens its daemon connection within this long of its start
LINK = 2.0  # a TUI's "connected" row and its connection's first thread/ request, apart
TUI_HISTORY = 900.0  # how far back exited TUIs are looked for
LOG_ROWS = 20000  # rows read at most (newest first) per save
# Subcommands that are interactive sessions; every other subcommand is a helper
# (app-server daemons, exec, login, mcp, ...).
# `fork` starts a new session from an old one: saved with the new thread's ID
# (threads-db) and restored with `resume`.
SESSION_SUBCOMMANDS = frozenset({"resume", "fork"})
KNOWN_SUBCOMMANDS = frozenset(
    {
        "exec",
        "e",
        "review",
        "login",
        "logout",
        "mcp",
        "mcp-server",
        "app-server",
        "app",
        "completion",
        "sandbox",
        "debug",
        "apply",
        "a",
        "resume",
        "fork",
        "cloud",
        "features",
        "proto",
        "responses-api-proxy",
        "stdio-to-uds",
        "help",
        # added by 0.169.0 (codex --help)
        "agents",
        "plugin",
        "remote-control",
        "update",
        "doctor",
        "queue",
        "archive",
        "delete",
        "unarchive",
        "migrate-rollouts",
        "migrate-nfs-db",
        "exec-server",
    }
)


class Codex(Assistant):
    name = "codex"
    executables = ("codex",)
    script_markers = ("@openai/codex/bin/codex",)
    session_id_re = UUID
    resume_form = ("resume",)
    display_name = "Codex CLI"
    checked_version = "0.169.0"
    real_cli_test = True
    value_options = frozenset(
        {
            "--config",
            "-c",
            "--image",
            "-i",
            "--model",
            "-m",
            "--profile",
            "-p",
            "--sandbox",
            "-s",
            "--ask-for-approval",
            "-a",
            "--cd",
            "-C",
            "--add-dir",
            "--local-provider",
            "--enable",
            "--disable",
            "--remote",
            "--remote-auth-token-env",
        }
    )
    code_options = (
        "-c",
        "--config",
        "--enable",
        "--disable",
        "-p",
        "--profile",
        "--remote",
        "--dangerously-bypass-hook-trust",
    )

    def _split(self, args: list[str]) -> tuple[list[Token], Optional[int]]:
        """Scanned tokens and the index of the subcommand token (None: none)."""
        toks = scan(args, self.value_options)
        for i, tok in enumerate(toks):
            if tok.option is None:
                return toks, (i if tok.raw[0] in KNOWN_SUBCOMMANDS else None)
        return toks, None

    def is_session(self, args: list[str]) -> bool:
        toks, sub = self._split(args)
        return sub is None or toks[sub].raw[0] in SESSION_SUBCOMMANDS

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [
            ("logs-db", self.id_from_logs),
            ("new-thread", self.id_from_new_thread),
            ("args", self.id_from_args),
            ("threads-db", self.id_from_threads),
            ("rollouts", self.id_from_rollouts),
            ("session-tags", self.id_from_session_tags),
            ("no-thread", self.fresh_if_no_thread),
        ]

    def _alone_in_cwd(self, ctx: Context, found: Found, cwd: str) -> bool:
        """No other Codex session process works in `cwd` (the snapshot's)."""
        from assistant_resurrect.assistants.base import parse_launch

        mine = set(found.pids) | {found.pid}
        uid = ctx.snap.uid(found.pid)
        for pid, proc in ctx.snap.procs.items():
            if pid in mine or proc.comm not in ("codex", "node"):
                continue
            if ctx.snap.uid(pid) != uid:
                continue  # another user's Codex: its own threads
            launch = parse_launch(ctx.snap.argv(pid))
            if launch is None or not self.match(launch) or not self.is_session(launch.args):
                continue
            if ctx.snap.cwd(pid) == cwd and not (set(found.pids) & {proc.ppid}):
                return False
        return True

    def id_from_new_thread(self, ctx: Context, found: Found) -> Optional[str]:
        """A `codex resume X` that made a new thread since it started (`/new` and a
        message): the one thread of its directory *created* since then, when no
        other Codex works in that directory (else unsure: None). Outranks the
        `resume X` of its command line, which it has left."""
        if self.resume_target(found) is None:
            return None
        left = self.id_from_args(ctx, found)
        cwd = self.session_cwd(found)
        path = self.state_db(ctx, found)
        if cwd is None or path is None or not self._alone_in_cwd(ctx, found, cwd):
            return None
        from assistant_resurrect.assistants import _sqlite

        def run(conn: Any, cols: set[str]) -> Optional[str]:
            since = int(found.start - _files.MTIME_SLACK)
            user = (
                " AND COALESCE(thread_source, 'user') = 'user'" if "thread_source" in cols else ""
            )
            rows = conn.execute(
                "SELECT id FROM threads WHERE cwd = ? AND created_at >= ? AND archived = 0 "
                f"AND id != ?{user} ORDER BY created_at DESC LIMIT 1",
                (cwd, since, left or ""),
            ).fetchall()
            sid = str(rows[0][0]) if rows else None
            return sid if sid and _files.unclaimed(ctx, found, sid) else None

        result: Optional[str] = _sqlite.read(
            path, "threads", THREAD_COLUMNS, run, ctx.log, f"codex pid {found.pid}"
        )
        return result

    def fresh_if_no_thread(self, ctx: Context, found: Found) -> Optional[str]:
        """NO_CONVERSATION for a plain `codex` (no `resume`/`fork`) when the threads
        table holds no thread of its directory created or updated since it
        started: Codex makes the row with the first message, so none was sent
        (a fresh start, not a pane left at the shell). Unsure (no readable
        table): None."""
        toks, sub = self._split(found.launch.args)
        if sub is not None and toks[sub].raw[0] in SESSION_SUBCOMMANDS:
            return None
        cwd = self.session_cwd(found)
        path = self.state_db(ctx, found)
        if cwd is None or path is None:
            return None
        from assistant_resurrect.assistants import _sqlite

        def run(conn: Any, cols: set[str]) -> Optional[str]:
            since = int(found.start - _files.MTIME_SLACK)
            row = conn.execute(
                "SELECT 1 FROM threads WHERE cwd = ? AND (created_at >= ? OR updated_at >= ?) "
                "LIMIT 1",
                (cwd, since, since),
            ).fetchone()
            return None if row else NO_CONVERSATION

        result: Optional[str] = _sqlite.read(
            path,
            "threads",
            ("cwd", "created_at", "updated_at"),
            run,
            ctx.log,
            f"codex pid {found.pid}",
        )
        return result

    def resume_target(self, found: Found) -> Optional[str]:
        """The session `resume <id-or-name>` names (None: no such argument)."""
        toks, sub = self._split(found.launch.args)
        if sub is None or toks[sub].raw[0] != "resume":
            return None
        for tok in toks[sub + 1 :]:
            if tok.option is None:
                return tok.raw[0]
        return None

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        value = self.resume_target(found)
        if value is None or self.valid_session_id(value):
            return value
        sid = self.thread_by_name(ctx, found, value)
        if sid is None:
            ctx.log(
                f"codex pid {found.pid}: 'resume {value}' is an invalid session ID and no "
                "session name in session_index.jsonl; ignored"
            )
        return sid

    def thread_by_name(self, ctx: Context, found: Found, name: str) -> Optional[str]:
        """The thread `codex resume <name>` opens: the latest entry of that name
        in `session_index.jsonl` (written by `/rename`)."""
        import json

        path = os.path.join(self.codex_home(ctx, found), "session_index.jsonl")
        raw = _files.read_file(path, log=ctx.log, label=f"codex pid {found.pid}")
        if raw is None:
            return None
        for line in reversed(raw.splitlines()):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("thread_name") == name:
                sid = entry.get("id")
                if isinstance(sid, str) and self.valid_session_id(sid):
                    return sid
        return None

    # -- where Codex keeps things ---------------------------------------------
    def codex_home(self, ctx: Context, found: Found) -> str:
        env = _files.proc_env(ctx, found)
        return _files.env_path(env, "CODEX_HOME") or os.path.join(ctx.home, ".codex")

    def session_cwd(self, found: Found) -> Optional[str]:
        """The directory Codex works in: `-C/--cd DIR` (relative to the process
        cwd) when given, else the process cwd."""
        if not found.cwd:
            return None
        toks, _ = self._split(found.launch.args)
        for tok in toks:
            if tok.option in ("-C", "--cd") and tok.value:
                return os.path.normpath(os.path.join(found.cwd, os.path.expanduser(tok.value)))
        return found.cwd

    def resume_flags(self, found: Found) -> set[str]:
        toks, sub = self._split(found.launch.args)
        if sub is None or toks[sub].raw[0] != "resume":
            return set()
        return {t.option for t in toks[sub + 1 :] if t.option}

    def sqlite_home(self, ctx: Context, found: Found) -> str:
        env = _files.proc_env(ctx, found)
        return _files.env_path(env, "CODEX_SQLITE_HOME") or self.codex_home(ctx, found)

    @staticmethod
    def newest(folder: str, pattern: re.Pattern[str]) -> Optional[str]:
        """The file of `folder` matching `pattern` with the highest number."""
        best: Optional[tuple[int, str]] = None
        try:
            names = os.listdir(folder)
        except OSError:
            return None
        for name in names:
            m = pattern.match(name)
            if m and (best is None or int(m.group(1)) > best[0]):
                best = (int(m.group(1)), os.path.join(folder, name))
        return best[1] if best else None

    def state_db(self, ctx: Context, found: Found) -> Optional[str]:
        """The newest `state_<N>.sqlite` ($CODEX_SQLITE_HOME, else the Codex home)."""
        return self.newest(self.sqlite_home(ctx, found), STATE_DB)

    def watch_files(self, home: str) -> list[str]:
        """The state and log databases with their WAL files, and the session
        index: Codex writes one of them on every session start, switch
        (`/new`, `/resume`, the picker), rename and message."""
        folder = os.path.join(home, ".codex")
        out = []
        for pattern, default in ((STATE_DB, "state_5.sqlite"), (LOGS_DB, "logs_2.sqlite")):
            # before Codex's first run: the names 0.169.0 creates
            path = self.newest(folder, pattern) or os.path.join(folder, default)
            out += [path, path + "-wal"]
        return [*out, os.path.join(folder, "session_index.jsonl")]

    # -- strategies ----------------------------------------------------------
    def id_from_logs(self, ctx: Context, found: Found) -> Optional[str]:
        """The thread this process last created or resumed, from Codex's log
        database (see the module docstring); NO_CONVERSATION when that thread
        has no conversation yet."""
        path = self.newest(self.sqlite_home(ctx, found), LOGS_DB)
        if path is None:
            return None
        pids = {str(p) for p in (set(found.pids) | {found.pid})}
        since = found.start - _files.MTIME_SLACK
        from assistant_resurrect.assistants import _sqlite

        live = self._live_sessions(ctx, ctx.snap.uid(found.pid))
        mine = next((i for i, (_, group) in enumerate(live) if pids & group), None)
        if mine is None:  # not in the snapshot's list (another name): itself, by its start
            live.append((found.start, pids))
            mine = len(live) - 1

        def run(conn: Any, cols: set[str]) -> Optional[str]:
            # The TUIs: the running ones by their process start (a TUI's own
            # rows may reach the database seconds late), exited ones by their
            # first row.
            tuis = conn.execute(
                "SELECT process_uuid, MIN(ts * 1000000000 + ts_nanos) AS first FROM logs "
                "WHERE ts >= ? AND target LIKE 'codex_tui%' GROUP BY process_uuid",
                (int(since - TUI_HISTORY),),
            ).fetchall()
            starts = [(t, f"live:{i}") for i, (t, _) in enumerate(live)]
            uuid: Optional[str] = None
            for u, first in tuis:
                if not isinstance(u, str) or u.count(":") < 2:
                    continue
                pid = u.split(":")[1]
                if pid in pids:
                    if first >= since * 1e9:
                        uuid = u
                elif not any(pid in g for _, g in live):
                    starts.append((first / 1e9, u))
            if uuid is not None:
                row = conn.execute(
                    "SELECT thread_id FROM logs WHERE process_uuid = ? AND thread_id IS NOT NULL "
                    "ORDER BY ts DESC, ts_nanos DESC, id DESC LIMIT 1",
                    (uuid,),
                ).fetchone()
                if row:  # an in-process app server: its rows name the threads
                    tid = str(row[0])
                    return tid if self._thread_cwd(ctx, found, tid) else NO_CONVERSATION
            conn_id, server = self._connected(conn, uuid, since) if uuid else (None, None)
            if conn_id is None:
                # From a quiet moment on (no TUI started in the BOOT before it,
                # so no earlier TUI opens its connection after it), the TUIs and
                # the daemon's connections pair up in order.
                quiet = live[mine][0]
                while True:
                    earlier = [t for t, _ in starts if quiet - BOOT <= t < quiet]
                    if not earlier:
                        break
                    quiet = min(earlier)
                group = [k for _, k in sorted(x for x in starts if x[0] >= quiet)]
                at = group.index(f"live:{mine}")
                conn_id, server = self._connection(conn, quiet, len(group), at)
            if conn_id is None:
                return None
            last: Optional[str] = None
            for tid, body in conn.execute(
                "SELECT thread_id, feedback_log_body FROM logs WHERE ts >= ? "
                "AND process_uuid = ? AND thread_id IS NOT NULL "
                "AND (feedback_log_body LIKE '%create_thread%' "
                "OR feedback_log_body LIKE '%resume response%' "
                "OR feedback_log_body LIKE '%fork%') ORDER BY ts, ts_nanos, id LIMIT ?",
                (int(since), server, LOG_ROWS),
            ):
                m = CONNECTION.search(body or "")
                if m and m.group(1) == conn_id:
                    last = str(tid)
            # The pairing of TUIs and daemon connections is by start order: its
            # answer is taken only for a thread of this very directory (a real
            # 0.169 run paired some panes wrongly); otherwise the next strategies.
            if last is None or self._thread_cwd(ctx, found, last) != self.session_cwd(found):
                return None
            return last

        result: Optional[str] = _sqlite.read(
            path, "logs", LOG_COLUMNS, run, ctx.log, f"codex pid {found.pid}"
        )
        return result

    def _live_sessions(self, ctx: Context, uid: int) -> list[tuple[float, set[str]]]:
        """(start, pids as strings) of each running Codex session of the
        snapshot run by `uid` (another user's Codex talks to its own daemon
        and logs: counting it would shift the pairing): the outermost session
        process and the Codex processes below it (the node launcher and its
        native TUI)."""
        from assistant_resurrect.assistants.base import parse_launch

        codex: dict[int, float] = {}
        for pid, proc in ctx.snap.procs.items():
            if proc.comm not in ("codex", "node"):
                continue
            if ctx.snap.uid(pid) != uid:
                continue
            launch = parse_launch(ctx.snap.argv(pid))
            if launch is not None and self.match(launch) and self.is_session(launch.args):
                codex[pid] = proc.start
        out: list[tuple[float, set[str]]] = []
        for pid, start in codex.items():
            if ctx.snap.procs[pid].ppid in codex:
                continue  # below another session process
            group = {str(sub) for sub, _ in ctx.snap.walk(pid) if sub in codex}
            out.append((start, group | {str(pid)}))
        out.sort(key=lambda item: item[0])
        return out

    @staticmethod
    def _connected(conn: Any, uuid: str, since: float) -> tuple[Optional[str], Optional[str]]:
        """(connection ID, daemon process_uuid) of TUI `uuid` (started at
        `since`) by its own row "connected app-server platform": the daemon's
        connection opened since then whose first `thread/` request follows that
        row within LINK seconds, when no other TUI logged that row within LINK
        of it. (None, None) otherwise."""
        row = conn.execute(
            "SELECT ts * 1000000000 + ts_nanos FROM logs WHERE process_uuid = ? "
            "AND feedback_log_body LIKE 'connected app-server platform%' "
            "ORDER BY ts DESC, ts_nanos DESC, id DESC LIMIT 1",
            (uuid,),
        ).fetchone()
        if not row:
            return None, None
        at = int(row[0])
        span = int(LINK * 1e9)
        near = conn.execute(
            "SELECT COUNT(DISTINCT process_uuid) FROM logs WHERE process_uuid != ? "
            "AND feedback_log_body LIKE 'connected app-server platform%' "
            "AND ts * 1000000000 + ts_nanos BETWEEN ? AND ?",
            (uuid, at - span, at + span),
        ).fetchone()
        if near and near[0]:
            return None, None  # another TUI connected at about the same time
        opened: set[tuple[str, str]] = set()
        first: dict[tuple[str, str], int] = {}  # (daemon, connection) -> first thread/ request
        for puuid, body, when in conn.execute(
            "SELECT process_uuid, feedback_log_body, ts * 1000000000 + ts_nanos FROM logs "
            "WHERE ts >= ? AND ts <= ? AND feedback_log_body LIKE 'app-server request: %' "
            "ORDER BY ts, ts_nanos, id LIMIT ?",
            (int(since), (at + span) // 10**9 + 1, LOG_ROWS),
        ):
            m = REQUEST.match(body or "")
            if not m:
                continue
            key = (str(puuid), m.group(2))
            if m.group(1) == "initialize" and when >= since * 1e9:
                opened.add(key)
            elif m.group(1).startswith("thread/"):
                first.setdefault(key, int(when))
        linked = [k for k, t in first.items() if k in opened and at - span // 20 <= t <= at + span]
        if len(linked) != 1:
            return None, None
        daemon, cid = linked[0]
        return cid, daemon

    @staticmethod
    def _connection(
        conn: Any, quiet: float, count: int, index: int
    ) -> tuple[Optional[str], Optional[str]]:
        """(connection ID, daemon process_uuid) of the `index`-th of the `count`
        TUIs started since `quiet`: the daemon's connections opened since then
        that started or resumed a thread, by connection number (the daemon
        counts them up), must be as many. (None, None) when they are not (a TUI
        not connected yet, a client that is no TUI, two daemons)."""
        opened: dict[tuple[str, str], int] = {}  # (daemon, connection) -> its initialize
        threads: set[tuple[str, str]] = set()
        for puuid, body, when in conn.execute(
            "SELECT process_uuid, feedback_log_body, ts * 1000000000 + ts_nanos FROM logs "
            "WHERE ts >= ? AND feedback_log_body LIKE 'app-server request: %' "
            "ORDER BY ts, ts_nanos, id LIMIT ?",
            (int(quiet), LOG_ROWS),
        ):
            m = REQUEST.match(body or "")
            if not m:
                continue
            key = (str(puuid), m.group(2))
            if m.group(1) == "initialize" and when >= quiet * 1e9:
                opened.setdefault(key, when)
            elif m.group(1) in THREAD_REQUESTS:
                threads.add(key)
        ordered = sorted((k for k in threads if k in opened), key=lambda k: int(k[1]))
        if len({d for d, _ in ordered}) != 1 or len(ordered) != count:
            return None, None
        daemon, cid = ordered[index]
        return cid, daemon

    def _thread_cwd(self, ctx: Context, found: Found, sid: str) -> Optional[str]:
        """The cwd of thread `sid` in the `threads` table (a thread gets its row
        with its first message); None when it has none or cannot be read."""
        path = self.state_db(ctx, found)
        if path is None:
            return None
        from assistant_resurrect.assistants import _sqlite

        def run(conn: Any, cols: set[str]) -> Optional[str]:
            row = conn.execute("SELECT cwd FROM threads WHERE id = ?", (sid,)).fetchone()
            return str(row[0]) if row else None

        result: Optional[str] = _sqlite.read(
            path, "threads", THREAD_COLUMNS, run, ctx.log, f"codex pid {found.pid}"
        )
        return result

    def _paired_by_birth(
        self, ctx: Context, found: Found, cwd: str, rows: list[Any]
    ) -> Optional[str]:
        """Several plain `codex` sessions (no `resume`/`fork`) of this user in
        `cwd`, and exactly as many threads of `cwd` (`rows`: id, created ms,
        updated ms) created since the first of them started: the threads pair
        with the sessions in order of creation and start (each TUI starts its
        thread as it connects to the daemon, before its first message; by
        update time alone the pane that spoke last took both). None when unsure
        (counts differ, a resumed session, one session alone)."""
        from assistant_resurrect.assistants.base import parse_launch

        mine = {str(p) for p in (set(found.pids) | {found.pid})}
        group: list[tuple[float, set[str]]] = []
        for start, pids in self._live_sessions(ctx, ctx.snap.uid(found.pid)):
            if not any(ctx.snap.cwd(int(p)) == cwd for p in pids):
                continue
            for p in pids:
                launch = parse_launch(ctx.snap.argv(int(p)))
                if launch is None or not self.match(launch):
                    continue
                if self._split(launch.args)[1] is not None:
                    return None  # a resume or fork: its thread is older
            group.append((start, pids))
        at = next((i for i, (_, pids) in enumerate(group) if pids & mine), None)
        if at is None or len(group) < 2:
            return None
        first = (group[0][0] - _files.MTIME_SLACK) * 1000
        born = sorted((r for r in rows if (r[1] or 0) >= first), key=lambda r: r[1])
        if len(born) != len(group):
            return None
        sid = str(born[at][0])
        return sid if _files.unclaimed(ctx, found, sid) else None

    def id_from_threads(self, ctx: Context, found: Found) -> Optional[str]:
        cwd = self.session_cwd(found)
        path = self.state_db(ctx, found)
        if cwd is None or path is None:
            return None
        flags = self.resume_flags(found)
        from assistant_resurrect.assistants import _sqlite

        def run(conn: Any, cols: set[str]) -> Optional[str]:
            ms = "created_at_ms" in cols and "updated_at_ms" in cols
            created = "COALESCE(created_at_ms, created_at * 1000)" if ms else "created_at * 1000"
            updated = "COALESCE(updated_at_ms, updated_at * 1000)" if ms else "updated_at * 1000"
            where = ["archived = 0"]
            params: list[Any] = []
            if "--all" not in flags:
                where.append("cwd = ?")
                params.append(cwd)
            if "thread_source" in cols:
                where.append("COALESCE(thread_source, '') != 'subagent'")
            rows = conn.execute(
                f"SELECT id, {created}, {updated} FROM threads WHERE {' AND '.join(where)} "
                f"ORDER BY {updated} DESC LIMIT 50",
                params,
            ).fetchall()
            since = (found.start - _files.MTIME_SLACK) * 1000
            recent = [r for r in rows if max(r[1] or 0, r[2] or 0) >= since]
            paired = self._paired_by_birth(ctx, found, cwd, rows)
            if paired is not None:
                return paired
            # The thread of this cwd most recently created or updated since the
            # process started (the rows come most recently updated first).
            for sid, _, _ in recent:
                if _files.unclaimed(ctx, found, sid):
                    return str(sid)
            if "--last" in flags:  # resumed the newest thread, no new message yet
                for sid, c_ms, _ in rows:
                    if (c_ms or 0) < since and _files.unclaimed(ctx, found, sid):
                        return str(sid)
            return None

        result: Optional[str] = _sqlite.read(
            path, "threads", THREAD_COLUMNS, run, ctx.log, f"codex pid {found.pid}"
        )
        return result

    def rollout_dirs(self, root: str, since: float) -> list[str]:
        """Day folders sessions/YYYY/MM/DD from the day before `since` to today."""
        out = []
        day = since - 86400
        end = time.time() + 86400
        seen = set()
        while day <= end:
            for t in (time.localtime(day), time.gmtime(day)):
                folder = os.path.join(
                    root, f"{t.tm_year:04d}", f"{t.tm_mon:02d}", f"{t.tm_mday:02d}"
                )
                if folder not in seen:
                    seen.add(folder)
                    out.append(folder)
            day += 86400
        return out

    def id_from_rollouts(self, ctx: Context, found: Found) -> Optional[str]:
        cwd = self.session_cwd(found)
        if cwd is None:
            return None
        root = os.path.join(self.codex_home(ctx, found), "sessions")
        if not os.path.isdir(root):
            return None
        files: list[tuple[float, str]] = []
        for folder in self.rollout_dirs(root, found.start):
            files.extend(_files.recent_files(folder, (".jsonl",), found.start))
        files.sort(reverse=True)
        for _, path in files:
            if not os.path.basename(path).startswith("rollout-"):
                continue
            meta = _files.first_json_line(path, log=ctx.log)
            payload = meta.get("payload") if meta and meta.get("type") == "session_meta" else None
            if not isinstance(payload, dict) or payload.get("cwd") != cwd:
                continue
            source = payload.get("source")
            if source is not None and not isinstance(source, str):
                continue  # sub-agent threads carry a structured source
            sid = payload.get("id") or payload.get("session_id")
            if isinstance(sid, str) and _files.unclaimed(ctx, found, sid):
                return sid
        return None

    def id_from_session_tags(self, ctx: Context, found: Found) -> Optional[str]:
        path = os.path.join(self.codex_home(ctx, found), "session-tags.jsonl")
        raw = _files.read_file(path, log=ctx.log, label=f"codex pid {found.pid}")
        if raw is None:
            return None
        lines = raw.splitlines()
        import json

        pids = set(found.pids) or {found.pid}
        for line in reversed(lines):
            try:
                tag = json.loads(line)
            except ValueError:
                continue
            if not isinstance(tag, dict) or tag.get("pid") not in pids:
                continue
            stamp = tag.get("ts", tag.get("timestamp"))
            if isinstance(stamp, (int, float)) and stamp < found.start - _files.MTIME_SLACK:
                continue  # written by an earlier process that had the same PID
            sid = tag.get("session") or tag.get("session_id")
            if isinstance(sid, str):
                return sid
        return None

    def cli_args(self, args: list[str]) -> list[str]:
        """Options kept in order; the `resume` subcommand, its session ID or
        --last, and a first prompt are dropped."""
        toks, sub = self._split(args)
        kept: list[str] = []
        for i, tok in enumerate(toks):
            if sub is not None and i >= sub:
                if i == sub or tok.option is None or tok.option in ("--last", "--all"):
                    continue
            elif tok.option is None:
                continue  # first prompt
            kept.extend(tok.raw)
        return kept
