"""Qwen Code (`qwen`, npm package @qwen-code/qwen-code), a fork of Gemini CLI
with a store of its own: `node .../bin/qwen` (cli-entry.js) runs
`node --expose-gc .../@qwen-code/qwen-code/cli.js` with the same arguments,
which re-launches itself once more (three node processes, one argv).

Store (0.24.4): `~/.qwen` (`QWEN_HOME`) holds the live-session registry
`sessions/<pid>.json` (`{"pid", "procStart": "<boot_id>:<starttime ticks>",
"sessionId", "cwd", "startedAt" (ms), "kind"}`), written by the innermost
process at start-up, patched on `/clear` and on a `/resume` pick, deleted on
exit. Per-project files live under the runtime folder (`QWEN_RUNTIME_DIR`,
else the user setting `advanced.runtimeOutputDir`, else `~/.qwen`):
`projects/<cwd with every non-alphanumeric as "-">/chats/`, with the
conversation `<session-uuid>.jsonl` (records `{"uuid", "parentUuid",
"sessionId", "cwd", "type", ...}`, created at the first message, not before)
and a sidecar `<session-uuid>.runtime.json` (`{"pid", "session_id",
"work_dir", "started_at" (s)}`) written at start-up and on each session switch
(left behind on exit). Every user input is appended to
`tmp/<sha256(cwd)>/logs.json`, as Gemini does.
Resume: `qwen --resume <uuid>` (0.24.4 --help: "-r, --resume  Resume a
specific session by its ID"; the exit message says the same); a session with
no conversation file ("No saved session found with ID ...") cannot be.

Session ID strategies, in evidence order:
1. `registry`: `sessions/<pid>.json` of the Qwen process or a same-tool
   descendant, its `procStart` matching the live process (a reused PID's
   stale record is ignored);
2. `runtime-status`: a `<id>.runtime.json` of the cwd's project naming that
   PID, written since it started (the registry could not be written);
3. `args`: `--resume/-r <uuid>` or `--session-id <uuid>`;
4. `chats`: the newest `<uuid>.jsonl` of the cwd's project written since the
   process started, of a session no other pane or live Qwen holds.
Event saves: `watch_files` (each project's `logs.json`, the registry folder).

`--worktree` is not replayed: the process moved into the worktree, the
saved cwd, and resumes there.
Not sessions: subcommands, `-p`, `--acp`, `--input-format stream-json`, and a
positional prompt without `-i` (Qwen runs it one-shot).
Code-loading options (0.24.4 --help; policy in base.py): `--mcp-config` (MCP
server definitions: a file or inline JSON), `-e/--extensions`,
`--input-file` (JSONL commands the TUI executes), `--sandbox-image`,
`--experimental-lsp` (starts the configured language servers). yargs also
takes the camelCase spellings.
"""

from __future__ import annotations

import os
import re

from assistant_resurrect.assistants import _files
from assistant_resurrect.assistants.base import UUID, Assistant, Context, Found, Strategy, scan
from assistant_resurrect.fileio import NotRegularFile, open_regular, read_regular

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Optional

    from assistant_resurrect.assistants.base import Token

RECORD_LIMIT = 64 << 10  # Qwen's own cap on a registry record
FIRST_RECORD_LIMIT = 1 << 20  # Qwen's cap on a transcript's first record
WATCHED = 32  # project logs the event saver polls
_NOT_ALNUM = re.compile(r"[^a-zA-Z0-9]")

