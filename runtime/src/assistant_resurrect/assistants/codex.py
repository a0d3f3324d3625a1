"""Codex CLI (`codex`): node launcher `codex.js` spawning a native `codex`."""

from __future__ import annotations

import re
from typing import Optional

from assistant_resurrect.assistants.base import Assistant, Context, Found, Strategy, Token, scan

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
# Subcommands that are interactive sessions; every other subcommand is a helper
# (app-server daemons, exec, login, mcp, ...).
SESSION_SUBCOMMANDS = frozenset({"resume"})
KNOWN_SUBCOMMANDS = frozenset(
    {
        "exec",
        "e",
        "review",
        "login",
        "logout",
        "mcp",
        "mcp-server",
        "app-server",
        "app",
        "completion",
        "sandbox",
        "debug",
        "apply",
        "a",
        "resume",
        "fork",
        "cloud",
        "features",
        "proto",
        "responses-api-proxy",
        "stdio-to-uds",
        "help",
    }
)


class Codex(Assistant):
    name = "codex"
    executables = ("codex",)
    script_markers = ("@openai/codex/bin/codex",)
    session_id_re = UUID
    value_options = frozenset(
        {
            "--config",
            "-c",
            "--image",
            "-i",
            "--model",
            "-m",
            "--profile",
            "-p",
            "--sandbox",
            "-s",
            "--ask-for-approval",
            "-a",
            "--cd",
            "-C",
            "--add-dir",
            "--local-provider",
            "--enable",
            "--disable",
        }
    )

    def _split(self, args: list[str]) -> tuple[list[Token], Optional[int]]:
        """Scanned tokens and the index of the subcommand token (None: none)."""
        toks = scan(args, self.value_options)
        for i, tok in enumerate(toks):
            if tok.option is None:
                return toks, (i if tok.raw[0] in KNOWN_SUBCOMMANDS else None)
        return toks, None

    def is_session(self, args: list[str]) -> bool:
        toks, sub = self._split(args)
        return sub is None or toks[sub].raw[0] in SESSION_SUBCOMMANDS

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [("args", self.id_from_args)]

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        toks, sub = self._split(found.launch.args)
        if sub is None or toks[sub].raw[0] != "resume":
            return None
        for tok in toks[sub + 1 :]:
            if tok.option is None:
                return tok.raw[0]
        return None

    def cli_args(self, args: list[str]) -> list[str]:
        """Options kept in order; the `resume` subcommand, its session ID or
        --last, and a first prompt are dropped."""
        toks, sub = self._split(args)
        kept: list[str] = []
        for i, tok in enumerate(toks):
            if sub is not None and i >= sub:
                if i == sub or tok.option is None or tok.option in ("--last", "--all"):
                    continue
            elif tok.option is None:
                continue  # first prompt
            kept.extend(tok.raw)
        return kept

    def resume_argv(self, program: str, cli_args: list[str], session_id: str) -> list[str]:
        return [program, *cli_args, "resume", session_id]
