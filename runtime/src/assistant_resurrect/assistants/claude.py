"""Claude Code (`claude`): native executable, or cli.js under node for old builds.

Session ID strategies, in evidence order (first answer wins): what the running
process wrote after it started outranks its launch arguments, which outrank
the store searched by cwd and start time.
1. `state-file`: `claude-<pid>.json` written by our SessionStart hook (it
   follows /clear, /resume and --continue, which all fire SessionStart with
   the concrete ID), checked against the process start time;
2. `sessions-registry`: Claude's own per-process record
   `${CLAUDE_CONFIG_DIR:-~/.claude}/sessions/<pid>.json` (2.1.197: `pid`,
   `sessionId`, `cwd`, `startedAt` in ms, `procStart` = the start time in
   clock ticks as in /proc/<pid>/stat, `status`, `updatedAt`; rewritten in
   place on /clear and /resume, removed on exit, left behind by a crash).
   Used when its `pid` is the process, its `startedAt` is not older than the
   process (a file left by an earlier process of a reused PID is not), its
   `procStart` matches on Linux, and it is a regular file owned by the user;
3. `args`: `--resume/-r <id>` or `--session-id <id>`;
4. `transcript`: the one transcript `~/.claude/projects/<escaped cwd>/<id>.jsonl`
   written since the process started (none or several: no answer).
(`CLAUDE_CODE_SESSION_ID` is set only in the environment of the hooks and
tools Claude starts, not in its own: /proc/<pid>/environ never has it.)

No conversation yet (`resumable`, 2.1.197): Claude writes `<id>.jsonl` from
the first message on. A Claude opened with no message has none, one that exits
without a message leaves `mode` lines only (`claude --resume <id>` answers "No
conversation found" for both), and after /clear the new session's file holds
only the record of the /clear command (a resume would show just that). Such an
ID is saved as a fresh start; a model reply or a message of the user's within
the file's first 64 KiB makes it resumable; anything unsure keeps the ID.

Code-loading options (2.1.197 --help; policy in base.py): `--settings`
(a file or inline JSON: hooks, apiKeyHelper), `--mcp-config` (files or
inline JSON, several: MCP servers are commands), `--plugin-dir` (a folder or
.zip), `--plugin-url` (a plugin fetched from a URL), `--agents` (inline JSON).
"""

from __future__ import annotations

import os
import sys

from assistant_resurrect.assistants import _files
from assistant_resurrect.assistants.base import UUID, Assistant, Context, Found, Strategy, scan
from assistant_resurrect.fileio import open_regular, read_regular

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

# Claude names a project folder after its cwd (2.1.197, read from its code):
# every UTF-16 unit that is not an ASCII letter or digit becomes "-"; a name
# longer than 200 is cut to 200 and suffixed with "-" and the base-36 absolute
# value of the cwd's 32-bit Java-style string hash.
_MAX_NAME = 200
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-le", "surrogatepass")
    return [data[i] | (data[i + 1] << 8) for i in range(0, len(data), 2)]


def _java_hash(text: str) -> int:
    h = 0
    for unit in _utf16_units(text):
        h = (h * 31 + unit) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def _base36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if n == 0:
            return out


def project_dir_name(cwd: str) -> str:
    name = "".join(
        chr(u) if (48 <= u <= 57 or 65 <= u <= 90 or 97 <= u <= 122) else "-"
        for u in _utf16_units(cwd)
    )
    if len(name) <= _MAX_NAME:
        return name
    return f"{name[:_MAX_NAME]}-{_base36(abs(_java_hash(cwd)))}"


# `claude <command>` helpers (2.1.197 --help) and one-shot runs: not sessions.
SUBCOMMANDS = frozenset(
    {
        "agents",
        "auth",
        "auto-mode",
        "doctor",
        "gateway",
        "install",
        "mcp",
        "plugin",
        "plugins",
        "project",
        "setup-token",
        "ultrareview",
        "update",
        "upgrade",
        "migrate-installer",
        "config",
    }
)
ONE_SHOT = frozenset({"-p", "--print", "-v", "--version", "-h", "--help"})
REGISTRY_LIMIT = 1 << 16  # a registry record is ~350 bytes
# How much of a transcript is read to find its first conversation line (the
# `mode`, `permission-mode` and `file-history-snapshot` lines before it are
# small); a longer file with none in that much is not judged.
TRANSCRIPT_HEAD = 1 << 16
CONVERSATION_LINES = (b'"type":"user"', b'"type":"assistant"')
LOCAL_COMMAND_MARKS = ("<command-name>", "<local-command-")
# SessionStart sources for an ID Claude resumed: it had a conversation.
RESUMED_SOURCES = ("resume", "compact")


