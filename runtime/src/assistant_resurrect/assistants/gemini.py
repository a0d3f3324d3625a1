"""Gemini CLI (`gemini`, npm package @google/gemini-cli): a node script that
re-launches itself as a child node process with a larger heap.

Sessions (0.61.0): `~/.gemini/tmp/<project>/chats/session-<time>-<id8>.jsonl`,
first line `{"sessionId", "projectHash", "startTime", "lastUpdated", "kind"}`;
`<project>` is the short name `~/.gemini/projects.json` gives the cwd (older
releases used the SHA-256 of the cwd). The file is written at start-up and
appended to (also when resumed). Resume: `gemini --resume <uuid>` (also
`latest` or an index). A session with no exchange is not resumable and its
file is deleted on exit.

Session ID strategies, first answer wins:
1. `args`: `--resume/-r <uuid>` or `--session-id <uuid>`;
2. `chats`: the newest main (not sub-agent) session file of the cwd's project
   written since the process started.

Code-loading options (0.61.0 --help; policy in base.py): `--policy` and
`--admin-policy` (policy files or folders, comma-separated or several: they
decide which tools run unasked), `-e/--extensions` (which extensions load) and
`--skip-trust` (trusts the workspace, whose settings can define hooks and MCP
servers). yargs also takes the camelCase spellings.
"""

from __future__ import annotations

import os

from assistant_resurrect.assistants import _files
from assistant_resurrect.assistants.base import UUID, Assistant, Context, Found, Strategy, scan

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

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
        return [("args", self.id_from_args), ("chats", self.id_from_chats)]

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
