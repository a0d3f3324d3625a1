"""Gemini CLI (`gemini`, npm package @google/gemini-cli): a node script that
re-launches itself as a child node process with a larger heap.

Sessions (0.61.0): `~/.gemini/tmp/<project>/chats/session-<time>-<id8>.jsonl`,
first line `{"sessionId", "projectHash", "startTime", "lastUpdated", "kind"}`;
`<project>` is the short name `~/.gemini/projects.json` gives the cwd (older
releases used the SHA-256 of the cwd). The file is written at start-up and
appended to (also when resumed). Resume: `gemini --resume <uuid>` (also
`latest` or an index). A session with no exchange is not resumable and its
file is deleted on exit.

Session ID strategies, in evidence order (what the running process wrote
after it started first, its launch arguments next, its project's store last):
1. `hook-state`: `gemini-<pid>.json` written by our SessionStart hook
   (gemini_hooks.py; startup, `--resume`, `/clear` and `/new` each fire it
   with the concrete ID), keyed by the outer gemini process and checked
   against its start time. The session browser (`/resume` without a tag)
   fires no hook: a main chat file of the project whose `lastUpdated` is
   later than the hook's record, of another session that no other pane
   holds, is the session this process reopened since (Gemini appends a
   `lastUpdated` on reopening and on each message; the summary it writes into
   an older session's file at start-up leaves `lastUpdated` alone);
2. `args`: `--resume/-r <uuid>` or `--session-id <uuid>` (a Gemini whose
   hooks did not run: an untrusted folder, hooks disabled, not installed);
3. `chats`: the newest main (not sub-agent) session file of the cwd's project
   written since the process started.
Event saves: the hooks' state-file writes; and each project's
`~/.gemini/tmp/<project>/logs.json` (`watch_files`), which Gemini appends
every user input to (a message fires no hook).
A session whose chat file holds no exchange (Gemini's own rule: a user message
that is not empty, a command, `<session_context>` or `<hook_context>`, or a
model reply) is not resumable (`gemini --resume` calls it invalid): saved as a
fresh start (`resumable`), e.g. after `/clear` without a message.

Code-loading options (0.61.0 --help; policy in base.py): `--policy` and
`--admin-policy` (policy files or folders, comma-separated or several: they
decide which tools run unasked), `-e/--extensions` (which extensions load) and
`--skip-trust` (trusts the workspace, whose settings can define hooks and MCP
servers). yargs also takes the camelCase spellings.
"""

from __future__ import annotations

import os
import re

from assistant_resurrect.assistants import _files
from assistant_resurrect.assistants.base import UUID, Assistant, Context, Found, Strategy, scan
from assistant_resurrect.fileio import open_regular
from assistant_resurrect.procs import same_start

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

# A user message Gemini does not count towards a resumable session (0.61.0
# isIgnoredUserContent), after trimming.
IGNORED_USER_PREFIXES = ("/", "?", "<session_context>", "<hook_context>")
_LAST_UPDATED = re.compile(rb'"lastUpdated"\s*:\s*"([^"]{10,40})"')
TAIL_BYTES = 64 << 10
WATCHED = 32  # project logs the event saver polls


def _text(content: object) -> str:
    """The text of a message's content (a string, a part or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        text = content.get("text")
        return text if isinstance(text, str) else ""
    if isinstance(content, list):
        return "".join(_text(part) for part in content)
    return ""


def _counts(msg: dict) -> bool:
    """Whether a message record makes its session resumable (Gemini's rule)."""
    text = _text(msg.get("content")).strip()
    if msg.get("type") == "user":
        return bool(text) and not text.startswith(IGNORED_USER_PREFIXES)
    if msg.get("type") == "gemini":
        return bool(text or msg.get("toolCalls") or msg.get("thoughts"))
    return False


def has_exchange(raw: bytes, session_id: str) -> Optional[bool]:
    """Whether a chat file (JSON lines, or a legacy whole JSON) of `session_id`
    holds a message Gemini resumes; None when it is another session's file or
    not a chat file. Rewinds (`$rewindTo`) are applied; a `$set` of messages
    adds to them (a message once written counts until a rewind removes it)."""
    import json

    text = raw.decode("utf-8", "replace")
    try:  # legacy .json: one object with its messages
        whole = json.loads(text)
    except (ValueError, RecursionError):
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("messages"), list):
        if whole.get("sessionId") != session_id:
            return None
        return any(isinstance(m, dict) and _counts(m) for m in whole["messages"])
    messages: dict[str, dict] = {}
    head = True
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(rec, dict):
            continue
        if head:
            head = False
            if rec.get("sessionId") != session_id:
                return None
            continue
        rewind = rec.get("$rewindTo")
        upd = rec.get("$set")
        if isinstance(rewind, str):
            if rewind in messages:
                keys = list(messages)
                for key in keys[keys.index(rewind) :]:
                    del messages[key]
            else:
                messages.clear()
        elif isinstance(rec.get("id"), str):
            messages[rec["id"]] = rec
        elif isinstance(upd, dict) and isinstance(upd.get("messages"), list):
            # Gemini replaces its messages with such a list; here it only adds:
            # while Gemini reopens a session it may write a shorter list first
            # (0.61.0), and a save then must not take the session for empty.
            for m in upd["messages"]:
                if isinstance(m, dict) and isinstance(m.get("id"), str):
                    messages[m["id"]] = m
    if head:
        return None
    return any(_counts(m) for m in messages.values())