class Claude(Assistant):
    name = "claude"
    executables = ("claude",)
    script_markers = ("@anthropic-ai/claude-code/cli",)
    session_id_re = UUID
    not_session_options = ONE_SHOT
    display_name = "Claude Code"
    checked_version = "2.1.197"
    real_cli_test = True
    agent_hooks = ("claude-session-start", "claude-session-end")
    evidence = frozenset({"state-file", "sessions-registry"})
    not_session_subcommands = SUBCOMMANDS
    value_options = frozenset(
        {
            "--model",
            "--permission-mode",
            "--append-system-prompt",
            "--system-prompt",
            "--settings",
            "--output-format",
            "--input-format",
            "--fallback-model",
            "--agents",
            "--agent",
            "--setting-sources",
            "--permission-prompt-tool",
            "--max-turns",
            "--betas",
            "--add-dir",
            "--allowedTools",
            "--allowed-tools",
            "--disallowedTools",
            "--disallowed-tools",
            "--mcp-config",
            "--plugin-dir",
            "--plugin-url",
            "--tools",
        }
    )
    code_options = ("--settings", "--mcp-config", "--plugin-dir", "--plugin-url", "--agents")
    code_path_options = ("--settings", "--mcp-config", "--plugin-dir")
    code_list_options = ("--mcp-config",)
    session_options = frozenset({"--resume", "-r", "--session-id"})
    session_flags = frozenset({"--continue", "-c", "--fork-session"})
    keep_positionals = False

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [
            ("state-file", self.id_from_state_file),
            ("sessions-registry", self.id_from_registry),
            ("args", self.id_from_args),
            ("transcript", self.id_from_transcript),
        ]

    def id_from_state_file(self, ctx: Context, found: Found) -> Optional[str]:
        entry = self.state_entry(ctx, found)
        return entry.get("session_id") if entry else None

    def registry_entry(self, ctx: Context, found: Found) -> Optional[dict]:
        """Claude's own record of this process (its PID, or a same-tool
        descendant's), when it is that process's and not an earlier one's."""
        root = os.path.join(self.config_dir(ctx, found), "sessions")
        for pid in found.pids:
            entry = _registry_record(ctx, root, pid)
            if entry is not None:
                return entry
        return None

    def id_from_registry(self, ctx: Context, found: Found) -> Optional[str]:
        entry = self.registry_entry(ctx, found)
        return entry.get("sessionId") if entry else None

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        value = super().id_from_args(ctx, found)
        return value if value and not value.startswith("-") else None

    def config_dir(self, ctx: Context, found: Found) -> str:
        config = _files.env_path(_files.proc_env(ctx, found), "CLAUDE_CONFIG_DIR")
        return config or os.path.join(ctx.home, ".claude")

    def projects_root(self, ctx: Context, found: Found) -> str:
        return os.path.join(self.config_dir(ctx, found), "projects")

    def watch_files(self, home: str) -> list[str]:
        """The prompt history (Claude appends every prompt and slash command to
        it: a first message makes a fresh session resumable, and without our
        hooks /clear and /resume show there) and the registry folder (a Claude
        starting or exiting)."""
        dirs = [os.path.join(home, ".claude")]
        config = _files.env_path({}, "CLAUDE_CONFIG_DIR")
        if config and config not in dirs:
            dirs.append(config)
        out: list[str] = []
        for d in dirs:
            out += [os.path.join(d, "history.jsonl"), os.path.join(d, "sessions")]
        return out

    def resumable(self, ctx: Context, found: Found, session_id: str) -> Optional[bool]:
        """False when Claude's own registry says this process shows `session_id`
        and no transcript of it with a conversation line is in the cwd's project
        folder(s) (or where our hook said it is): `claude --resume` would answer
        "No conversation found". None when that cannot be told: no registry
        record for that ID (an older Claude, whose store may differ), a file too
        long or unreadable, or an ID Claude itself resumed (a miss is ours).
        One open of the transcript; the registry is read only when it is missing."""
        name = f"{session_id}.jsonl"
        paths: list[str] = []
        entry = self.state_entry(ctx, found)
        if entry is not None and entry.get("session_id") == session_id:
            if entry.get("source") in RESUMED_SOURCES:
                return None  # Claude resumed it: it has a conversation, wherever it is
            path = entry.get("transcript_path")
            if isinstance(path, str) and os.path.isabs(path) and os.path.basename(path) == name:
                paths.append(path)
        if found.cwd:
            root = self.projects_root(ctx, found)
            paths += [os.path.join(d, name) for d in self.project_dirs(root, found.cwd)]
        unknown = not paths
        for path in paths:
            has = _has_conversation(path)
            if has:
                return True
            unknown = unknown or has is None
        if unknown:
            return None
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option in ("--resume", "-r") and tok.value == session_id:
                return None  # likewise (Claude exits when it cannot resume)
        record = self.registry_entry(ctx, found)
        if record is None or record.get("sessionId") != session_id:
            return None
        return False

    def project_dirs(self, root: str, cwd: str) -> list[str]:
        """The cwd's project folder; for a cut name (other hash versions may
        differ) also every folder sharing the cut prefix."""
        name = project_dir_name(cwd)
        if len(name) <= _MAX_NAME:
            return [os.path.join(root, name)]
        out = [os.path.join(root, name)]
        try:
            names = os.listdir(root)
        except OSError:
            names = []
        out += [os.path.join(root, d) for d in names if d.startswith(name[: _MAX_NAME + 1])]
        return sorted(set(out))

    def id_from_transcript(self, ctx: Context, found: Found) -> Optional[str]:
        """The single transcript of this cwd written since the process started."""
        if not found.cwd:
            return None
        root = self.projects_root(ctx, found)
        candidates: list[str] = []
        for folder in self.project_dirs(root, found.cwd):
            for _, path in _files.recent_files(folder, (".jsonl",), found.start):
                sid = os.path.basename(path)[: -len(".jsonl")]
                if self.valid_session_id(sid) and _files.unclaimed(ctx, found, sid):
                    candidates.append(sid)
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            ctx.log(
                f"claude pid {found.pid}: {len(candidates)} transcripts in {found.cwd} were "
                "written since it started; not guessing"
            )
        return None

    def state_model(self, ctx: Context, found: Found) -> Optional[str]:
        entry = self.state_entry(ctx, found)
        model = entry.get("model") if entry else None
        if isinstance(model, dict):
            model = model.get("id") or model.get("display_name")
        return model if isinstance(model, str) and model else None


