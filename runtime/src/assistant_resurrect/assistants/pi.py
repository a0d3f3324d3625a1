"""Pi coding agent (`pi`, npm package @mariozechner/pi-coding-agent): a node
script (`dist/cli.js`) that sets `process.title = "pi"` as its first act.
On Linux that rewrites the argument area, so `/proc/<pid>/cmdline` of a
running Pi reads `pi` followed by NULs: its launch arguments (model,
`--session`, flags) are gone; its `comm` is `pi` too. Detection matches the
program name `pi` and, for the first instant or a system that keeps the
arguments, the package path. The fork Oh My Pi (`omp`, @oh-my-pi/...) is
another program name and package path: not matched.

Sessions (0.73.1): `<session dir>/<ISO time with - for : and .>_<uuid>.jsonl`,
JSON lines; the first is the header `{"type": "session", "version": 3, "id":
<uuidv7>, "timestamp", "cwd"}`, then `model_change`, `message`, ... entries.
The session dir is, in Pi's order: `--session-dir`, `$PI_CODING_AGENT_SESSION_DIR`,
`sessionDir` of the settings (`<cwd>/.pi/settings.json` over
`<agent dir>/settings.json`; a flat folder for every cwd), else
`<agent dir>/sessions/--<cwd without its leading /, / \\ : as ->--/`;
the agent dir is `$PI_CODING_AGENT_DIR` or `~/.pi/agent`. Pi writes the file
only once a session has a model reply (header and all entries at once), and
appends to it after; opening a session (`--session`, `-c`, `/resume`)
writes nothing until the next message. So a session without a conversation
has no file: no strategy names it (nothing to resume: a fresh start).
Pi writes no per-process record.

Session ID strategies, in evidence order:
1. `args`: `--session <uuid>`, a unique prefix of one (Pi's partial UUID),
   or `--session <file>` (the file's header); `--no-session` shows a session
   with no file at all: saved as a fresh start. Only when the command line is
   still readable (see above);
2. `sessions`: the newest session file of the cwd's session dir written
   since the process started whose header names the cwd, not claimed by
   another pane (also one it resumed: `-c`, `/resume`, `--session`, and a
   message since). One whose header `timestamp` (its creation) is before this
   process started is taken only when no other live Pi works in the cwd: the
   other may have created it (Pi creates a session ~2 s after its start, and
   on /new) or reopened it (two Pis restore started at once on their old
   sessions: the real CLI showed the later-started taking the other's file);
   then the ID restore typed into the pane answers (save.py). Two Pis started
   within those seconds in one folder cannot be told apart (they may swap;
   never one ID).
Resume (0.73.1 --help: `--session <path|id>  Use specific session file or
partial UUID`): `pi --session <uuid>` (a full UUID matches one session).

Code-loading options (0.73.1 --help; policy in base.py): `--extension/-e`
(a TypeScript/JavaScript extension file it runs) and `--skill` (a skill file
or folder, whose scripts the model is told to run).
"""

from __future__ import annotations

import os
import re

