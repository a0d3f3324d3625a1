"""Factory Droid (`droid`, npm package @factory/cli): `bin/droid` is a node
launcher that runs the native binary of its platform package
(`@factory/cli-linux-x64/bin/droid`, a compiled Bun program) as a child and
waits for it (an install whose postinstall ran hard-links the binary in its
place; the standalone installer puts the binary itself on PATH). The TUI
starts its engine as a grandchild, `droid exec --input-format
stream-jsonrpc --output-format stream-jsonrpc`: a same-tool descendant, not
a session of its own.

Sessions (0.225.2): `$FACTORY_HOME_OVERRIDE` (else `~`) `/.factory/sessions/
-<realpath of the cwd without leading and trailing /, each run of / as ->/`
holds `<uuid>.jsonl` and `<uuid>.settings.json`. The JSON-lines file starts
with `{"type": "session_start", "id", "title", "owner", "version": 2,
"cwd", "hostId"}`, then `message` entries (`{"type": "message", "id",
"timestamp", "message": {"role", "content"}}`) and `agent_turn_outcome`.
Droid creates the session at start-up (after the folder trust prompt), and
again on `/new`, before any message ("Pre-created new session"); each
message rewrites the file and the settings (the folder's mtime moves too).
Resuming writes nothing until the next message. No per-process record: the
log (`~/.factory/logs/droid-log-single.log`) is one file for every process
and names no PID; no file is held open.

Session ID strategies, in evidence order:
0. `state-file`: `droid-<pid>.json` written by our SessionStart hook
   (hooks.py `droid-session-start`, merged into `~/.factory/settings.json` by
   the role; Droid 0.225.2 runs it from its engine with `session_id` and
   `source` startup/resume/clear, so it follows `/new` and `/resume`), keyed
   by the outermost Droid process and checked against its start time;
1. `switched`: the command line names a session, but a newer session file
   of the cwd was written since the process started, and no other live
   Droid works in that folder (`/new`, or `/resume` and a message: the
   pane has left the session its command line names);
2. `args`: `--resume/-r <uuid>` (`--resume=<uuid>`) or `resume <uuid>`;
   `--fork <uuid>` starts a new session (its ID is not the fork source);
3. `sessions`: the newest session file of the cwd's folder written since the
   process started whose header names the cwd, not claimed by another pane.
   Every Droid begins a session at start-up, so a session begun (its first
   message's `timestamp`; with no message, its mtime) after another live
   Droid of the cwd started, later than this one (or, for one begun before
   this one started, after any other started), is most likely that Droid's:
   taken only when no other is left (a Droid's auto-titling rewrites its
   file after the reply, so the folder's newest file may be the other
   pane's). Two Droids started within seconds in one folder, or `/new` in
   the older of two, cannot be told apart (never one ID for both).
A session whose file holds no `message` entry yet (a fresh start, `/new`)
is saved as a fresh start (`resumable`), though Droid would reopen it.

Resume (0.225.2 --help: `-r, --resume [sessionId]  Resume a session (shows a
session picker without an id)`): `droid --resume <uuid>`. Not sessions: the
subcommands (`exec`, `daemon`, `search`/`find`, `update`, `mcp`, `plugin`,
`computer`, `doctor`, `help`), `--version/-v`, `--help/-h`.

Code-loading options (0.225.2 --help; policy in base.py): `--settings` (a
settings file merged for this process: hooks, MCP servers, custom models).
Hooks (0.225.2, read from its code): `hooks` in `~/.factory/settings.json`
and `~/.factory/hooks.json` (the hooks object itself; legacy
`~/.factory/hooks/hooks.json`), merged per event with hooks.json winning;
Claude's shape (matcher groups of `{"type": "command", "command"}`).
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
    from typing import Optional

# `droid <command>` helpers and one-shot runs (0.225.2 --help).
SUBCOMMANDS = frozenset(
    {
        "exec",
        "daemon",
        "search",
        "find",
        "update",
        "mcp",
        "plugin",
        "computer",
        "doctor",
        "help",
    }
)
NOT_SESSION_OPTIONS = frozenset({"-v", "--version", "-h", "--help"})
# A message's timestamp (ms) against a process start time (1/100 s).
STAMP_SLACK = 0.02
SESSION_LIMIT = 1 << 20  # a session file larger than this holds a conversation
WATCHED = 16  # project folders the event saver polls
_SLASHES = re.compile(r"/+")


def project_dir_name(cwd: str) -> str:
    """Droid's folder name for a (resolved) cwd: `/tmp/a/b` -> `-tmp-a-b`."""
    return "-" + _SLASHES.sub("-", cwd.rstrip("/\\").lstrip("/"))


