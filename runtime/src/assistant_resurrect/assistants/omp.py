"""Oh My Pi (`omp`, npm package @oh-my-pi/pi-coding-agent), a fork of the Pi
coding agent that runs on Bun, not Node: `dist/cli.js` starts with
`#!/usr/bin/env bun` (package engines: bun >= 1.3.14), so a running omp is
one `bun` process (plus its threads) whose `/proc/<pid>/cmdline` reads
`bun <path>/omp <arguments>`: Bun's `process.title` setter does not touch
the argument area, so the launch arguments stay readable. omp sets its
`comm` to `omp` (prctl). Detection matches the program name `omp` and the
package path; Pi (`pi`, @mariozechner/...) is another program: not matched.

Sessions (18.2.3): `<session dir>/<ISO time with - for : and .>_<uuidv7>.jsonl`,
JSON lines; the first is a `{"type": "title", ...}` record, the second the
header `{"type": "session", "version": 3, "id", "timestamp", "cwd"}`.
The session dir is `--session-dir`, else `$PI_CODING_AGENT_SESSION_DIR`, else
`<sessions root>/<cwd name>`: `-<path below HOME>` (`-` for HOME itself),
`-tmp-<path below the temp dir>`, else `--<path, / \\ : as ->--`; the root is
`$XDG_DATA_HOME/omp/sessions` once that folder exists, else `<agent
dir>/sessions`, the agent dir being `~/.omp/profiles/<profile>/agent` for a
profile (`--profile`, `$OMP_PROFILE`, `$PI_PROFILE`), else
`$PI_CODING_AGENT_DIR`, else `~/.omp/agent` (`.omp` is `$PI_CONFIG_DIR` if set).
A new session's file appears with its first model reply; `/new` writes one
at once (header only: it resumes, empty).

Per-terminal record: omp writes `<agent dir>/terminal-sessions/<tty>` (`pts-3`
for /dev/pts/3; `$XDG_STATE_HOME/omp/...` once that exists) whenever its
session is created or switched (start, `/new`, `/resume`, a fork): the cwd,
the session file, then `fresh` while that file is not written yet.

Session ID strategies, in evidence order:
1. `terminal`: the record of the process's terminal (its stdin), written
   since the process started; a `fresh` one whose file does not exist is a
   session without a conversation (a fresh start);
2. `args`: `--resume/-r/--session <id>` (a full UUID, a unique prefix of one
   in the cwd's folder, or a session file); `--no-session`: a fresh start;
3. `sessions`: the newest session file of the cwd's folder written since the
   start whose header names the cwd, not claimed by another pane.
Resume (18.2.3 --help: `-r, --resume=<value>  Resume a session (by ID prefix,
path, or picker if omitted)`; omp's own /restart relaunches the same way):
`omp <arguments> --resume <uuid>`.

Code-loading options (18.2.3 --help; policy in base.py): `--extension/-e`,
`--hook`, `--trusted-extension`, `--plugin-dir` (code files or folders),
`--config` (a config.yml overlay) and `--profile` (another profile's
settings, extensions and plugins).
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
    from typing import Any, Optional

# `omp <command>` helpers and other programs (18.2.3 --help COMMANDS): no session of their own.
SUBCOMMANDS = frozenset(
    {
        "acp",
        "agents",
        "auth-broker",
        "auth-gateway",
        "bench",
        "browser-relay",
        "cleanse",
        "collab",
        "commit",
        "completions",
        "compress",
        "config",
        "dry-balance",
        "gallery",
        "gc",
        "git",
        "grep",
        "grievances",
        "if-bench",
        "images",
        "install",
        "join",
        "models",
        "plugin",
        "ps",
        "read",
        "render",
        "say",
        "search",
        "setup",
        "share",
        "shell",
        "ssh",
        "stats",
        "tiny-models",
        "token",
        "ttsr",
        "update",
        "usage",
        "worktree",
    }
)
# One-shot runs and helpers (18.2.3 --help).
NOT_SESSION_OPTIONS = frozenset(
    {"-p", "--print", "--export", "--alias", "-h", "--help", "-v", "--version"}
)
# `--mode json|rpc|rpc-ui`: driven over stdin/stdout by another program.
NOT_SESSION_MODES = frozenset({"json", "rpc", "rpc-ui"})
# omp re-runs itself as a worker subprocess with a hidden first argument.
WORKER_PREFIX = "__omp_worker_"
_PREFIX = re.compile(r"[0-9a-fA-F][0-9a-fA-F-]{0,35}\Z")
_PROFILE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}\Z")
HEAD_LINES = 4  # the header is the second line (after the title record)
HEAD_LIMIT = 1 << 20
RECORD_LIMIT = 64 << 10
WATCHED = 8  # terminal records and session folders the event saver polls (each)
# omp 18.2.3 writes these with every prompt (history) and model reply (agent: model_perf).
DATABASE_WALS = ("history.db-wal", "agent.db-wal")


def session_dir_name(cwd: str, home: str, tmp: str = "/tmp") -> str:
    """omp's folder name for a cwd (18.2.3 getDefaultSessionDirName)."""
    cwd = os.path.realpath(cwd)
    for root, prefix in ((os.path.realpath(home), "-"), (os.path.realpath(tmp), "-tmp")):
        rel = os.path.relpath(cwd, root)
        if rel == ".":
            return prefix
        if rel != ".." and not rel.startswith("../"):
            encoded = re.sub(r"[/\\:]", "-", rel)
            return prefix + encoded if prefix.endswith("-") else f"{prefix}-{encoded}"
    stripped = cwd[1:] if cwd[:1] in ("/", "\\") else cwd
    return "--" + re.sub(r"[/\\:]", "-", stripped) + "--"


