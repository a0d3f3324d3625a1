"""GitHub Copilot CLI (`copilot`, npm package @github/copilot): a node script
(`npm-loader.js`) that runs the native binary of its platform package
(`@github/copilot-linux-x64/copilot`, thread name `MainThread`) as a child;
standalone installs run the native binary directly.

Sessions (1.0.102): one folder per session, `$COPILOT_HOME/session-state/<uuid>/`
(`COPILOT_HOME` defaults to `~/.copilot`), holding `workspace.yaml` (`id:`,
`cwd:`, `name:`, `created_at:`, `updated_at:`; written at once) and, from the
first message on, `events.jsonl` (first line `{"type": "session.start",
"data": {"sessionId", "startTime", "context": {"cwd"}}}`, then one event a
line; a resume appends `session.resume`). While a process holds a session
the folder has `inuse.<pid>.lock` (the pid of the native binary, as text):
created at start-up for a new session, on `/clear` and `/new` for the next
one (the old one's may stay), and for a resumed session with its first
message. `open-sessions-state.json` maps each open session to its `openedAt`.
Resume: `copilot --resume <uuid>` (also `--resume=<id>`, an ID prefix, a
name, or `--resume` alone for a picker; `--continue` for the most recent;
`--session-id <uuid>` resumes or names a new one). A session folder without
`events.jsonl` (no message yet) is not resumable ("No session, task, or name
matched"): saved as a fresh start (`resumable`).

Per process, the native binary writes `$COPILOT_HOME/logs/process-<start
ms>-<pid>.log` (or under `--log-dir`); at INFO level, the default, it logs
"Registering foreground session: <uuid>" at start-up (also when resuming,
before any message), on `/clear`, `/new`, `/resume` and switching tabs (one
process keeps several sessions open; the lock files stay on each).

Session ID strategies, in evidence order:
1. `process-log`: the last foreground session this process's log registered;
2. `inuse-lock`: the session folder holding `inuse.<pid>.lock` of this
   process (or its native child), written since it started, the newest
   (`--log-level none`, or a log that is gone);
3. `switched`: the command line names a session this process opened, and
   `open-sessions-state.json` shows another session of the cwd opened later
   (the `/resume` picker, before a message there moves the lock);
4. `args`: `--resume/-r <uuid>`, `--session-id <uuid>`, or an ID prefix
   (7+ hex characters) naming exactly one session folder;
5. `opened`: the newest session of the cwd that `open-sessions-state.json`
   says was opened since the process started (`--continue`, `--resume <name>`
   or the picker, before any message);
6. `session-state`: the newest session folder of the cwd (`workspace.yaml`
   `cwd`, after `-C`) whose `events.jsonl` or `workspace.yaml` was written
   since the process started (no open-sessions map).
Sessions another live Copilot holds (its `inuse.<pid>.lock`) are never taken
by 3, 5 and 6.

Code-loading options (1.0.102 --help; policy in base.py):
`--additional-mcp-config` (inline JSON or `@file`: MCP servers it starts),
`--plugin-dir` (a plugin folder), `--extension-sdk-path` (code injected into
extension subprocesses), `--add-dir` (loads the folder's `.github/skills` and
`.github/agents` as trusted configuration), `--enable-mcp-server` (starts a
server the settings disable), `--bash-env` (shells source `$BASH_ENV`).
"""

from __future__ import annotations

import os
import re

from assistant_resurrect.assistants import _files
from assistant_resurrect.assistants.base import UUID, Assistant, Context, Found, Strategy, scan

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

PREFIX = re.compile(r"[0-9a-fA-F]{7,35}\Z")
LOCK = re.compile(r"inuse\.([0-9]{1,10})\.lock\Z")
LOG_NAME = re.compile(r"process-([0-9]{10,16})-([0-9]{1,10})\.log\Z")
# "Registering foreground session: <id>" / "Unregistering ..." (1.0.102, INFO)
FOREGROUND = re.compile(rb"(Unregistering|Registering) foreground session: ([0-9a-fA-F-]{36})")
LOG_TAIL = 4 << 20
WATCHED_LOGS = 8  # process logs the event saver polls
WORKSPACE_LIMIT = 64 << 10
OPEN_LIMIT = 4 << 20
# A session opened this long after the named one was picked by the user.
SWITCH_MARGIN = 1.0