SUBCOMMANDS = frozenset(
    {
        "mcp",
        "extensions",
        "auth",
        "hooks",
        "hook",
        "channel",
        "board",
        "review",
        "serve",
        "sessions",
        "update",
        "sandbox",
    }
)
NOT_SESSION_OPTIONS = frozenset(
    {
        "-p",
        "--prompt",
        "--acp",
        "--experimental-acp",
        "--experimentalAcp",
        "-l",
        "--list-extensions",
        "--listExtensions",
        "-v",
        "--version",
        "-h",
        "--help",
    }
)
INTERACTIVE_OPTIONS = frozenset({"-i", "--prompt-interactive", "--promptInteractive"})
# yargs array options: the plain words after them are more values, not a prompt.
ARRAY_OPTIONS = frozenset(
    {
        "--fallback-model",
        "--fallbackModel",
        "--allowed-mcp-server-names",
        "--allowedMcpServerNames",
        "--allowed-tools",
        "--allowedTools",
        "-e",
        "--extensions",
        "--include-directories",
        "--includeDirectories",
        "--add-dir",
        "--addDir",
        "--core-tools",
        "--coreTools",
        "--exclude-tools",
        "--excludeTools",
        "--disabled-slash-commands",
        "--disabledSlashCommands",
    }
)
VALUE_OPTIONS = ARRAY_OPTIONS | frozenset(
    {
        "--telemetry-target",
        "--telemetry-otlp-endpoint",
        "--telemetry-otlp-protocol",
        "--telemetry-outfile",
        "--proxy",
        "-m",
        "--model",
        "-p",
        "--prompt",
        "--system-prompt",
        "--systemPrompt",
        "--append-system-prompt",
        "--appendSystemPrompt",
        "--output-style",
        "--outputStyle",
        "--sandbox-image",
        "--sandboxImage",
        "--approval-mode",
        "--approvalMode",
        "--channel",
        "--mcp-config",
        "--mcpConfig",
        "--openai-logging-dir",
        "--openai-api-key",
        "--openai-base-url",
        "--input-format",
        "--inputFormat",
        "-o",
        "--output-format",
        "--outputFormat",
        "--json-fd",
        "--json-file",
        "--json-schema",
        "--input-file",
        "--inputFile",
        "--worktree",
        "--max-session-turns",
        "--max-wall-time",
        "--max-tool-calls",
        "--max-subagent-depth",
        "--auth-type",
        "--authType",
    }
)
RESUME_OPTIONS = frozenset({"--resume", "-r", "--session-id", "--sessionId"})


def sanitize_cwd(cwd: str) -> str:
    """Qwen's project folder name for a cwd (sanitizeCwd)."""
    return _NOT_ALNUM.sub("-", cwd)