def _registry_record(ctx: Context, root: str, pid: int) -> Optional[dict]:
    """`<root>/<pid>.json` when it is a regular file owned by the user, about
    process `pid`, written since that process started."""
    import json

    path = os.path.join(root, f"{pid}.json")
    try:
        raw, st = read_regular(path, REGISTRY_LIMIT)
    except FileNotFoundError:
        return None
    except OSError as exc:
        ctx.log(f"claude pid {pid}: registry {exc}; ignored")
        return None
    if st.st_uid != os.getuid():
        ctx.log(f"claude pid {pid}: {path} is owned by uid {st.st_uid}, not you; ignored")
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("pid") != pid or isinstance(data.get("pid"), bool):
        return None
    proc = ctx.snap.procs.get(pid)
    started = data.get("startedAt")
    if proc is None or not isinstance(started, (int, float)) or isinstance(started, bool):
        return None
    if started / 1000 < proc.start - _files.MTIME_SLACK or not _same_ticks(pid, data):
        ctx.log(f"claude pid {pid}: {path} is from an earlier process; ignored")
        return None
    return data


def _same_ticks(pid: int, data: dict) -> bool:
    """On Linux, `procStart` (the start time in clock ticks, as /proc/<pid>/stat
    field 22 has it) is this process's; elsewhere, or without one: True."""
    ticks = data.get("procStart")
    if not sys.platform.startswith("linux") or not isinstance(ticks, str) or not ticks.isdigit():
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read(4096)
    except OSError:
        return True
    fields = stat[stat.rfind(b")") + 2 :].split()
    return len(fields) > 19 and fields[19] == ticks.encode()


def _has_conversation(path: str) -> Optional[bool]:
    """Whether a transcript holds a conversation line (see _conversation_line):
    False when it is missing or wholly read without one, None when unreadable or
    too long to tell."""
    try:
        fd, st = open_regular(path, follow=True)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        head = os.read(fd, TRANSCRIPT_HEAD)
    except OSError:
        return None
    finally:
        os.close(fd)
    for line in head.split(b"\n"):
        if any(kind in line for kind in CONVERSATION_LINES) and _conversation_line(line):
            return True
    return False if st.st_size <= len(head) else None


def _conversation_line(line: bytes) -> bool:
    """A model reply, or a message of the user's: not Claude's own notes
    (`isMeta`) nor the record of a local command such as /clear (2.1.197 writes
    `<command-name>/clear…` and `<local-command-stdout>` lines on /clear, and
    `mode` lines only when a session exits without a message). A line cut off
    by the end of what was read counts (a long one is a message)."""
    import json

    try:
        data = json.loads(line)
    except ValueError:
        return True
    if not isinstance(data, dict):
        return False
    kind = data.get("type")
    if kind == "assistant":
        return True
    if kind != "user" or data.get("isMeta") is True:
        return False
    message = data.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return not (isinstance(content, str) and content.startswith(LOCAL_COMMAND_MARKS))