SUBCOMMANDS = frozenset(
    {
        "app",
        "login",
        "help",
        "init",
        "config",
        "update",
        "version",
        "workflow",
        "sessions",
        "memories",
        "plugin",
        "mcp",
        "skill",
        "instruction",
        "lsp",
        "sandbox",
        "completion",
    }
)
NOT_SESSION_OPTIONS = frozenset(
    {
        "-p",
        "--prompt",
        "--acp",
        "--connect",  # a remote session, not one of this machine
        "--environment-host",
        "-v",
        "--version",
        "-h",
        "--help",
    }
)
VALUE_OPTIONS = frozenset(
    {
        "-i",
        "--interactive",
        "-p",
        "--prompt",
        "--model",
        "--reasoning-effort",
        "--context",
        "--auto-tier",
        "--agent",
        "-n",
        "--name",
        "--session-id",
        "--connect",
        "-C",
        "--log-dir",
        "--extension-sdk-path",
        "--log-level",
        "--stream",
        "--output-format",
        "--share",
        "--add-dir",
        "--attachment",
        "--disable-mcp-server",
        "--add-github-mcp-toolset",
        "--add-github-mcp-tool",
        "--plugin-dir",
        "--additional-mcp-config",
        "--mcp-github-auth",
        "--allow-tool",
        "--deny-tool",
        "--available-tools",
        "--excluded-tools",
        "--secret-env-vars",
        "--allow-url",
        "--deny-url",
        "--max-autopilot-continues",
        "--mode",
        "--bash-env",
        "--mouse",
        "--environment-host",
        "--environment-compute-id",
        "--dynamic-retrieval",
        "--enable-mcp-server",
        "--max-ai-credits",
        "--usage-output-file",
    }
)


def yaml_scalar(raw: str) -> Optional[str]:
    """A one-line YAML scalar as Copilot's writer emits it: plain, 'single'
    (with '' for a quote) or "double" (JSON-like escapes)."""
    value = raw.strip()
    if value.startswith("'"):
        if len(value) < 2 or not value.endswith("'"):
            return None
        return value[1:-1].replace("''", "'")
    if value.startswith('"'):
        import json

        try:
            out = json.loads(value)
        except ValueError:
            return None
        return out if isinstance(out, str) else None
    return value


def read_workspace(path: str) -> dict[str, str]:
    """The top-level `key: value` lines of a `workspace.yaml` (regular file only)."""
    raw = _files.read_file(path, limit=WORKSPACE_LIMIT, follow=False)
    out: dict[str, str] = {}
    if raw is None:
        return out
    for line in raw.decode("utf-8", "replace").splitlines():
        if not line or line[0] in " \t#-":
            continue
        key, sep, rest = line.partition(":")
        if not sep or key in out:
            continue
        value = yaml_scalar(rest)
        if value is not None:
            out[key] = value
    return out


def iso_epoch(value: object) -> Optional[float]:
    if not isinstance(value, str):
        return None
    import datetime

    try:
        stamp = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp()


