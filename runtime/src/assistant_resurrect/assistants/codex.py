"""Codex CLI (`codex`): node launcher `codex.js` spawning a native `codex`.

Session ID strategies, first answer wins:
1. `args`: `resume <id>`;
2. `threads-db`: the `threads` table of the newest `state_<N>.sqlite`: the
   thread of this cwd created or updated since the process started (for
   `resume --last` without a new message: the newest thread of this cwd);
3. `rollouts`: `sessions/YYYY/MM/DD/rollout-*.jsonl` written since the
   process started whose `session_meta` names this cwd;
4. `session-tags`: `session-tags.jsonl` lines `{"pid": ..., "session": ...}`
   (written by some setups; Codex 0.169 itself does not).
The `codex app-server` daemons are helpers, never sessions (`is_session`).

Code-loading options (0.169.0 --help; policy in base.py): `-c/--config`
(any config.toml value: MCP servers, notify commands, hooks), `--enable` and
`--disable` (the same, for features), `-p/--profile` (layers
`$CODEX_HOME/<name>.config.toml`), `--remote` (the app server the TUI
drives, which runs the commands) and `--dangerously-bypass-hook-trust`. None
names a file, so only legacy entries are affected (they drop them).
"""

from __future__ import annotations

import os
import re
import time

from assistant_resurrect.assistants import _files
from assistant_resurrect.assistants.base import (
    UUID,
    Assistant,
    Context,
    Found,
    Strategy,
    Token,
    scan,
)

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Optional

THREAD_COLUMNS = ("id", "cwd", "created_at", "updated_at", "archived")
STATE_DB = re.compile(r"state_(\d+)\.sqlite\Z")
# Subcommands that are interactive sessions; every other subcommand is a helper
# (app-server daemons, exec, login, mcp, ...).
# `fork` starts a new session from an old one: saved with the new thread's ID
# (threads-db) and restored with `resume`.
SESSION_SUBCOMMANDS = frozenset({"resume", "fork"})
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
        # added by 0.169.0 (codex --help)
        "agents",
        "plugin",
        "remote-control",
        "update",
        "doctor",
        "queue",
        "archive",
        "delete",
        "unarchive",
        "migrate-rollouts",
        "migrate-nfs-db",
        "exec-server",
    }
)


