"""OpenCode (`opencode`): native executable; a project directory may follow."""

from __future__ import annotations

import re
from typing import Optional

from assistant_resurrect.assistants.base import Assistant, Context, Found, Strategy, scan
from assistant_resurrect.procs import same_start

# Subcommands that are not interactive sessions (helpers, one-shot runs, servers).
NOT_SESSIONS = frozenset(
    {
        "run",
        "serve",
        "web",
        "acp",
        "mcp",
        "auth",
        "agent",
        "models",
        "upgrade",
        "uninstall",
        "stats",
        "export",
        "import",
        "github",
        "pr",
        "debug",
        "completion",
        "session",
    }
)


class OpenCode(Assistant):
    name = "opencode"
    executables = ("opencode",)
    script_markers = ("opencode-ai/bin/opencode",)
    session_id_re = re.compile(r"ses_[A-Za-z0-9]{8,64}\Z")
    value_options = frozenset(
        {"--model", "-m", "--agent", "--port", "--hostname", "--log-level", "--prompt"}
    )
    session_options = frozenset({"--session", "-s", "--prompt"})
    session_flags = frozenset({"--continue", "-c"})
    keep_positionals = True  # `opencode [project]`

    def is_session(self, args: list[str]) -> bool:
        for tok in scan(args, self.value_options | self.session_options):
            if tok.option is None:
                return tok.raw[0] not in NOT_SESSIONS
        return True

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [("args", self.id_from_args), ("plugin-state", self.id_from_plugin)]

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option in ("--session", "-s") and tok.value:
                return tok.value
        return None

    def id_from_plugin(self, ctx: Context, found: Found) -> Optional[str]:
        for pid in found.pids:
            entry = ctx.state.get("opencode", pid)
            if entry is None:
                continue
            proc = ctx.snap.procs.get(pid)
            started = entry.get("start_time")
            if started is not None and proc is not None and not same_start(started, proc.start):
                continue
            ts = entry.get("timestamp_epoch")
            if isinstance(ts, (int, float)) and proc is not None and ts + 1 < proc.start:
                ctx.log(f"opencode pid {pid}: plugin state predates the process; ignored")
                continue
            return entry.get("session_id")
        return None

    def resume_argv(self, program: str, cli_args: list[str], session_id: str) -> list[str]:
        return [program, *cli_args, "-s", session_id]
