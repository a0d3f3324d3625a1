"""Claude Code (`claude`): native executable, or cli.js under node for old builds."""

from __future__ import annotations

import re
from typing import Optional

from assistant_resurrect.assistants.base import Assistant, Context, Found, Strategy
from assistant_resurrect.procs import same_start

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


class Claude(Assistant):
    name = "claude"
    executables = ("claude",)
    script_markers = ("@anthropic-ai/claude-code/cli",)
    session_id_re = UUID
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
            "--tools",
        }
    )
    session_options = frozenset({"--resume", "-r", "--session-id"})
    session_flags = frozenset({"--continue", "-c", "--fork-session"})
    keep_positionals = False

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [("state-file", self.id_from_state_file), ("args", self.id_from_args)]

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

    def state_model(self, ctx: Context, found: Found) -> Optional[str]:
        entry = self.state_entry(ctx, found)
        model = entry.get("model") if entry else None
        if isinstance(model, dict):
            model = model.get("id") or model.get("display_name")
        return model if isinstance(model, str) and model else None

    def resume_argv(self, program: str, cli_args: list[str], session_id: str) -> list[str]:
        return [program, *cli_args, "--resume", session_id]