class Codex(Assistant):
    name = "codex"
    executables = ("codex",)
    script_markers = ("@openai/codex/bin/codex",)
    session_id_re = UUID
    resume_form = ("resume",)
    display_name = "Codex CLI"
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
            "--remote",
            "--remote-auth-token-env",
        }
    )
    code_options = (
        "-c",
        "--config",
        "--enable",
        "--disable",
        "-p",
        "--profile",
        "--remote",
        "--dangerously-bypass-hook-trust",
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
        return [
            ("args", self.id_from_args),
            ("threads-db", self.id_from_threads),
            ("rollouts", self.id_from_rollouts),
            ("session-tags", self.id_from_session_tags),
        ]

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        toks, sub = self._split(found.launch.args)
        if sub is None or toks[sub].raw[0] != "resume":
            return None
        for tok in toks[sub + 1 :]:
            if tok.option is None:
                return tok.raw[0]
        return None

    # -- where Codex keeps things ---------------------------------------------
    def codex_home(self, ctx: Context, found: Found) -> str:
        env = _files.proc_env(ctx, found)
        return _files.env_path(env, "CODEX_HOME") or os.path.join(ctx.home, ".codex")

    def session_cwd(self, found: Found) -> Optional[str]:
        """The directory Codex works in: `-C/--cd DIR` (relative to the process
        cwd) when given, else the process cwd."""
        if not found.cwd:
            return None
        toks, _ = self._split(found.launch.args)
        for tok in toks:
            if tok.option in ("-C", "--cd") and tok.value:
                return os.path.normpath(os.path.join(found.cwd, os.path.expanduser(tok.value)))
        return found.cwd

    def resume_flags(self, found: Found) -> set[str]:
        toks, sub = self._split(found.launch.args)
        if sub is None or toks[sub].raw[0] != "resume":
            return set()
        return {t.option for t in toks[sub + 1 :] if t.option}

    def state_db(self, ctx: Context, found: Found) -> Optional[str]:
        """The newest `state_<N>.sqlite` ($CODEX_SQLITE_HOME, else the Codex home)."""
        env = _files.proc_env(ctx, found)
        folder = _files.env_path(env, "CODEX_SQLITE_HOME") or self.codex_home(ctx, found)
        best: Optional[tuple[int, str]] = None
        try:
            names = os.listdir(folder)
        except OSError:
            return None
        for name in names:
            m = STATE_DB.match(name)
            if m and (best is None or int(m.group(1)) > best[0]):
                best = (int(m.group(1)), os.path.join(folder, name))
        return best[1] if best else None

    # -- strategies ----------------------------------------------------------
    def id_from_threads(self, ctx: Context, found: Found) -> Optional[str]:
        cwd = self.session_cwd(found)
        path = self.state_db(ctx, found)
        if cwd is None or path is None:
            return None
        flags = self.resume_flags(found)
        from assistant_resurrect.assistants import _sqlite

        def run(conn: Any, cols: set[str]) -> Optional[str]:
            ms = "created_at_ms" in cols and "updated_at_ms" in cols
            created = "COALESCE(created_at_ms, created_at * 1000)" if ms else "created_at * 1000"
            updated = "COALESCE(updated_at_ms, updated_at * 1000)" if ms else "updated_at * 1000"
            where = ["archived = 0"]
            params: list[Any] = []
            if "--all" not in flags:
                where.append("cwd = ?")
                params.append(cwd)
            if "thread_source" in cols:
                where.append("COALESCE(thread_source, '') != 'subagent'")
            rows = conn.execute(
                f"SELECT id, {created}, {updated} FROM threads WHERE {' AND '.join(where)} "
                f"ORDER BY {updated} DESC LIMIT 50",
                params,
            ).fetchall()
            since = (found.start - _files.MTIME_SLACK) * 1000
            recent = [r for r in rows if max(r[1] or 0, r[2] or 0) >= since]
            # Threads this process created (first the earliest after its start),
            # then threads it may have resumed (most recently updated first).
            made = sorted((r for r in recent if (r[1] or 0) >= since), key=lambda r: r[1])
            resumed = [r for r in recent if (r[1] or 0) < since]
            for sid, _, _ in made + resumed:
                if _files.unclaimed(ctx, found, sid):
                    return str(sid)
            if "--last" in flags:  # resumed the newest thread, no new message yet
                for sid, c_ms, _ in rows:
                    if (c_ms or 0) < since and _files.unclaimed(ctx, found, sid):
                        return str(sid)
            return None

        result: Optional[str] = _sqlite.read(
            path, "threads", THREAD_COLUMNS, run, ctx.log, f"codex pid {found.pid}"
        )
        return result

    def rollout_dirs(self, root: str, since: float) -> list[str]:
        """Day folders sessions/YYYY/MM/DD from the day before `since` to today."""
        out = []
        day = since - 86400
        end = time.time() + 86400
        seen = set()
        while day <= end:
            for t in (time.localtime(day), time.gmtime(day)):
                folder = os.path.join(
                    root, f"{t.tm_year:04d}", f"{t.tm_mon:02d}", f"{t.tm_mday:02d}"
                )
                if folder not in seen:
                    seen.add(folder)
                    out.append(folder)
            day += 86400
        return out

    def id_from_rollouts(self, ctx: Context, found: Found) -> Optional[str]:
        cwd = self.session_cwd(found)
        if cwd is None:
            return None
        root = os.path.join(self.codex_home(ctx, found), "sessions")
        if not os.path.isdir(root):
            return None
        files: list[tuple[float, str]] = []
        for folder in self.rollout_dirs(root, found.start):
            files.extend(_files.recent_files(folder, (".jsonl",), found.start))
        files.sort(reverse=True)
        for _, path in files:
            if not os.path.basename(path).startswith("rollout-"):
                continue
            meta = _files.first_json_line(path, log=ctx.log)
            payload = meta.get("payload") if meta and meta.get("type") == "session_meta" else None
            if not isinstance(payload, dict) or payload.get("cwd") != cwd:
                continue
            source = payload.get("source")
            if source is not None and not isinstance(source, str):
                continue  # sub-agent threads carry a structured source
            sid = payload.get("id") or payload.get("session_id")
            if isinstance(sid, str) and _files.unclaimed(ctx, found, sid):
                return sid
        return None

    def id_from_session_tags(self, ctx: Context, found: Found) -> Optional[str]:
        path = os.path.join(self.codex_home(ctx, found), "session-tags.jsonl")
        raw = _files.read_file(path, log=ctx.log, label=f"codex pid {found.pid}")
        if raw is None:
            return None
        lines = raw.splitlines()
        import json

        pids = set(found.pids) or {found.pid}
        for line in reversed(lines):
            try:
                tag = json.loads(line)
            except ValueError:
                continue
            if not isinstance(tag, dict) or tag.get("pid") not in pids:
                continue
            stamp = tag.get("ts", tag.get("timestamp"))
            if isinstance(stamp, (int, float)) and stamp < found.start - _files.MTIME_SLACK:
                continue  # written by an earlier process that had the same PID
            sid = tag.get("session") or tag.get("session_id")
            if isinstance(sid, str):
                return sid
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