def last_updated(path: str) -> Optional[float]:
    """The last `lastUpdated` a chat file records (its tail), as epoch seconds."""
    import datetime

    try:
        fd, st = open_regular(path)
    except OSError:  # NotRegularFile too: never a FIFO or a symlink
        return None
    try:
        os.lseek(fd, max(0, st.st_size - TAIL_BYTES), os.SEEK_SET)
        tail = os.read(fd, TAIL_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    found = _LAST_UPDATED.findall(tail)
    if not found:
        return None
    value = found[-1].decode("ascii", "replace").replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


SUBCOMMANDS = frozenset(
    {"mcp", "extensions", "extension", "skills", "skill", "hooks", "hook", "gemma"}
)
# Options that make a run non-interactive or a one-shot helper.
NOT_SESSION_OPTIONS = frozenset(
    {
        "-p",
        "--prompt",
        "--list-sessions",
        "--delete-session",
        "-l",
        "--list-extensions",
        "--acp",
        "--experimental-acp",
        "-v",
        "--version",
        "-h",
        "--help",
    }
)


class Gemini(Assistant):
    name = "gemini"
    executables = ("gemini",)
    script_markers = ("@google/gemini-cli/",)
    session_id_re = UUID
    not_session_options = NOT_SESSION_OPTIONS
    display_name = "Gemini CLI"
    checked_version = "0.61.0"
    real_cli_test = True
    agent_hooks = ("gemini-session-start", "gemini-session-end")
    evidence = frozenset({"hook-state"})
    not_session_subcommands = SUBCOMMANDS
    value_options = frozenset(
        {
            "--model",
            "-m",
            "--prompt",
            "-p",
            "--prompt-interactive",
            "-i",
            "--approval-mode",
            "--policy",
            "--admin-policy",
            "--adminPolicy",
            "--allowed-mcp-server-names",
            "--allowed-tools",
            "--extensions",
            "-e",
            "--include-directories",
            "--output-format",
            "-o",
            "--delete-session",
        }
    )
    session_options = frozenset(
        {"--resume", "-r", "--session-id", "--session-file", "--prompt-interactive", "-i"}
    )
    keep_positionals = False  # positionals are a first prompt
    code_options = (
        "--policy",
        "--admin-policy",
        "--adminPolicy",
        "--extensions",
        "-e",
        "--skip-trust",
        "--skipTrust",
    )
    code_path_options = ("--policy", "--admin-policy", "--adminPolicy")
    code_list_options = ("--policy", "--admin-policy", "--adminPolicy", "--extensions", "-e")
    code_path_separator = ","

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [
            ("hook-state", self.id_from_hook_state),
            ("args", self.id_from_args),
            ("chats", self.id_from_chats),
        ]

    def watch_files(self, home: str) -> list[str]:
        """Each project's `logs.json` (the newest WATCHED): Gemini appends every
        user input to it, and no hook of ours fires on a message, so the first
        message of a session saved as a fresh start gets saved within seconds."""
        return _files.newest_in_subdirs(os.path.join(home, ".gemini", "tmp"), "logs.json", WATCHED)

    # -- hook-state (state_entry: base.py) --------------------------------------
    def id_from_hook_state(self, ctx: Context, found: Found) -> Optional[str]:
        entry = self.state_entry(ctx, found)
        if entry is None:
            return None
        sid = entry.get("session_id")
        if not isinstance(sid, str):
            return None
        stamp = entry.get("timestamp_epoch")
        if isinstance(stamp, (int, float)) and found.cwd:
            newer = self.reopened_since(ctx, found, sid, float(stamp))
            if newer is not None:
                ctx.log(
                    f"gemini pid {found.pid}: {newer} was reopened after the hook recorded "
                    f"{sid} (session browser)"
                )
                return newer
        return sid

    def reopened_since(self, ctx: Context, found: Found, sid: str, since: float) -> Optional[str]:
        """The main session of the project, other than `sid` and not held by
        another pane or another live Gemini's record, whose chat file says it
        was updated after `since`: the newest one."""
        assert found.cwd
        held = self.held_by_others(ctx, found)
        best: Optional[tuple[float, str]] = None
        for folder in self.project_dirs(self.gemini_dir(ctx, found), found.cwd):
            for _, path in _files.recent_files(os.path.join(folder, "chats"), (".jsonl",), since):
                if not os.path.basename(path).startswith("session-"):
                    continue
                head = _files.first_json_line(path, log=ctx.log)
                if not head or head.get("kind") == "subagent":
                    continue
                other = head.get("sessionId")
                if not isinstance(other, str) or other == sid or other in held:
                    continue
                if not _files.unclaimed(ctx, found, other):
                    continue
                updated = last_updated(path)
                if updated is not None and updated > since and (best is None or updated > best[0]):
                    best = (updated, other)
        return best[1] if best else None

    def held_by_others(self, ctx: Context, found: Found) -> set[str]:
        """Session IDs other live Gemini processes' hook records name."""
        directory = ctx.state.directory
        out: set[str] = set()
        if directory is None:
            return out
        try:
            names = os.listdir(directory)
        except OSError:
            return out
        for name in names:
            if not (name.startswith("gemini-") and name.endswith(".json")):
                continue
            try:
                pid = int(name[len("gemini-") : -len(".json")])
            except ValueError:
                continue
            if pid in found.pids or pid == found.pid:
                continue
            proc = ctx.snap.procs.get(pid)
            entry = ctx.state.get("gemini", pid) if proc is not None else None
            if entry and proc is not None and same_start(entry.get("start_time"), proc.start):
                other = entry.get("session_id")
                if isinstance(other, str):
                    out.add(other)
        return out

    # -- conversation or not -----------------------------------------------------
    def resumable(self, ctx: Context, found: Found, session_id: str) -> Optional[bool]:
        """False when every chat file of `session_id` in the cwd's project holds
        no exchange Gemini would resume; None when none is found."""
        if not found.cwd:
            return None
        seen = False
        for folder in self.project_dirs(self.gemini_dir(ctx, found), found.cwd):
            chats = os.path.join(folder, "chats")
            try:
                names = os.listdir(chats)
            except OSError:
                continue
            for name in names:
                if not (name.startswith("session-") and name.endswith((".jsonl", ".json"))):
                    continue
                if not name.rsplit(".", 1)[0].endswith("-" + session_id[:8]):
                    continue
                raw = _files.read_file(os.path.join(chats, name), log=ctx.log, follow=False)
                if raw is None:
                    continue
                verdict = has_exchange(raw, session_id)
                if verdict is None:
                    continue  # another session's file, or unreadable
                if verdict:
                    return True
                seen = True
        return False if seen else None

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option in ("--resume", "-r", "--session-id") and UUID.match(tok.value or ""):
                return tok.value
        return None  # `--resume latest` / an index: the chats strategy resolves it

    # -- chats ---------------------------------------------------------------
    def gemini_dir(self, ctx: Context, found: Found) -> str:
        env = _files.proc_env(ctx, found)
        return os.path.join(_files.env_path(env, "GEMINI_CLI_HOME") or ctx.home, ".gemini")

    def project_dirs(self, gemini_dir: str, cwd: str) -> list[str]:
        """The project temp folders Gemini may use for this cwd."""
        import hashlib
        import json

        tmp = os.path.join(gemini_dir, "tmp")
        out: list[str] = []
        try:
            raw = _files.read_file(os.path.join(gemini_dir, "projects.json"), limit=1 << 20)
            projects = json.loads(raw).get("projects", {}) if raw is not None else {}
            short = projects.get(cwd) if isinstance(projects, dict) else None
            if isinstance(short, str) and short and "/" not in short:
                out.append(os.path.join(tmp, short))
        except (OSError, ValueError, AttributeError):
            pass
        out.append(os.path.join(tmp, hashlib.sha256(cwd.encode()).hexdigest()))
        if len(out) == 1:  # no registry entry: look for the folder naming this root
            try:
                names = os.listdir(tmp)
            except OSError:
                names = []
            for name in names:
                raw = _files.read_file(os.path.join(tmp, name, ".project_root"), limit=4096)
                if raw is not None and raw.decode("utf-8", "replace").strip() == cwd:
                    out.append(os.path.join(tmp, name))
        return out

    def id_from_chats(self, ctx: Context, found: Found) -> Optional[str]:
        if not found.cwd:
            return None
        files: list[tuple[float, str]] = []
        for folder in self.project_dirs(self.gemini_dir(ctx, found), found.cwd):
            files.extend(
                _files.recent_files(os.path.join(folder, "chats"), (".jsonl", ".json"), found.start)
            )
        files.sort(reverse=True)
        for _, path in files:
            if not os.path.basename(path).startswith("session-"):
                continue
            head = _files.first_json_line(path, log=ctx.log)
            if head is None and path.endswith(".json"):
                head = self._whole_json(path)
            if not head or head.get("kind") == "subagent":
                continue
            sid = head.get("sessionId")
            if isinstance(sid, str) and _files.unclaimed(ctx, found, sid):
                return sid
        return None

    @staticmethod
    def _whole_json(path: str) -> Optional[dict]:
        import json

        raw = _files.read_file(path, follow=False)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        return data if isinstance(data, dict) else None