def start_token(pid: int) -> Optional[str]:
    """`<boot_id>:<start time in ticks>` of a live process, as Qwen records it
    (readProcStartToken); None off Linux or when unreadable."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as fh:
            boot = fh.read(64).decode("ascii", "replace").strip()
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read(4096).decode("utf-8", "replace")
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 1 :].split()
    if not boot or len(fields) < 20 or not fields[19].isdigit():
        return None
    return f"{boot}:{fields[19]}"


def _number(value: object) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _pid(value: object) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _expand(value: str, home: str, base: Optional[str] = None) -> Optional[str]:
    """A configured folder the way Qwen resolves it (`~`, `~/x`, relative to `base`)."""
    if value == "~":
        return home
    if value.startswith("~/"):
        return os.path.join(home, value[2:])
    if os.path.isabs(value):
        return value
    return os.path.join(base, value) if base else None


class Qwen(Assistant):
    name = "qwen"
    display_name = "Qwen Code"
    checked_version = "0.24.4"
    real_cli_test = True  # tests/realcli/test_qwen.py
    executables = ("qwen",)
    script_markers = ("@qwen-code/qwen-code/",)
    session_id_re = UUID
    value_options = VALUE_OPTIONS
    # `--worktree` moves the process into `<repo>/.qwen/worktrees/<slug>`, the
    # cwd saved: the resume runs there without it.
    session_options = frozenset(RESUME_OPTIONS | INTERACTIVE_OPTIONS | {"--worktree"})
    session_flags = frozenset({"-c", "--continue", "--fork-session", "--forkSession"})
    credential_options = frozenset({"--openai-api-key"})  # not saved
    not_session_options = NOT_SESSION_OPTIONS
    not_session_subcommands = SUBCOMMANDS
    keep_positionals = False  # a positional is a one-shot prompt
    evidence = frozenset({"registry", "runtime-status"})
    code_options = (
        "--mcp-config",
        "--mcpConfig",
        "--extensions",
        "-e",
        "--input-file",
        "--inputFile",
        "--sandbox-image",
        "--sandboxImage",
        "--experimental-lsp",
        "--experimentalLsp",
    )
    code_path_options = ("--mcp-config", "--mcpConfig", "--input-file", "--inputFile")
    code_list_options = ("--extensions", "-e")

    # -- arguments ---------------------------------------------------------------
    def tokens(self, args: list[str]) -> list[Token]:
        """`scan`, with the plain words after an array option joined to it."""
        out: list[Token] = []
        for tok in scan(args, self.value_options | self.session_options):
            prev = out[-1] if out else None
            if tok.option is None and prev is not None and prev.option in ARRAY_OPTIONS:
                prev.raw = [*prev.raw, *tok.raw]
                continue
            out.append(tok)
        return out

    def is_session(self, args: list[str]) -> bool:
        """An interactive run: no one-shot option, no subcommand, and no
        positional prompt unless `-i` makes the run interactive."""
        interactive = prompt = False
        for tok in self.tokens(args):
            if tok.option in self.not_session_options:
                return False
            if tok.option in ("--input-format", "--inputFormat") and tok.value == "stream-json":
                return False
            if tok.option in INTERACTIVE_OPTIONS:
                interactive = True
            elif tok.option is None:
                if not prompt and tok.raw[0] in self.not_session_subcommands:
                    return False
                prompt = True
        return interactive or not prompt

    def cli_args(self, args: list[str]) -> list[str]:
        kept: list[str] = []
        for tok in self.tokens(args):
            if tok.option in self.session_options or tok.option in self.session_flags:
                continue
            if tok.option is None or tok.option == "--":
                continue
            if tok.option in self.credential_options:
                continue
            kept.extend(tok.raw)
        return kept

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        for tok in self.tokens(found.launch.args):
            if tok.option in RESUME_OPTIONS and UUID.match(tok.value or ""):
                return tok.value
        return None  # `--resume` alone opens the picker: the registry names the pick

    # -- where the store is --------------------------------------------------------
    def strategies(self) -> list[tuple[str, Strategy]]:
        return [
            ("registry", self.id_from_registry),
            ("runtime-status", self.id_from_runtime_status),
            ("args", self.id_from_args),
            ("chats", self.id_from_chats),
        ]

    def env(self, ctx: Context, found: Found) -> dict[str, str]:
        """The innermost Qwen's environment: the launcher adds `QWEN_HOME` from
        `~/.qwen/.env` to it."""
        for pid in reversed(found.pids or [found.pid]):
            env = ctx.snap.environ(pid)
            if env:
                return env
        return {}

    def qwen_home(self, ctx: Context, home: str, env: dict[str, str]) -> str:
        value = env.get("QWEN_HOME") if env else os.environ.get("QWEN_HOME")
        return (_expand(value, home) if value else None) or os.path.join(home, ".qwen")

    def runtime_dir(self, ctx: Context, home: str, env: dict[str, str], cwd: str) -> str:
        """Where the project folders are: `QWEN_RUNTIME_DIR`, else the user
        setting `advanced.runtimeOutputDir`, else the Qwen home."""
        qhome = self.qwen_home(ctx, home, env)
        value = env.get("QWEN_RUNTIME_DIR") if env else os.environ.get("QWEN_RUNTIME_DIR")
        if value:
            return _expand(value, home, cwd) or qhome
        settings = self.read_json(ctx, os.path.join(qhome, "settings.json"), 1 << 20)
        advanced = settings.get("advanced") if settings else None
        configured = advanced.get("runtimeOutputDir") if isinstance(advanced, dict) else None
        if isinstance(configured, str) and configured.strip():
            return _expand(configured.strip(), home, cwd) or qhome
        return qhome

    def chats_dir(self, ctx: Context, found: Found) -> Optional[str]:
        if not found.cwd:
            return None
        env = self.env(ctx, found)
        base = self.runtime_dir(ctx, ctx.home, env, found.cwd)
        return os.path.join(base, "projects", sanitize_cwd(found.cwd), "chats")

    @staticmethod
    def read_json(
        ctx: Context, path: str, limit: int = RECORD_LIMIT, own: bool = False
    ) -> Optional[dict[str, Any]]:
        """A JSON object file (a regular file, not a symlink, at most `limit`
        bytes); with `own`, only one this user owns (a record another user
        planted in a shared folder names no session of ours)."""
        import json

        try:
            raw, st = read_regular(path, limit, follow=False)
        except FileNotFoundError:
            return None
        except NotRegularFile as exc:
            ctx.log(f"qwen: {exc}; skipped")
            return None
        except OSError as exc:
            ctx.log(f"qwen: cannot read {path} ({exc.strerror}); skipped")
            return None
        if own and st.st_uid != os.geteuid():
            ctx.log(f"qwen: {path} belongs to uid {st.st_uid}, not to this user; skipped")
            return None
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        return data if isinstance(data, dict) else None

    def same_process(self, ctx: Context, pid: int, token: object, started: Optional[float]) -> bool:
        """Whether a record naming `pid` was written by the live process `pid`:
        its start token matches, or (no token) it was written after the start."""
        proc = ctx.snap.procs.get(pid)
        if proc is None:
            return False
        if isinstance(token, str):
            ours = start_token(pid)
            if ours is not None:
                return token == ours
        return started is not None and started >= proc.start - _files.MTIME_SLACK

    # -- registry ---------------------------------------------------------------------
    def live_records(self, ctx: Context, found: Found) -> list[tuple[int, dict[str, Any]]]:
        """(pid, record) of each registry record a live Qwen wrote (a stale
        record of this process's PIDs is logged)."""
        ours = found.pids or [found.pid]
        directory = os.path.join(self.qwen_home(ctx, ctx.home, self.env(ctx, found)), "sessions")
        try:
            names = os.listdir(directory)
        except OSError:
            return []
        out: list[tuple[int, dict[str, Any]]] = []
        for name in names:
            stem = name[: -len(".json")] if name.endswith(".json") else ""
            if not stem.isdigit() or int(stem) not in ctx.snap.procs:
                continue
            pid = int(stem)
            rec = self.read_json(ctx, os.path.join(directory, name), own=True)
            if rec is None or _pid(rec.get("pid")) != pid:
                continue
            started = _number(rec.get("startedAt"))
            if self.same_process(ctx, pid, rec.get("procStart"), started and started / 1000):
                out.append((pid, rec))
            elif pid in ours:
                ctx.log(f"qwen pid {pid}: session registry record is from an earlier process")
        return out

    def id_from_registry(self, ctx: Context, found: Found) -> Optional[str]:
        ours = found.pids or [found.pid]
        records = dict(self.live_records(ctx, found))
        for pid in reversed(ours):
            sid = records.get(pid, {}).get("sessionId")
            if isinstance(sid, str):
                return sid
        return None

    def held_by_others(self, ctx: Context, found: Found) -> set[str]:
        ours = set(found.pids or [found.pid])
        return {
            rec["sessionId"]
            for pid, rec in self.live_records(ctx, found)
            if pid not in ours and isinstance(rec.get("sessionId"), str)
        }

    # -- runtime-status -----------------------------------------------------------------
    def id_from_runtime_status(self, ctx: Context, found: Found) -> Optional[str]:
        chats = self.chats_dir(ctx, found)
        if chats is None:
            return None
        ours = set(found.pids or [found.pid])
        best: Optional[tuple[float, str]] = None
        for _, path in _files.recent_files(chats, (".runtime.json",), found.start):
            rec = self.read_json(ctx, path, own=True)
            if rec is None:
                continue
            pid = _pid(rec.get("pid"))
            sid = rec.get("session_id")
            started = _number(rec.get("started_at"))
            if pid not in ours or not isinstance(sid, str) or started is None:
                continue
            if os.path.basename(path) != f"{sid}.runtime.json":
                continue
            if not self.same_process(ctx, pid, None, started):
                continue
            if best is None or started > best[0]:
                best = (started, sid)
        return best[1] if best else None

    # -- chats --------------------------------------------------------------------------
    def id_from_chats(self, ctx: Context, found: Found) -> Optional[str]:
        chats = self.chats_dir(ctx, found)
        if chats is None:
            return None
        held: Optional[set[str]] = None
        for _, path in _files.recent_files(chats, (".jsonl",), found.start):
            stem = os.path.basename(path)[: -len(".jsonl")]
            if not UUID.match(stem):
                continue  # sub-agent transcripts, ledgers
            head = _files.first_json_line(path, limit=FIRST_RECORD_LIMIT, log=ctx.log)
            if not head or head.get("sessionId") != stem:
                continue
            if held is None:
                held = self.held_by_others(ctx, found)
            if stem in held or not _files.unclaimed(ctx, found, stem):
                continue
            return stem
        return None

    # -- conversation or not ----------------------------------------------------------------
    def resumable(self, ctx: Context, found: Found, session_id: str) -> Optional[bool]:
        """False when the cwd's project folder exists and holds no conversation
        file of `session_id` with a record (`qwen --resume` finds no session);
        None when the folder is not there or the file cannot be read."""
        chats = self.chats_dir(ctx, found)
        if chats is None or not os.path.isdir(chats):
            return None
        path = os.path.join(chats, f"{session_id}.jsonl")
        try:
            fd, st = open_regular(path)
        except FileNotFoundError:
            return False
        except NotRegularFile as exc:
            ctx.log(f"qwen: {exc}; skipped")
            return None
        except OSError:
            return None
        os.close(fd)
        if st.st_size == 0:
            return False
        head = _files.first_json_line(path, limit=FIRST_RECORD_LIMIT, log=ctx.log)
        if head is None:
            return None  # unreadable here; let `qwen --resume` judge
        return head.get("sessionId") == session_id or None

    # -- event saves ----------------------------------------------------------------------------
    def watch_files(self, home: str) -> list[str]:
        """The registry folder (a record is renamed in on `/clear` and on a
        `/resume` pick) and each project's `logs.json` (the newest WATCHED),
        which Qwen appends every user input to."""
        value = os.environ.get("QWEN_HOME")
        qhome = (_expand(value, home) if value else None) or os.path.join(home, ".qwen")
        value = os.environ.get("QWEN_RUNTIME_DIR")
        runtime = (_expand(value, home) if value else None) or qhome
        out = [os.path.join(qhome, "sessions")]
        return out + _files.newest_in_subdirs(os.path.join(runtime, "tmp"), "logs.json", WATCHED)