class Droid(Assistant):
    name = "droid"
    display_name = "Factory Droid"
    checked_version = "0.225.2"
    real_cli_test = True
    executables = ("droid",)
    script_markers = ("@factory/cli/bin/droid",)
    session_id_re = UUID
    not_session_options = NOT_SESSION_OPTIONS
    not_session_subcommands = SUBCOMMANDS
    value_options = frozenset(
        {
            "--settings",
            "--append-system-prompt",
            "--append-system-prompt-file",
            "--cwd",
            "-w",
            "--worktree",
            "--worktree-dir",
            "--auto",
        }
    )
    model_options = ()
    session_options = frozenset({"--resume", "-r", "--fork"})
    session_flags = frozenset({"--last"})
    keep_positionals = False  # a first prompt, or `resume <id>`
    resume_form = ("--resume",)
    code_options = ("--settings",)
    code_path_options = ("--settings",)
    agent_hooks = ("droid-session-start", "droid-session-end")
    evidence = frozenset({"state-file"})

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [
            ("state-file", self.id_from_state_file),
            ("switched", self.id_from_switch),
            ("args", self.id_from_args),
            ("sessions", self.id_from_sessions),
        ]

    def id_from_state_file(self, ctx: Context, found: Found) -> Optional[str]:
        """The session our SessionStart hook recorded for this process."""
        entry = self.state_entry(ctx, found)
        sid = entry.get("session_id") if entry else None
        return sid if self.valid_session_id(sid) else None

    # -- arguments -----------------------------------------------------------
    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        positionals: list[str] = []
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option in ("--resume", "-r") and tok.value and UUID.match(tok.value):
                return tok.value
            if tok.option is None:
                positionals.append(tok.raw[0])
        if len(positionals) >= 2 and positionals[0] == "resume" and UUID.match(positionals[1]):
            return positionals[1]
        return None

    # -- where -----------------------------------------------------------------
    def sessions_root(self, ctx: Context, found: Found) -> str:
        env = _files.proc_env(ctx, found)
        base = _files.env_path(env, "FACTORY_HOME_OVERRIDE") or ctx.home
        return os.path.join(base, ".factory", "sessions")

    def session_cwds(self, ctx: Context, found: Found) -> list[str]:
        """The folders the session may work in: `--cwd`'s, and the cwds of the
        process and its same-tool descendants (the native binary moves there)."""
        out: list[str] = []
        base = found.cwd
        if base:
            for tok in scan(found.launch.args, self.value_options | self.session_options):
                if tok.option == "--cwd" and tok.value:
                    out.append(os.path.normpath(os.path.join(base, os.path.expanduser(tok.value))))
            out.append(base)
        for pid in found.pids or [found.pid]:
            cwd = ctx.snap.cwd(pid)
            if cwd:
                out.append(cwd)
        return list(dict.fromkeys(out))

    def project_dirs(self, ctx: Context, found: Found) -> list[tuple[str, str]]:
        """(cwd, its session folder) for each folder the session may work in."""
        root = self.sessions_root(ctx, found)
        out: list[tuple[str, str]] = []
        for cwd in self.session_cwds(ctx, found):
            for name in dict.fromkeys([cwd, os.path.realpath(cwd)]):
                out.append((cwd, os.path.join(root, project_dir_name(name))))
        return list(dict.fromkeys(out))

    def written_since_start(self, ctx: Context, found: Found) -> list[tuple[float, str, str]]:
        """(mtime, session ID, file) of the cwd's sessions written since the
        process started whose header names that cwd, newest first."""
        out: list[tuple[float, str, str]] = []
        seen: set[str] = set()
        for cwd, folder in self.project_dirs(ctx, found):
            cwds = {cwd, os.path.realpath(cwd)}
            for mtime, path in _files.recent_files(folder, (".jsonl",), found.start):
                head = _files.first_json_line(path, log=ctx.log)
                if not head or head.get("type") != "session_start" or head.get("cwd") not in cwds:
                    continue
                sid = head.get("id")
                if not isinstance(sid, str) or sid in seen:
                    continue
                if os.path.basename(path) != f"{sid}.jsonl":
                    continue
                seen.add(sid)
                out.append((mtime, sid, path))
        out.sort(reverse=True)
        return out

    @staticmethod
    def created(ctx: Context, path: str, mtime: float) -> Optional[tuple[float, float]]:
        """When a session began, and how precise that is: the `timestamp` of
        its first message (ms; the header has none), or, with no message yet,
        the file's mtime (Droid writes a pre-created session once; a file
        system may round it). None when unknown."""
        import datetime

        lines = _files.head_json_lines(path, 2, log=ctx.log)
        if len(lines) < 2:
            return (mtime, _files.MTIME_SLACK) if len(lines) == 1 else None
        entry = lines[1]
        value = entry.get("timestamp") if isinstance(entry, dict) else None
        if not isinstance(value, str):
            return None
        try:
            stamp = datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
        return stamp, STAMP_SLACK

    def session_file(self, ctx: Context, found: Found, session_id: str) -> Optional[str]:
        for _, folder in self.project_dirs(ctx, found):
            path = os.path.join(folder, f"{session_id}.jsonl")
            if os.path.lexists(path):
                return path
        path = os.path.join(self.sessions_root(ctx, found), f"{session_id}.jsonl")
        return path if os.path.lexists(path) else None

    # -- store ---------------------------------------------------------------
    def id_from_sessions(self, ctx: Context, found: Found) -> Optional[str]:
        """The newest session of the cwd written since the start that is not
        most likely another live Droid's. Every Droid begins a session at
        start-up: one begun before this process started but after another
        live Droid of the cwd did, or begun after another that started later
        than this one did, is that Droid's; taken only when no other is left."""
        others: Optional[list[float]] = None
        theirs: list[str] = []
        for mtime, sid, path in self.written_since_start(ctx, found):
            if not _files.unclaimed(ctx, found, sid):
                continue
            when = self.created(ctx, path, mtime)
            if when is not None:
                began, slack = when
                if others is None:
                    others = self.other_starts(ctx, found)
                if began < found.start - slack:
                    other = any(start - slack <= began for start in others)
                else:
                    other = any(found.start < start <= began + slack for start in others)
                if other:
                    theirs.append(sid)
                    continue
            return sid
        return theirs[0] if theirs else None

    def id_from_switch(self, ctx: Context, found: Found) -> Optional[str]:
        """A newer session of the cwd than the one the command line names,
        written since the start, when no other live Droid works there."""
        named = self.id_from_args(ctx, found)
        if named is None:
            return None
        written = self.written_since_start(ctx, found)
        if not written or written[0][1] == named:
            return None
        newest = written[0][1]
        if not _files.unclaimed(ctx, found, newest):
            return None
        if self.other_starts(ctx, found):
            return None  # that session may be the other Droid's
        ctx.log(f"droid pid {found.pid}: {newest} was written after {named} (/new or /resume)")
        return newest

    def other_starts(self, ctx: Context, found: Found) -> list[float]:
        """Start times of the other live Droid sessions working in the cwds
        (the launcher's `comm` is `node`, the binary's `droid`)."""
        cwds = set(self.session_cwds(ctx, found))
        return _files.other_sessions(
            ctx, found, self, ("droid", "node"), lambda pid, _: ctx.snap.cwd(pid) in cwds
        )

    # -- conversation or not ---------------------------------------------------
    def resumable(self, ctx: Context, found: Found, session_id: str) -> Optional[bool]:
        """False when the session's file holds no `message` entry (created at
        start-up or on /new, no message since); None when it is not found."""
        import json

        path = self.session_file(ctx, found, session_id)
        if path is None:
            return None
        try:
            st = os.lstat(path)
        except OSError:
            return None
        if st.st_size > SESSION_LIMIT:
            return True
        raw = _files.read_file(path, limit=SESSION_LIMIT, log=ctx.log, label="droid", follow=False)
        if raw is None:
            return None
        head = None
        for line in raw.splitlines():
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):
                return None  # not Droid's format: cannot tell
            if not isinstance(entry, dict):
                return None
            if head is None:
                head = entry
                if entry.get("type") != "session_start":
                    return None
                continue
            if entry.get("type") == "message":
                return True
        return False if head is not None else None

    def watch_files(self, home: str) -> list[str]:
        """The newest WATCHED project folders: a session file appears there
        at start-up and on /new, and each message renames the session's
        settings in it (its mtime moves); no hook of ours tells."""
        base = os.environ.get("FACTORY_HOME_OVERRIDE") or home
        root = os.path.join(base, ".factory", "sessions")
        found: list[tuple[float, str]] = []
        try:
            entries = os.scandir(root)
        except OSError:
            return []
        with entries:
            for entry in entries:
                try:
                    if entry.name.startswith("-") and entry.is_dir(follow_symlinks=False):
                        found.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
                except OSError:
                    continue
        found.sort(reverse=True)
        return [path for _, path in found[:WATCHED]]