class Copilot(Assistant):
    name = "copilot"
    display_name = "GitHub Copilot CLI"
    checked_version = "1.0.102"
    real_cli_test = True  # tests/realcli/test_copilot.py
    executables = ("copilot",)
    script_markers = ("@github/copilot/",)
    session_id_re = UUID
    model_options = ("--model",)
    value_options = VALUE_OPTIONS
    session_options = frozenset({"--resume", "-r", "--session-id", "-i", "--interactive"})
    session_flags = frozenset({"--continue", "-n", "--name"})
    # Copilot takes no prompt as a positional: plain words are subcommands or
    # the further values of a variadic option (`--allow-tool write shell`).
    keep_positionals = True
    not_session_options = NOT_SESSION_OPTIONS
    not_session_subcommands = SUBCOMMANDS
    evidence = frozenset({"process-log", "inuse-lock"})
    code_options = (
        "--additional-mcp-config",
        "--plugin-dir",
        "--extension-sdk-path",
        "--add-dir",
        "--enable-mcp-server",
        "--bash-env",
    )
    code_path_options = (
        "--additional-mcp-config",
        "--plugin-dir",
        "--extension-sdk-path",
        "--add-dir",
    )

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [
            ("process-log", self.id_from_process_log),
            ("inuse-lock", self.id_from_lock),
            ("switched", self.id_from_switch),
            ("args", self.id_from_args),
            ("opened", self.id_from_opened),
            ("session-state", self.id_from_session_state),
        ]

    def code_paths(self, args: list[str]) -> list[tuple[str, str]]:
        """Files and folders the code-loading options name: an
        `--additional-mcp-config` value is a file only as `@path`."""
        out: list[tuple[str, str]] = []
        for _, _, name, values in self.code_groups(args):
            if name not in self.code_path_options:
                continue
            for value in values:
                if name == "--additional-mcp-config":
                    if not value.startswith("@") or len(value) < 2:
                        continue  # inline JSON
                    value = value[1:]
                if value:
                    out.append((name, value))
        return out

    def watch_files(self, home: str) -> list[str]:
        """Copilot runs no hook of ours: the open-sessions map changes when a
        session opens, the session index's WAL with each turn, a process's log
        when its foreground session changes (the newest WATCHED_LOGS logs)."""
        base = os.path.join(home, ".copilot")
        out = [
            os.path.join(base, "open-sessions-state.json"),
            os.path.join(base, "session-store.db-wal"),
        ]
        logs = os.path.join(base, "logs")
        found: list[tuple[float, str]] = []
        try:
            names = os.listdir(logs)
        except OSError:
            names = []
        for name in names:
            if LOG_NAME.match(name):
                path = os.path.join(logs, name)
                try:
                    found.append((os.stat(path).st_mtime, path))
                except OSError:
                    continue
        found.sort(reverse=True)
        return out + [path for _, path in found[:WATCHED_LOGS]]

    # -- where -------------------------------------------------------------
    def copilot_dir(self, ctx: Context, found: Found) -> str:
        env = _files.proc_env(ctx, found)
        return _files.env_path(env, "COPILOT_HOME") or os.path.join(ctx.home, ".copilot")

    def session_cwd(self, found: Found) -> Optional[str]:
        """The folder Copilot works in: the process's, or `-C`'s (the launcher
        stays where it was started, the native binary changes to it)."""
        if not found.cwd:
            return None
        cwd = found.cwd
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option == "-C" and tok.value:
                cwd = os.path.normpath(os.path.join(cwd, os.path.expanduser(tok.value)))
        return cwd

    @staticmethod
    def session_dirs(state: str) -> list[tuple[str, str, float]]:
        """(session ID, folder, folder mtime) of each session folder."""
        out: list[tuple[str, str, float]] = []
        try:
            entries = os.scandir(state)
        except OSError:
            return out
        with entries:
            for entry in entries:
                if not UUID.match(entry.name):
                    continue
                try:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                except OSError:
                    continue
                out.append((entry.name, entry.path, mtime))
        return out

    # -- process-log ---------------------------------------------------------
    def log_dirs(self, ctx: Context, found: Found) -> list[str]:
        """Where this process writes `process-<ms>-<pid>.log`: `--log-dir`, else
        `$COPILOT_HOME/logs` (`~/.copilot/logs`)."""
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option == "--log-dir" and tok.value:
                value = os.path.expanduser(tok.value)
                if os.path.isabs(value):
                    return [value]
                return [
                    os.path.join(base, value)
                    for base in dict.fromkeys([self.session_cwd(found), found.cwd])
                    if base
                ]
        return [os.path.join(self.copilot_dir(ctx, found), "logs")]

    def id_from_process_log(self, ctx: Context, found: Found) -> Optional[str]:
        """The last foreground session this process's own log registered (at
        start-up, on /clear, /new, /resume and switching tabs), unless it was
        unregistered after."""
        pids = {str(pid) for pid in (found.pids or [found.pid])}
        logs: list[tuple[int, str]] = []
        for folder in self.log_dirs(ctx, found):
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                m = LOG_NAME.match(name)
                if m is None or m.group(2) not in pids:
                    continue
                ms = int(m.group(1))
                if ms / 1000.0 < found.start - _files.MTIME_SLACK:
                    continue  # an earlier process's log (a reused pid)
                logs.append((ms, os.path.join(folder, name)))
        logs.sort(reverse=True)
        for _, path in logs:
            tail = self.read_tail(ctx, path)
            if tail is None:
                continue
            found_lines = FOREGROUND.findall(tail)
            if not found_lines:
                continue
            verb, sid = found_lines[-1]
            if verb == b"Unregistering":
                return None  # between two sessions, or exiting
            return sid.decode("ascii").lower()
        return None

    @staticmethod
    def read_tail(ctx: Context, path: str) -> Optional[bytes]:
        from assistant_resurrect.fileio import open_regular

        try:
            fd, st = open_regular(path, False)
        except OSError as exc:  # NotRegularFile too: never a FIFO or a symlink
            ctx.log(f"copilot: {path}: {exc}; skipped")
            return None
        try:
            os.lseek(fd, max(0, st.st_size - LOG_TAIL), os.SEEK_SET)
            return os.read(fd, LOG_TAIL)
        except OSError:
            return None
        finally:
            os.close(fd)

    # -- inuse-lock ----------------------------------------------------------
    def id_from_lock(self, ctx: Context, found: Found) -> Optional[str]:
        state = os.path.join(self.copilot_dir(ctx, found), "session-state")
        since = found.start - _files.MTIME_SLACK
        pids = found.pids or [found.pid]
        best: Optional[tuple[float, str]] = None
        for sid, folder, mtime in self.session_dirs(state):
            if mtime < since:
                continue  # creating the lock file updated the folder
            for pid in pids:
                lock = os.path.join(folder, f"inuse.{pid}.lock")
                try:
                    st = os.lstat(lock)
                except OSError:
                    continue
                if st.st_mtime < since:
                    ctx.log(f"copilot pid {pid}: {lock} is from an earlier process; ignored")
                    continue
                raw = _files.read_file(lock, limit=64, log=ctx.log, follow=False)
                if raw is None or raw.strip() != str(pid).encode():
                    continue
                if best is None or st.st_mtime > best[0]:
                    best = (st.st_mtime, sid)
        return best[1] if best else None

    # -- args ----------------------------------------------------------------
    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option not in ("--resume", "-r", "--session-id") or not tok.value:
                continue
            if UUID.match(tok.value):
                return tok.value
            if PREFIX.match(tok.value):
                state = os.path.join(self.copilot_dir(ctx, found), "session-state")
                prefix = tok.value.lower()
                hits = [s for s, _, _ in self.session_dirs(state) if s.lower().startswith(prefix)]
                if len(hits) == 1:
                    return hits[0]
        return None  # a name, or the picker: the store strategies resolve it

    # -- store ---------------------------------------------------------------
    def held_by_others(self, ctx: Context, found: Found, folder: str) -> bool:
        """Whether another live process holds the session (its inuse lock)."""
        try:
            names = os.listdir(folder)
        except OSError:
            return False
        mine = set(found.pids or [found.pid])
        for name in names:
            m = LOCK.match(name)
            if m is None:
                continue
            pid = int(m.group(1))
            proc = ctx.snap.procs.get(pid)
            if pid in mine or proc is None:
                continue
            try:
                written = os.lstat(os.path.join(folder, name)).st_mtime
            except OSError:
                continue
            if written >= proc.start - _files.MTIME_SLACK:
                return True  # not a lock left by an earlier process of a reused pid
        return False

    def candidate(self, ctx: Context, found: Found, cwd: str, sid: str, folder: str) -> bool:
        if not _files.unclaimed(ctx, found, sid):
            return False
        meta = read_workspace(os.path.join(folder, "workspace.yaml"))
        if meta.get("id", sid) != sid or meta.get("cwd") != cwd:
            return False
        return not self.held_by_others(ctx, found, folder)

    def id_from_session_state(self, ctx: Context, found: Found) -> Optional[str]:
        cwd = self.session_cwd(found)
        if not cwd:
            return None
        state = os.path.join(self.copilot_dir(ctx, found), "session-state")
        since = found.start - _files.MTIME_SLACK
        written: list[tuple[float, str, str]] = []
        for sid, folder, _ in self.session_dirs(state):
            newest = None
            for name in ("events.jsonl", "workspace.yaml"):
                try:
                    st = os.lstat(os.path.join(folder, name))
                except OSError:
                    continue
                if newest is None or st.st_mtime > newest:
                    newest = st.st_mtime
            if newest is not None and newest >= since:
                written.append((newest, sid, folder))
        written.sort(reverse=True)
        for _, sid, folder in written:
            if self.candidate(ctx, found, cwd, sid, folder):
                return sid
        return None

    def open_sessions(self, ctx: Context, found: Found) -> list[tuple[float, str]]:
        """(openedAt, session ID) of `open-sessions-state.json`, newest first."""
        import json

        path = os.path.join(self.copilot_dir(ctx, found), "open-sessions-state.json")
        raw = _files.read_file(path, limit=OPEN_LIMIT, log=ctx.log, label="copilot")
        if raw is None:
            return []
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            ctx.log(f"copilot: {path} is not JSON; skipped")
            return []
        out: list[tuple[float, str]] = []
        if not isinstance(data, dict):
            return out
        for sid, entry in data.items():
            if not (isinstance(sid, str) and UUID.match(sid) and isinstance(entry, dict)):
                continue
            at = iso_epoch(entry.get("openedAt"))
            if at is not None:
                out.append((at, sid))
        out.sort(reverse=True)
        return out

    def opened_after(
        self, ctx: Context, found: Found, after: float, skip: str = ""
    ) -> Optional[str]:
        """The newest session of the cwd opened after `after` that no other
        pane or live Copilot holds."""
        cwd = self.session_cwd(found)
        if not cwd:
            return None
        state = os.path.join(self.copilot_dir(ctx, found), "session-state")
        for at, sid in self.open_sessions(ctx, found):
            if at < after:
                break
            if sid != skip and self.candidate(ctx, found, cwd, sid, os.path.join(state, sid)):
                return sid
        return None

    def id_from_opened(self, ctx: Context, found: Found) -> Optional[str]:
        return self.opened_after(ctx, found, found.start - _files.MTIME_SLACK)

    def id_from_switch(self, ctx: Context, found: Found) -> Optional[str]:
        """A session of the cwd opened (the `/resume` picker) after the one the
        command line names, before any message in it (which would move the lock)."""
        named = self.id_from_args(ctx, found)
        if named is None:
            return None
        entries = self.open_sessions(ctx, found)
        at = next((t for t, sid in entries if sid == named), None)
        if at is None or at < found.start - _files.MTIME_SLACK:
            return None  # not opened by this process: nothing to compare with
        other = self.opened_after(ctx, found, at + SWITCH_MARGIN, skip=named)
        if other is not None:
            ctx.log(f"copilot pid {found.pid}: {other} was opened after {named} (session picker)")
        return other

    # -- conversation or not ---------------------------------------------------
    def resumable(self, ctx: Context, found: Found, session_id: str) -> Optional[bool]:
        """False when the session's folder has no (or an empty) `events.jsonl`:
        Copilot resumes no such session; None when the folder is not found."""
        folder = os.path.join(self.copilot_dir(ctx, found), "session-state", session_id)
        if not os.path.isdir(folder) or os.path.islink(folder):
            return None
        events = os.path.join(folder, "events.jsonl")
        try:
            st = os.lstat(events)
        except FileNotFoundError:
            return False
        except OSError:
            return None
        if st.st_size == 0 and os.path.isfile(events):
            return False
        head = _files.first_json_line(events, log=ctx.log)
        if head is not None and head.get("type") == "session.start":
            return True
        return None
