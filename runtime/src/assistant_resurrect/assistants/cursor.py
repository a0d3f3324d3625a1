"""Cursor Agent CLI (`cursor-agent`, also installed as `agent`; not on npm:
Cursor's installer unpacks it under `~/.local/share/cursor-agent/versions/
<version>/` and links `~/.local/bin/cursor-agent` and `~/.local/bin/agent` to
the launcher there).

Checked against Cursor's documentation (cursor.com/docs/cli: parameters,
output format, configuration, authentication, hooks) and the `--help` text
of 2026.08.31-4057e58 as others recorded it; no binary was run here (not on
any registry this machine reaches). docs/assistants.md says which parts are
documented and which inferred.

Process tree: the launcher is a bash script that ends with
`exec -a "$0" "$SCRIPT_DIR/node" --use-system-ca "$SCRIPT_DIR/index.js" "$@"`
(without `--use-system-ca` when the bundled node lacks it): one process, comm
`node`, whose argv[0] is the path the user ran (`/home/u/.local/bin/agent`),
then the node option and the script, then the user's arguments. `agent` is
far too generic a name: it counts only with that node prefix (or under the
install tree); `cursor-agent` counts as such. Restore types the saved
program (`agent` or `cursor-agent`, as run) with the user's arguments only.

Chats (inferred from the store format others documented and the bundled
source): one SQLite database (WAL) per chat,
`<config>/chats/<md5 of the workspace path>/<chat id>/store.db`, where
<config> is `$CURSOR_CONFIG_DIR`, else `$XDG_CONFIG_HOME/cursor` (Linux, when
set), else `~/.cursor`, and the workspace is `--workspace` or the cwd. Table
`meta(key, value)`: row `'0'` holds hex-encoded JSON `{"agentId", "name",
"mode", "createdAt" (ms), "latestRootBlobId", "lastUsedModel"}`; `blobs(id,
data)` the conversation. `agent ls` lists only chats with a
`latestRootBlobId`: one without has no conversation (a fresh start, or
`create-chat`), saved as a fresh start (`resumable`). The CLI writes no
per-process record of its own.

Session ID strategies, in evidence order:
0. `state-file`: `cursor-agent-<pid>.json` written by our hooks in
   `~/.cursor/hooks.json` (hooks.py `cursor-session-start` on `sessionStart`,
   `cursor-prompt` on `beforeSubmitPrompt`; both payloads carry
   `conversation_id`, the chat ID), checked against the process start time
   (documented hook format; not run against the real CLI);
1. `open-store` (Linux): the chat store.db this process holds open (its
   `/proc/<pid>/fd`), the most recently written when several;
2. `args`: `--resume <uuid>` / `--resume=<uuid>` (`--resume` alone is the
   picker), `resume <uuid>`;
3. `store`: the newest chat of the workspace written since the process
   started that no other pane saved; a chat belongs to the live Cursor Agent
   of the workspace that started last before its `createdAt`: one that
   belongs to another is taken only when no other is left;
4. `continue`: `--continue` or `resume` with nothing written since the start:
   the workspace's most recently written chat with a conversation, unless
   another pane saved it;
5. `no-chat`: a plain start (no chat named or continued) and no chat of the
   workspace written since it started: nothing to resume (NO_CONVERSATION).

Resume (`--help`: `--resume [chatId]  Select a session to resume`):
`agent [args] --resume <chat id>`. Not replayed: `--resume`, `--continue`,
`-n/--name`, the prompt, subcommands (`resume`, `ls`, `agent`), and
credentials (`--api-key`, `--auth-token`, `--session-token`, `-H/--header`:
they would be written into the sidecar; CURSOR_API_KEY in the environment is
the way to keep one).

Code-loading options (policy in base.py): `--plugin-dir` (a plugin folder),
`--approve-mcps` (starts every configured MCP server without asking),
`--trust` (trusts the workspace: its hooks and MCP servers load).
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
    Launch,
    Strategy,
    scan,
)

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Optional

# Where Cursor's installer puts each version (`…/cursor-agent/versions/<v>/`).
INSTALL_TREE = "/cursor-agent/versions/"
STORE = "store.db"
# `/proc/<pid>/fd` links to a chat store: `…/chats/<32 hex>/<uuid>/store.db[-wal]`.
OPEN_STORE = re.compile(
    r"/chats/[0-9a-f]{32}/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12})/store\.db(?:-wal)?\Z"
)
MAX_FDS = 4096
META_ROWS = 64
COMMS = frozenset({"node", "cursor-agent", "agent"})

# Subcommands that are helpers or one-shot runs, not interactive chats
# (`--help` of 2026.08.31; `acp`, `persist`, `worker` from later releases'
# documentation). `ls` (pick a chat), `resume` (the latest) and `agent` are
# chats.
NOT_SESSIONS = frozenset(
    {
        "install-shell-integration",
        "uninstall-shell-integration",
        "login",
        "logout",
        "mcp",
        "status",
        "whoami",
        "models",
        "about",
        "update",
        "upgrade",
        "create-chat",
        "generate-rule",
        "rule",
        "help",
        "acp",
        "persist",
        "worker",
    }
)
NOT_SESSION_OPTIONS = frozenset(
    {"-p", "--print", "-v", "--version", "-h", "--help", "--list-models"}
)
# Options with a value (`--resume [chatId]` and `-w/--worktree [name]` take
# an optional one: as commander, the next word when it is not an option).
VALUE_OPTIONS = frozenset(
    {
        "--api-key",
        "--auth-token",
        "--session-token",
        "-H",
        "--header",
        "--output-format",
        "--mode",
        "--model",
        "--sandbox",
        "--workspace",
        "-w",
        "--worktree",
        "--worktree-base",
        "--plugin-dir",
        "--add-dir",
        "-e",
        "--endpoint",
    }
)
CREDENTIAL_OPTIONS = frozenset({"--api-key", "--auth-token", "--session-token", "-H", "--header"})


def node_prefix(args: list[str]) -> int:
    """How many leading `args` are the launcher's `node [--use-system-ca]
    <…>/index.js` (kept in argv by `exec -a`), not the user's: 0, 1 or 2."""
    if len(args) >= 2 and args[0] == "--use-system-ca" and _script(args[1]):
        return 2
    if args and _script(args[0]) and "cursor" in args[0].lower():
        return 1
    return 0


def _script(arg: str) -> bool:
    return os.path.isabs(arg) and arg.endswith("/index.js")


def user_args(args: list[str]) -> list[str]:
    return args[node_prefix(args) :]


def hex_json(text: str) -> Any:
    """A `meta` value: hex-encoded JSON (plain JSON tolerated); None if neither."""
    import json

    raw: Any = text
    try:
        raw = bytes.fromhex(text).decode("utf-8")
    except ValueError:  # UnicodeDecodeError too
        raw = text
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def decode_meta(rows: list[tuple[Any, Any]]) -> dict[str, Any]:
    """The chat's metadata: row '0' (a JSON object), or one row per key."""
    out: dict[str, Any] = {}
    for key, value in rows:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        parsed = hex_json(value)
        if key == "0":
            if isinstance(parsed, dict):
                out.update(parsed)
        else:
            out.setdefault(key, value if parsed is None else parsed)
    return out


def has_conversation(meta: dict[str, Any]) -> bool:
    root = meta.get("latestRootBlobId")
    return isinstance(root, str) and bool(root.strip())


def created_at(meta: dict[str, Any]) -> Optional[float]:
    """`createdAt` in epoch seconds (the store writes milliseconds)."""
    value = meta.get("createdAt")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return float(value) if value < 1e11 else value / 1000.0


def workspace_hash(path: str) -> str:
    import hashlib

    return hashlib.md5(path.encode("utf-8", "surrogateescape")).hexdigest()


class CursorAgent(Assistant):
    name = "cursor-agent"
    display_name = "Cursor Agent CLI"
    checked_version = "2026.08.31-4057e58"
    real_cli_test = False
    executables = ("cursor-agent", "agent")
    script_markers = (INSTALL_TREE,)
    session_id_re = UUID
    model_options = ("--model",)
    value_options = VALUE_OPTIONS
    session_options = frozenset({"--resume", "-n", "--name"})
    session_flags = frozenset({"--continue"})
    credential_options = CREDENTIAL_OPTIONS
    not_session_options = NOT_SESSION_OPTIONS
    not_session_subcommands = NOT_SESSIONS
    keep_positionals = False  # the prompt, or a subcommand word (resume, ls, agent)
    resume_form = ("--resume",)
    evidence = frozenset({"state-file", "open-store"})
    agent_hooks = ("cursor-session-start", "cursor-prompt")
    code_options = ("--plugin-dir", "--approve-mcps", "--trust")
    code_path_options = ("--plugin-dir",)

    # -- detection ---------------------------------------------------------
    def match(self, launch: Launch) -> bool:
        """`cursor-agent` anyway; `agent` only as Cursor's launcher left it
        (`agent --use-system-ca <…>/index.js …`) or under its install tree."""
        if launch.name == "cursor-agent" or INSTALL_TREE in launch.program:
            return True
        return launch.name == "agent" and launch.direct and node_prefix(launch.args) > 0

    def is_session(self, args: list[str]) -> bool:
        return super().is_session(user_args(args))

    def cli_args(self, args: list[str]) -> list[str]:
        kept: list[str] = []
        for tok in scan(user_args(args), self.value_options | self.session_options):
            if tok.option in self.session_options or tok.option in self.session_flags:
                continue
            if tok.option in self.credential_options:
                continue
            if tok.option is None:
                continue  # the prompt, or a subcommand word
            kept.extend(tok.raw)
        return kept

    def model(self, args: list[str]) -> Optional[str]:
        return super().model(user_args(args))

    def strategies(self) -> list[tuple[str, Strategy]]:
        return [
            ("state-file", self.id_from_state_file),
            ("open-store", self.id_from_open_store),
            ("args", self.id_from_args),
            ("store", self.id_from_store),
            ("continue", self.id_from_continue),
            ("no-chat", self.no_chat),
        ]

    def id_from_state_file(self, ctx: Context, found: Found) -> Optional[str]:
        """The chat our hooks last recorded for this process."""
        entry = self.state_entry(ctx, found)
        sid = entry.get("session_id") if entry else None
        return sid if self.valid_session_id(sid) else None

    # -- arguments -----------------------------------------------------------
    def _tokens(self, found: Found) -> list[Any]:
        return scan(user_args(found.launch.args), self.value_options | self.session_options)

    def _subcommand(self, found: Found) -> tuple[Optional[str], Optional[str]]:
        """(the first positional, the one after it)."""
        words = [tok.raw[0] for tok in self._tokens(found) if tok.option is None]
        return (words[0] if words else None, words[1] if len(words) > 1 else None)

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        """`--resume <id>` (not `--resume` alone: the picker), or `resume <uuid>`."""
        for tok in self._tokens(found):
            if tok.option == "--resume" and tok.value:
                return str(tok.value)
        first, second = self._subcommand(found)
        if first == "resume" and second and UUID.match(second):
            return second
        return None

    def _continues(self, found: Found) -> bool:
        """`--continue` or `resume` (the latest chat) without a chat named."""
        if any(tok.option == "--continue" for tok in self._tokens(found)):
            return True
        return self._subcommand(found)[0] == "resume"

    def _picks(self, found: Found) -> bool:
        """The command line opens an existing chat (named, latest or picked)."""
        if any(tok.option in ("--resume", "--continue") for tok in self._tokens(found)):
            return True
        return self._subcommand(found)[0] in ("resume", "ls")

    # -- where -------------------------------------------------------------------
    def config_dirs(self, ctx: Context, found: Found) -> list[str]:
        env = _files.proc_env(ctx, found)
        explicit = _files.env_path(env, "CURSOR_CONFIG_DIR")
        if explicit:
            return [explicit]
        out = []
        xdg = _files.env_path(env, "XDG_CONFIG_HOME")
        if xdg:
            out.append(os.path.join(xdg, "cursor"))
        out.append(os.path.join(ctx.home, ".cursor"))
        return out

    def workspace_of(self, cwd: Optional[str], args: list[str]) -> Optional[str]:
        """The workspace folder: `--workspace` (relative to the cwd), else the
        cwd; None when `--workspace` names a saved workspace, not a folder."""
        if not cwd:
            return None
        for tok in scan(user_args(args), self.value_options | self.session_options):
            if tok.option == "--workspace" and tok.value:
                path = os.path.normpath(os.path.join(cwd, os.path.expanduser(tok.value)))
                return path if os.path.isdir(path) else None
        return cwd

    def chat_dirs(self, ctx: Context, found: Found) -> list[str]:
        """`<config>/chats/<md5 of the workspace>` for each config dir; the git
        work tree's root's too when the workspace is below it (inferred)."""
        ws = self.workspace_of(found.cwd, found.launch.args)
        if ws is None:
            return []
        folders = [ws]
        top = _git_top(ws)
        if top is not None and top != ws:
            folders.append(top)
        return [
            os.path.join(config, "chats", workspace_hash(folder))
            for config in self.config_dirs(ctx, found)
            for folder in folders
        ]

    def chats(self, ctx: Context, found: Found) -> list[tuple[float, str, str]]:
        """(last written, chat ID, store path) of the workspace's chats, newest
        first (the WAL counts: a young store keeps everything there)."""
        out: dict[str, tuple[float, str, str]] = {}
        for folder in self.chat_dirs(ctx, found):
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if not UUID.match(entry.name) or entry.name in out:
                    continue
                try:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                except OSError:
                    continue
                store = os.path.join(entry.path, STORE)
                written = _written(store)
                if written is not None:
                    out[entry.name] = (written, entry.name, store)
        return sorted(out.values(), reverse=True)

    def meta(self, ctx: Context, found: Found, store: str) -> Optional[dict[str, Any]]:
        from assistant_resurrect.assistants import _sqlite

        def run(conn: Any, cols: set[str]) -> dict[str, Any]:
            rows = conn.execute(f"SELECT key, value FROM meta LIMIT {META_ROWS}").fetchall()
            return decode_meta(rows)

        result: Optional[dict[str, Any]] = _sqlite.read(
            store, "meta", ("key", "value"), run, ctx.log, f"cursor-agent pid {found.pid}"
        )
        return result

    # -- open-store --------------------------------------------------------------
    def id_from_open_store(self, ctx: Context, found: Found) -> Optional[str]:
        """The chat whose store.db this process holds open (Linux /proc)."""
        roots = {
            os.path.join(path, "chats") + "/"
            for c in self.config_dirs(ctx, found)
            for path in (c, os.path.realpath(c))
        }
        held: dict[str, str] = {}
        for pid in found.pids or [found.pid]:
            fd_dir = f"/proc/{pid}/fd"
            try:
                fds = os.listdir(fd_dir)
            except OSError:
                continue
            for fd in fds[:MAX_FDS]:
                try:
                    target = os.readlink(os.path.join(fd_dir, fd))
                except OSError:
                    continue
                m = OPEN_STORE.search(target)
                if m is None or not any(target.startswith(root) for root in roots):
                    continue
                held.setdefault(m.group(1), target.split("/store.db")[0] + "/" + STORE)
        if not held:
            return None
        if len(held) == 1:
            return next(iter(held))
        since = found.start - _files.MTIME_SLACK
        newest = sorted(((_written(path) or 0.0, sid) for sid, path in held.items()), reverse=True)
        written, sid = newest[0]
        if written < since:
            ctx.log(f"cursor-agent pid {found.pid}: holds {len(held)} chats, none written since")
            return None
        return sid

    # -- store ---------------------------------------------------------------------
    def id_from_store(self, ctx: Context, found: Found) -> Optional[str]:
        since = found.start - _files.MTIME_SLACK
        starts: Optional[list[float]] = None
        theirs: list[str] = []
        for written, sid, store in self.chats(ctx, found):
            if written < since:
                break
            if not _files.unclaimed(ctx, found, sid):
                continue
            created = created_at(self.meta(ctx, found, store) or {})
            if created is not None:
                if starts is None:
                    starts = self.other_starts(ctx, found)
                # The chat was created by the live Cursor Agent that started
                # last before it: another one's, unless that is this one.
                creator = max((s for s in [found.start, *starts] if s <= created), default=None)
                if creator is not None and creator != found.start:
                    theirs.append(sid)
                    continue
            return sid
        return theirs[0] if theirs else None

    def id_from_continue(self, ctx: Context, found: Found) -> Optional[str]:
        """`--continue` / `resume` before a message: the chat it reopened."""
        if not self._continues(found):
            return None
        for _written_at, sid, store in self.chats(ctx, found):
            meta = self.meta(ctx, found, store)
            if meta is None or not has_conversation(meta):
                continue
            return sid if _files.unclaimed(ctx, found, sid) else None
        return None

    def no_chat(self, ctx: Context, found: Found) -> Optional[str]:
        """NO_CONVERSATION: a plain start, and no chat of the workspace written
        since (the config dir must exist: the CLI writes cli-config.json there)."""
        if self._picks(found) or not found.cwd:
            return None
        if not any(os.path.isdir(c) for c in self.config_dirs(ctx, found)):
            return None
        if not self.chat_dirs(ctx, found):
            return None
        since = found.start - _files.MTIME_SLACK
        if any(written >= since for written, _, _ in self.chats(ctx, found)):
            return None
        return NO_CONVERSATION

    def other_starts(self, ctx: Context, found: Found) -> list[float]:
        """Start times of the other live Cursor Agent chats of the workspace."""
        ws = self.workspace_of(found.cwd, found.launch.args)
        return _files.other_sessions(
            ctx,
            found,
            self,
            COMMS,
            lambda pid, launch: self.workspace_of(ctx.snap.cwd(pid), launch.args) == ws,
        )

    # -- conversation or not -----------------------------------------------------
    def resumable(self, ctx: Context, found: Found, session_id: str) -> Optional[bool]:
        """False for a chat without a `latestRootBlobId` (nothing said yet: `agent
        ls` does not list it); None when its store is not found or unreadable."""
        for folder in self.chat_dirs(ctx, found):
            store = os.path.join(folder, session_id, STORE)
            if not os.path.lexists(store):
                continue
            meta = self.meta(ctx, found, store)
            if meta is None:
                return None
            agent_id = meta.get("agentId")
            if isinstance(agent_id, str) and agent_id and agent_id != session_id:
                return None  # not the chat the folder names: cannot tell
            return has_conversation(meta)
        return None


def _written(store: str) -> Optional[float]:
    """The newest mtime of a regular `store.db` and its non-empty `-wal`; None
    if no store. (An empty `-wal` holds no write: opening a WAL database, even
    read-only as the strategies do, creates one.)"""
    import stat

    try:
        st = os.lstat(store)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    newest = st.st_mtime
    try:
        wal = os.lstat(store + "-wal")
    except OSError:
        return newest
    if stat.S_ISREG(wal.st_mode) and wal.st_size > 0:
        newest = max(newest, wal.st_mtime)
    return newest


def _git_top(path: str) -> Optional[str]:
    """The closest folder from `path` up holding `.git`, if any."""
    probe = path
    while True:
        if os.path.lexists(os.path.join(probe, ".git")):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return None
        probe = parent