from assistant_resurrect.assistants import _files
from assistant_resurrect.assistants.base import (
    NO_CONVERSATION,
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

# `pi <command>` helpers (0.73.1 --help): they manage extensions, no session.
SUBCOMMANDS = frozenset({"install", "remove", "uninstall", "update", "list", "config"})
# One-shot runs and helpers (0.73.1 --help).
NOT_SESSION_OPTIONS = frozenset(
    {"-p", "--print", "--export", "--list-models", "-h", "--help", "-v", "--version"}
)
# `--mode json|rpc` runs are driven over stdin/stdout by another program.
NOT_SESSION_MODES = frozenset({"json", "rpc"})
_PREFIX = re.compile(r"[0-9a-fA-F][0-9a-fA-F-]{0,35}\Z")
SETTINGS_LIMIT = 1 << 20
WATCHED = 16  # session folders the event saver polls


def _session_dir_name(cwd: str) -> str:
    """Pi's folder name for a cwd (0.73.1 getDefaultSessionDir)."""
    stripped = cwd[1:] if cwd[:1] in ("/", "\\") else cwd
    return "--" + re.sub(r"[/\\:]", "-", stripped) + "--"


def _created(head: dict) -> Optional[float]:
    """When a session was created: its header's `timestamp`, as epoch seconds."""
    import datetime

    value = head.get("timestamp")
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _expand(path: str, home: str) -> str:
    """Pi's tilde expansion (`~` and `~/...` only)."""
    if path == "~":
        return home
    if path.startswith("~/"):
        return os.path.join(home, path[2:])
    return path


class Pi(Assistant):
    name = "pi"
    display_name = "Pi coding agent"
    checked_version = "0.73.1"
    real_cli_test = True  # tests/realcli/test_pi.py
    executables = ("pi",)
    script_markers = ("@mariozechner/pi-coding-agent/",)
    session_id_re = UUID
    credential_options = frozenset({"--api-key"})  # not saved
    not_session_options = NOT_SESSION_OPTIONS
    not_session_subcommands = SUBCOMMANDS
    value_options = frozenset(
        {
            "--provider",
            "--model",
            "--api-key",
            "--system-prompt",
            "--append-system-prompt",
            "--mode",
            "--session-dir",
            "--models",
            "--tools",
            "-t",
            "--thinking",
            "--extension",
            "-e",
            "--skill",
            "--prompt-template",
            "--theme",
            "--export",
        }
    )
    model_options = ("--model",)
    session_options = frozenset({"--session", "--fork"})
    session_flags = frozenset({"--continue", "-c", "--resume", "-r"})
    keep_positionals = False  # messages and @files: a first prompt
    resume_form = ("--session",)
    code_options = ("--extension", "-e", "--skill")
    code_path_options = ("--extension", "-e", "--skill")

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [("args", self.id_from_args), ("sessions", self.id_from_sessions)]

    # -- arguments ---------------------------------------------------------------
    def is_session(self, args: list[str]) -> bool:
        for tok in scan(args, self.value_options | self.session_options):
            if tok.option == "--mode" and tok.value in NOT_SESSION_MODES:
                return False
        return super().is_session(args)

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        args = found.launch.args
        value: Optional[str] = None
        for tok in scan(args, self.value_options | self.session_options):
            if tok.option == "--no-session":
                return NO_CONVERSATION  # ephemeral: Pi writes no file
            if tok.option == "--session" and tok.value:
                value = tok.value
        if value is None:
            return None
        if "/" in value or "\\" in value or value.endswith(".jsonl"):
            path = value if os.path.isabs(value) else os.path.join(found.cwd or "/", value)
            head = _files.first_json_line(path, log=ctx.log)
            sid = head.get("id") if head and head.get("type") == "session" else None
            return sid if isinstance(sid, str) else None
        if UUID.match(value):
            return value
        if _PREFIX.match(value) and found.cwd:
            return self._by_prefix(ctx, found, value.lower())
        return None

    def _by_prefix(self, ctx: Context, found: Found, prefix: str) -> Optional[str]:
        """The one session of the cwd's session dir whose ID starts with `prefix`."""
        hits: set[str] = set()
        for _, path in _files.recent_files(self.session_dir(ctx, found), (".jsonl",), 0.0):
            sid = os.path.basename(path)[: -len(".jsonl")].rpartition("_")[2]
            if sid.lower().startswith(prefix) and UUID.match(sid):
                hits.add(sid)
        return hits.pop() if len(hits) == 1 else None

    # -- store ---------------------------------------------------------------------
    def agent_dir(self, ctx: Context, found: Found) -> str:
        env = _files.proc_env(ctx, found)
        value = env.get("PI_CODING_AGENT_DIR") if env else os.environ.get("PI_CODING_AGENT_DIR")
        if value:
            value = _expand(value, ctx.home)
            if os.path.isabs(value):
                return value
        return os.path.join(ctx.home, ".pi", "agent")

    def session_dir(self, ctx: Context, found: Found) -> str:
        """Where this Pi keeps its sessions (Pi's own precedence)."""
        cwd = found.cwd or "/"
        for tok in scan(found.launch.args, self.value_options):
            if tok.option == "--session-dir" and tok.value:
                return os.path.join(cwd, _expand(tok.value, ctx.home))
        env = _files.proc_env(ctx, found)
        name = "PI_CODING_AGENT_SESSION_DIR"
        value = env.get(name) if env else os.environ.get(name)
        if value:
            return os.path.join(cwd, _expand(value, ctx.home))
        agent = self.agent_dir(ctx, found)
        configured = self._settings_dir(ctx, os.path.join(cwd, ".pi", "settings.json"))
        if configured is None:
            configured = self._settings_dir(ctx, os.path.join(agent, "settings.json"))
        if configured:
            return os.path.join(cwd, _expand(configured, ctx.home))
        return os.path.join(agent, "sessions", _session_dir_name(cwd))

    @staticmethod
    def _settings_dir(ctx: Context, path: str) -> Optional[str]:
        """`sessionDir` of a settings file, if it sets one."""
        import json

        raw = _files.read_file(path, limit=SETTINGS_LIMIT, log=ctx.log)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        value = data.get("sessionDir") if isinstance(data, dict) else None
        return value if isinstance(value, str) and value else None

    def id_from_sessions(self, ctx: Context, found: Found) -> Optional[str]:
        """The newest session of the cwd written since the start. One created
        before this process started is taken only when no other live Pi works
        in the cwd: that Pi may have created it (started before it), or
        reopened it (`--session` typed by a restore, `-c`, `/resume`), and a
        session file does not say which process writes it. Two Pis that
        restore started at once on their old sessions both leave them here
        (the ID restore typed into each pane answers)."""
        if not found.cwd:
            return None
        directory = self.session_dir(ctx, found)
        others: Optional[list[float]] = None
        for _, path in _files.recent_files(directory, (".jsonl",), found.start):
            head = _files.first_json_line(path, log=ctx.log)
            if not head or head.get("type") != "session" or head.get("cwd") != found.cwd:
                continue
            sid = head.get("id")
            if not isinstance(sid, str) or not _files.unclaimed(ctx, found, sid):
                continue
            created = _created(head)
            if created is not None and created < found.start - _files.MTIME_SLACK:
                if others is None:
                    others = self.other_starts(ctx, found)
                if others:
                    continue
            return sid
        return None

    def other_starts(self, ctx: Context, found: Found) -> list[float]:
        """Start times of the other live Pi processes working in `found.cwd`
        (a running Pi's `comm` is its title `pi`; `node` before it sets it)."""
        return _files.other_sessions(
            ctx, found, self, ("pi", "node"), lambda pid, _: ctx.snap.cwd(pid) == found.cwd
        )

    def watch_files(self, home: str) -> list[str]:
        """The newest WATCHED per-cwd session folders: a session's file appears
        there with its first model reply (a fresh start becomes resumable), and
        no hook of ours tells."""
        agent = os.environ.get("PI_CODING_AGENT_DIR")
        agent = _expand(agent, home) if agent else os.path.join(home, ".pi", "agent")
        root = os.path.join(agent, "sessions")
        found: list[tuple[float, str]] = []
        try:
            entries = os.scandir(root)
        except OSError:
            return []
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        found.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
                except OSError:
                    continue
        found.sort(reverse=True)
        return [path for _, path in found[:WATCHED]]