def session_head(path: str, log: Any = None) -> Optional[dict]:
    """The `{"type": "session"}` header among a session file's first lines
    (None when the path is not a regular file or holds no header)."""
    for data in _files.head_json_lines(path, HEAD_LINES, HEAD_LIMIT, log):
        if isinstance(data, dict) and data.get("type") == "session":
            return data
    return None


def _sid_of_name(path: str) -> Optional[str]:
    """The session ID a session file's name ends with."""
    name = os.path.basename(path)
    if not name.endswith(".jsonl"):
        return None
    sid = name[: -len(".jsonl")].rpartition("_")[2]
    return sid if UUID.match(sid) else None


def _expand(path: str, home: str) -> str:
    if path == "~":
        return home
    if path.startswith("~/"):
        return os.path.join(home, path[2:])
    return path


class OhMyPi(Assistant):
    name = "omp"
    display_name = "Oh My Pi"
    checked_version = "18.2.3"
    real_cli_test = True  # tests/realcli/test_omp.py (omp 18.2.3 on Bun 1.4.5)
    executables = ("omp",)
    script_markers = ("@oh-my-pi/pi-coding-agent/",)
    session_id_re = UUID
    credential_options = frozenset({"--api-key"})  # not saved
    not_session_options = NOT_SESSION_OPTIONS
    not_session_subcommands = SUBCOMMANDS
    # 18.2.3 STRING_VALUE_FLAGS, and --profile / --alias.
    value_options = frozenset(
        {
            "--cwd",
            "--config",
            "--add-dir",
            "--mode",
            "--provider",
            "--model",
            "--smol",
            "--slow",
            "--plan",
            "--prewalk-into",
            "--plan-yolo-into",
            "--max-time",
            "--service-tier",
            "--api-key",
            "--system-prompt",
            "--append-system-prompt",
            "--provider-session-id",
            "--prompt-cache-key",
            "--session-dir",
            "--models",
            "--tools",
            "--thinking",
            "--export",
            "--hook",
            "--extension",
            "-e",
            "--trusted-extension",
            "--plugin-dir",
            "--skills",
            "--approval-mode",
            "--profile",
            "--alias",
        }
    )
    model_options = ("--model",)
    # `--resume`, `-r` and the hidden alias `--session` take an optional value.
    session_options = frozenset({"--resume", "-r", "--session", "--fork"})
    session_flags = frozenset({"--continue", "-c", "--from-claude", "--from-codex"})
    keep_positionals = False  # messages and @files: a first prompt
    resume_form = ("--resume",)
    evidence = frozenset({"terminal"})
    code_options = (
        "--extension",
        "-e",
        "--hook",
        "--trusted-extension",
        "--plugin-dir",
        "--config",
        "--profile",
    )
    code_path_options = (
        "--extension",
        "-e",
        "--hook",
        "--trusted-extension",
        "--plugin-dir",
        "--config",
    )

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [
            ("terminal", self.id_from_terminal),
            ("args", self.id_from_args),
            ("sessions", self.id_from_sessions),
        ]

    # -- arguments ---------------------------------------------------------------
    def is_session(self, args: list[str]) -> bool:
        for tok in scan(args, self.value_options | self.session_options):
            if tok.option == "--mode" and tok.value in NOT_SESSION_MODES:
                return False
            if tok.option is None and tok.raw[0].startswith(WORKER_PREFIX):
                return False
        return super().is_session(args)

    def _session_arg(self, args: list[str]) -> Optional[str]:
        value: Optional[str] = None
        for tok in scan(args, self.value_options | self.session_options):
            if tok.option == "--no-session":
                return "\0"
            if tok.option in ("--resume", "-r", "--session") and tok.value:
                value = tok.value
        return value

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        value = self._session_arg(found.launch.args)
        if value == "\0":
            return NO_CONVERSATION  # ephemeral: omp writes no file
        if value is None:
            return None
        if "/" in value or "\\" in value or value.endswith(".jsonl"):
            path = value if os.path.isabs(value) else os.path.join(found.cwd or "/", value)
            head = session_head(path, ctx.log)
            sid = head.get("id") if head else None
            return sid if isinstance(sid, str) else None
        if UUID.match(value):
            return value
        if _PREFIX.match(value) and found.cwd:
            hits: set[str] = set()
            for _, path in _files.recent_files(self.session_dir(ctx, found), (".jsonl",), 0.0):
                sid = _sid_of_name(path)
                if sid and sid.lower().startswith(value.lower()):
                    hits.add(sid)
            return hits.pop() if len(hits) == 1 else None
        return None

    # -- where omp keeps things ------------------------------------------------------
    def _env(self, ctx: Context, found: Found, name: str) -> Optional[str]:
        env = _files.proc_env(ctx, found)
        return env.get(name) if env else os.environ.get(name)

    def _profile(self, ctx: Context, found: Found) -> Optional[str]:
        value: Optional[str] = None
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option == "--profile" and tok.value is not None:
                value = tok.value
        if value is None:
            value = self._env(ctx, found, "OMP_PROFILE")
        if value is None:
            value = self._env(ctx, found, "PI_PROFILE")
        value = (value or "").strip()
        return value if _PROFILE.match(value) else None

    def _roots(self, ctx: Context, found: Found) -> tuple[str, bool]:
        """(agent dir, whether it is the default one, where XDG folders apply)."""
        config = self._env(ctx, found, "PI_CONFIG_DIR") or ".omp"
        root = os.path.join(ctx.home, config)
        profile = self._profile(ctx, found)
        if profile:
            return os.path.join(root, "profiles", profile, "agent"), True
        value = self._env(ctx, found, "PI_CODING_AGENT_DIR")
        default = os.path.join(root, "agent")
        if value:
            value = os.path.normpath(os.path.join(found.cwd or "/", _expand(value, ctx.home)))
            return value, value == default
        return default, True

    def _xdg(self, ctx: Context, found: Found, name: str) -> Optional[str]:
        base = self._env(ctx, found, name)
        if not base:
            return None
        app = os.path.join(base, "omp")
        profile = self._profile(ctx, found)
        if profile:
            app = os.path.join(app, "profiles", profile)
        return app if os.path.isdir(app) else None

    def agent_subdir(self, ctx: Context, found: Found, sub: str, xdg: str) -> str:
        agent, default = self._roots(ctx, found)
        if default:
            base = self._xdg(ctx, found, xdg)
            if base:
                return os.path.join(base, sub)
        return os.path.join(agent, sub)

    def session_dir(self, ctx: Context, found: Found) -> str:
        """Where this omp keeps the cwd's sessions (omp's own precedence)."""
        cwd = found.cwd or "/"
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option == "--session-dir" and tok.value:
                return os.path.join(cwd, _expand(tok.value, ctx.home))
        value = self._env(ctx, found, "PI_CODING_AGENT_SESSION_DIR")
        if value:
            return os.path.join(cwd, _expand(value, ctx.home))
        tmp = self._env(ctx, found, "TMPDIR") or "/tmp"
        name = session_dir_name(cwd, ctx.home, tmp)
        return os.path.join(self.agent_subdir(ctx, found, "sessions", "XDG_DATA_HOME"), name)

    # -- strategies --------------------------------------------------------------
    def terminal_id(self, ctx: Context, found: Found) -> Optional[str]:
        """omp's name for the process's terminal (18.2.3 getTerminalId): its
        stdin's device below /dev (`pts-3`), else `tmux-<pane>`."""
        try:
            tty = os.readlink(f"/proc/{found.pid}/fd/0")
        except OSError:
            tty = ""
        if tty.startswith(("/dev/pts/", "/dev/tty")):
            return tty[5:].replace("/", "-")
        if self._env(ctx, found, "ZELLIJ_PANE_ID"):
            return None  # omp names the terminal after Zellij's pane: not a tmux pane
        pane = self._env(ctx, found, "TMUX_PANE")
        return f"tmux-{pane}" if pane and re.match(r"%[0-9]+\Z", pane) else None

    def id_from_terminal(self, ctx: Context, found: Found) -> Optional[str]:
        """The session the terminal record written since the start names."""
        tid = self.terminal_id(ctx, found)
        if tid is None:
            return None
        folder = self.agent_subdir(ctx, found, "terminal-sessions", "XDG_STATE_HOME")
        path = os.path.join(folder, tid)
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            return None
        if st.st_mtime < found.start - _files.MTIME_SLACK:
            return None  # an earlier process's on this terminal
        raw = _files.read_file(path, limit=RECORD_LIMIT, log=ctx.log, follow=False)
        if raw is None:
            return None
        lines = raw.decode("utf-8", "replace").strip().split("\n")
        if len(lines) < 2:
            return None
        cwd, session_file, extras = lines[0], lines[1], lines[2:]
        if found.cwd and cwd != found.cwd:
            return None
        sid = _sid_of_name(session_file)
        if sid is None or not os.path.isabs(session_file):
            return None
        if not os.path.lexists(session_file):
            return NO_CONVERSATION if "fresh" in extras else None
        head = session_head(session_file, ctx.log)
        return sid if head and head.get("id") == sid else None

    def id_from_sessions(self, ctx: Context, found: Found) -> Optional[str]:
        """The newest session of the cwd written since the start."""
        if not found.cwd:
            return None
        for _, path in _files.recent_files(self.session_dir(ctx, found), (".jsonl",), found.start):
            head = session_head(path, ctx.log)
            if not head or head.get("cwd") != found.cwd:
                continue
            sid = head.get("id")
            if isinstance(sid, str) and UUID.match(sid) and _files.unclaimed(ctx, found, sid):
                return sid
        return None

    def watch_files(self, home: str) -> list[str]:
        """No hook of ours tells, so: the WAL files of omp's own databases,
        listed even before they exist (`history.db`: every prompt;
        `agent.db`: a model's reply, its `model_perf` row), which catch the
        first conversation of an omp started after the sentinel listed its
        files (its terminal record and session folder are new then: a
        sentinel counts a file it lists later as unchanged); the records and
        sessions folders (a new terminal's record, a new cwd's folder); the
        newest WATCHED terminal records (rewritten in place on each session
        switch: /new, /resume) and session folders (a session's file appears
        there with its first reply, /new's at once)."""
        config = os.environ.get("PI_CONFIG_DIR") or ".omp"
        agent = os.environ.get("PI_CODING_AGENT_DIR")
        agent = _expand(agent, home) if agent else os.path.join(home, config, "agent")
        records = os.path.join(agent, "terminal-sessions")
        sessions = os.path.join(agent, "sessions")
        fixed = [os.path.join(agent, name) for name in DATABASE_WALS] + [records, sessions]
        return fixed + _newest(records, dirs=False) + _newest(sessions, dirs=True)


def _newest(folder: str, dirs: bool) -> list[str]:
    """The WATCHED newest folders (or regular files) in `folder`."""
    found: list[tuple[float, str]] = []
    try:
        entries = os.scandir(folder)
    except OSError:
        return []
    with entries:
        for entry in entries:
            try:
                ok = (
                    entry.is_dir(follow_symlinks=False)
                    if dirs
                    else entry.is_file(follow_symlinks=False)
                )
                if ok:
                    found.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
            except OSError:
                continue
    found.sort(reverse=True)
    return [path for _, path in found[:WATCHED]]
