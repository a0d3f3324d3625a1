"""Claude Code (`claude`): native executable, or cli.js under node for old builds.

Session ID strategies, first answer wins:
1. `state-file`: `claude-<pid>.json` written by our SessionStart hook (it
   follows /clear, /resume and --continue, which all fire SessionStart with
   the concrete ID), checked against the process start time;
2. `args`: `--resume/-r <id>` or `--session-id <id>`;
3. `transcript`: the one transcript `~/.claude/projects/<escaped cwd>/<id>.jsonl`
   written since the process started (none or several: no answer).

Code-loading options (2.1.197 --help; policy in base.py): `--settings`
(a file or inline JSON: hooks, apiKeyHelper), `--mcp-config` (files or
inline JSON, several: MCP servers are commands), `--plugin-dir` (a folder or
.zip), `--plugin-url` (a plugin fetched from a URL), `--agents` (inline JSON).
"""

from __future__ import annotations

import os

from assistant_resurrect.assistants import _files
from assistant_resurrect.assistants.base import UUID, Assistant, Context, Found, Strategy
from assistant_resurrect.procs import same_start

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


class Claude(Assistant):
    name = "claude"
    executables = ("claude",)
    script_markers = ("@anthropic-ai/claude-code/cli",)
    session_id_re = UUID
    not_session_options = ONE_SHOT
    display_name = "Claude Code"
    agent_hooks = ("claude-session-start", "claude-session-end")
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
            ("args", self.id_from_args),
            ("transcript", self.id_from_transcript),
        ]

    def state_entry(self, ctx: Context, found: Found) -> Optional[dict]:
        """The SessionStart state file of this Claude (its own PID, or a same-tool
        descendant when started through a wrapper), if its start time matches."""
        for pid in found.pids:
            entry = ctx.state.get("claude", pid)
            if entry is None:
                continue
            proc = ctx.snap.procs.get(pid)
            if proc is None or not same_start(entry.get("start_time"), proc.start):
                ctx.log(f"claude pid {pid}: state file is from an earlier process; ignored")
                continue
            return entry
        return None

    def id_from_state_file(self, ctx: Context, found: Found) -> Optional[str]:
        entry = self.state_entry(ctx, found)
        return entry.get("session_id") if entry else None

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        value = super().id_from_args(ctx, found)
        return value if value and not value.startswith("-") else None

    def projects_root(self, ctx: Context, found: Found) -> str:
        config = _files.env_path(_files.proc_env(ctx, found), "CLAUDE_CONFIG_DIR")
        return os.path.join(config or os.path.join(ctx.home, ".claude"), "projects")

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
