"""Cursor Agent CLI: which processes are Cursor's (`agent` is a generic name),
helpers that are not chats, kept arguments and the resume form of the
documented `--help`, one test per session-ID strategy (open-store, args,
store, continue, no-chat) in evidence order, two panes in one workspace, an
empty chat saved as a fresh start, hostile stores.

No Cursor Agent CLI was run: the chat stores are built here in the format
documented for it (fixtures/cursor/README.md): `<config>/chats/<md5 of the
workspace>/<chat id>/store.db`, SQLite in WAL mode, tables `blobs(id, data)`
and `meta(key, value)` whose row '0' is hex-encoded JSON."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

from assistant_resurrect import assistants, procs
from assistant_resurrect.assistants.base import FRESH, Context, Found, parse_launch
from assistant_resurrect.assistants.cursor import CursorAgent, decode_meta
from tests.unit.strategy_helpers import Proc, make_proc

FIXTURES = Path(__file__).parent / "fixtures" / "cursor"
C_ARGS = "6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
C_NEW = "0b6e8f0c-1d2e-4f3a-8b4c-5d6e7f8a9b0c"
C_OTHER = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
C_OLD = "11111111-2222-4333-8444-555555555555"
C_EMPTY = "22222222-3333-4444-8555-666666666666"
VERSION_DIR = "/home/u/.local/share/cursor-agent/versions/2026.08.31-4057e58"
# argv of the node process the launcher's `exec -a "$0" node --use-system-ca index.js "$@"` leaves
AGENT = ["/home/u/.local/bin/agent", "--use-system-ca", f"{VERSION_DIR}/index.js"]
LEGACY = ["/home/u/.local/bin/cursor-agent"]


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    for name in ("CURSOR_CONFIG_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    yield from make_proc(tmp_path, monkeypatch)


def cursor() -> CursorAgent:
    tool = assistants.by_name("cursor-agent")
    assert isinstance(tool, CursorAgent)
    return tool


def chats_dir(config: Path, workspace: Path) -> Path:
    return config / "chats" / hashlib.md5(str(workspace).encode()).hexdigest()


def make_store(
    folder: Path,
    chat: str,
    created: float,
    conversation: bool = True,
    workspace: str = "/w",
    written: Optional[float] = None,
) -> Path:
    """A chat's store.db as documented: a message blob, the protobuf root blob
    listing it (field 1: its SHA-256, field 9: the workspace URI) and the
    hex-encoded meta row (no root blob id while nothing was said)."""
    store = folder / chat / "store.db"
    store.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(store)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE blobs (id TEXT PRIMARY KEY, data BLOB)")
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        root_id = ""
        if conversation:
            message = json.dumps({"role": "user", "content": "<user_query>hi</user_query>"})
            digest = hashlib.sha256(message.encode()).digest()
            conn.execute("INSERT INTO blobs VALUES (?, ?)", (digest.hex(), message.encode()))
            uri = f"file://{workspace}".encode()
            root = b"\x0a\x20" + digest + b"\x4a" + bytes([len(uri)]) + uri
            root_id = hashlib.sha256(root).hexdigest()
            conn.execute("INSERT INTO blobs VALUES (?, ?)", (root_id, root))
        meta = (FIXTURES / "meta.json").read_text()
        meta = meta.replace("@CHAT@", chat).replace("@ROOT@", root_id)
        meta = meta.replace("@CREATED@", str(int(created * 1000)))
        if not conversation:
            doc = json.loads(meta)
            del doc["latestRootBlobId"]
            meta = json.dumps(doc)
        conn.execute("INSERT INTO meta VALUES ('0', ?)", (meta.encode().hex(),))
        conn.commit()
    finally:
        conn.close()
    if written is not None:
        for path in (store, Path(str(store) + "-wal")):
            if path.exists():
                os.utime(path, (written, written))
    return store


def default_chats(p: Proc) -> Path:
    return chats_dir(p.home / ".cursor", p.cwd)


# -- detection and the process tree ----------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        AGENT,
        [*AGENT, "--model", "sonnet-4", "--resume", C_ARGS],
        ["/home/u/.local/bin/agent", f"{VERSION_DIR}/index.js", "--force"],  # no --use-system-ca
        ["/opt/cursor/agent", "--use-system-ca", "/opt/cursor/dist-package/index.js", "--trust"],
        ["cursor-agent"],
        [*LEGACY, "--resume", C_ARGS],
        ["/home/u/.local/bin/cursor-agent", "--use-system-ca", f"{VERSION_DIR}/index.js"],
        ["bash", "/home/u/.local/bin/cursor-agent", "--model", "auto"],  # the launcher itself
        ["node", "--use-system-ca", f"{VERSION_DIR}/index.js", "--plan"],
    ],
)
def test_cursor_agent_is_detected(argv: list[str]) -> None:
    m = assistants.match(argv)
    assert m is not None and m[0].name == "cursor-agent"


@pytest.mark.parametrize(
    "argv",
    [
        ["agent"],  # a generic name: no sign of Cursor's launcher
        ["/usr/local/bin/agent", "--model", "auto"],
        ["agent", "--use-system-ca", "index.js"],  # not the launcher's absolute script
        ["agent", "/srv/app/index.js"],  # a script outside Cursor's tree
        ["bash", "/usr/local/bin/agent", "--model", "auto"],
        ["node", "/home/u/src/cursor-agent/index.js"],  # a project named like it
        ["vim", "/tmp/cursor-agent"],
        ["cursor", "."],  # Cursor's editor
        ["ssh-agent", "-s"],
        ["puppet", "agent", "--test"],
    ],
)
def test_others_are_not_cursor_agent(argv: list[str]) -> None:
    m = assistants.match(argv)
    assert m is None or m[0].name != "cursor-agent"


def test_documented_help_lists_what_the_module_relies_on() -> None:
    """The fixture is the documented `--help` of the checked version: the resume
    form, the value options the scanner needs and the helper subcommands."""
    text = (FIXTURES / "help-options.txt").read_text()
    tool = cursor()
    assert tool.checked_version == "2026.08.31-4057e58" and tool.real_cli_test is False
    assert "--resume [chatId]" in text and tool.resume_form == ("--resume",)
    for option in ("--api-key", "-H, --header", "--output-format", "--mode", "--model"):
        assert option in text
    for option in ("--sandbox", "--workspace"):
        assert option in text and option in tool.value_options
    for word in ("login", "logout", "mcp", "status|whoami", "update", "create-chat", "models"):
        assert f"  {word} " in text
        assert word.split("|")[0] in tool.not_session_subcommands


# -- helpers and one-shot runs ---------------------------------------------------------


@pytest.mark.parametrize(
    "args, is_session",
    [
        ([], True),
        (["fix the tests"], True),
        (["--model", "sonnet-4", "--force"], True),
        (["--resume", C_ARGS], True),
        (["--resume"], True),  # the picker
        (["--continue"], True),
        (["resume"], True),  # the latest chat
        (["ls"], True),  # pick a chat, then chat in it
        (["agent", "hello"], True),
        (["--mode", "ls"], True),  # `ls` is --mode's value here
        (["-p", "hello"], False),
        (["--print", "--output-format", "json", "hello"], False),
        (["--force", "-p"], False),
        (["ls", "-p"], True),  # first positional decides; -p after a subcommand
        (["login"], False),
        (["logout"], False),
        (["status"], False),
        (["whoami"], False),
        (["mcp", "list"], False),
        (["update"], False),
        (["upgrade"], False),
        (["create-chat"], False),
        (["models"], False),
        (["about"], False),
        (["generate-rule"], False),
        (["install-shell-integration"], False),
        (["acp"], False),
        (["help"], False),
        (["--version"], False),
        (["-v"], False),
        (["--help"], False),
        (["--list-models"], False),
        # the launcher's node prefix is not the user's: `login` is still the subcommand
        (["--use-system-ca", f"{VERSION_DIR}/index.js", "login"], False),
        ([f"{VERSION_DIR}/index.js", "status"], False),
        (["--use-system-ca", f"{VERSION_DIR}/index.js"], True),
    ],
)
def test_helpers_are_not_sessions(args: list[str], is_session: bool) -> None:
    assert cursor().is_session(args) is is_session


def test_helpers_are_not_detected_as_sessions() -> None:
    launch = parse_launch([*AGENT, "-p", "hello"])
    assert launch is not None and cursor().match(launch)
    assert not cursor().is_session(launch.args)


def test_kept_args_model_credentials_and_resume_form() -> None:
    tool = cursor()
    args = [
        *AGENT[1:],
        "--mode",
        "plan",
        "--resume",
        C_ARGS,
        "--model",
        "sonnet-4",
        "--api-key",
        "key_secret",
        "-H",
        "Authorization: Bearer x",
        "--sandbox",
        "enabled",
        "--continue",
        "-n",
        "my chat",
        "--force",
        "explain this",
    ]
    kept = tool.cli_args(args)
    # no node prefix, session options, credentials or prompt
    assert kept == ["--mode", "plan", "--model", "sonnet-4", "--sandbox", "enabled", "--force"]
    assert tool.model(args) == "sonnet-4"
    assert tool.cli_args(["resume", "--trust"]) == ["--trust"]  # the subcommand word goes
    assert tool.cli_args(["--api-key=key_secret", "--plan"]) == ["--plan"]
    # `--help`: --resume [chatId]  Select a session to resume
    assert tool.resume_argv("/home/u/.local/bin/agent", kept, C_NEW) == [
        "/home/u/.local/bin/agent",
        *kept,
        "--resume",
        C_NEW,
    ]
    assert tool.fresh_argv("cursor-agent", kept) == ["cursor-agent", *kept]
    assert tool.valid_program("/home/u/.local/bin/agent") and tool.valid_program("cursor-agent")
    assert not tool.valid_program("cursor")  # the editor
    assert tool.valid_session_id(C_NEW) and not tool.valid_session_id("fix the bug")


def test_code_loading_options() -> None:
    tool = cursor()
    args = ["--plugin-dir", "/srv/p", "--approve-mcps", "--trust", "--force"]
    assert tool.code_paths(args) == [("--plugin-dir", "/srv/p")]
    assert tool.without_code_options(args) == (
        ["--force"],
        ["--plugin-dir", "--approve-mcps", "--trust"],
    )


# -- args ------------------------------------------------------------------------------


def test_args(proc: Proc) -> None:
    assert proc.find("cursor-agent", [*AGENT, "--resume", C_ARGS]) == (C_ARGS, "args")
    assert proc.find("cursor-agent", [*LEGACY, f"--resume={C_ARGS}"]) == (C_ARGS, "args")
    assert proc.find("cursor-agent", [*AGENT, "resume", C_ARGS]) == (C_ARGS, "args")
    assert proc.find("cursor-agent", [*AGENT, "--resume"]) == (None, None)  # the picker
    assert proc.find("cursor-agent", [*AGENT, "--resume", "--force"]) == (None, None)
    # commander takes a prompt after a bare --resume as the chat ID: not an ID
    assert proc.find("cursor-agent", [*AGENT, "--resume", "fix it"]) == (None, None)
    assert any("invalid session ID 'fix it'" in line for line in proc.log_lines)


def test_args_before_the_store(proc: Proc) -> None:
    make_store(default_chats(proc), C_NEW, proc.start + 1)
    assert proc.find("cursor-agent", [*AGENT, "--resume", C_ARGS]) == (C_ARGS, "args")


# -- store -----------------------------------------------------------------------------


def test_store_newest_chat_written_since_the_start(proc: Proc) -> None:
    folder = default_chats(proc)
    make_store(folder, C_OLD, proc.start - 600, written=proc.start - 300)  # before the start
    make_store(folder, C_OTHER, proc.start + 0.5, written=time.time() + 1)
    make_store(folder, C_NEW, proc.start + 0.5, written=time.time() + 5)
    (folder / "not-a-chat").mkdir()
    assert proc.find("cursor-agent", AGENT) == (C_NEW, "store")
    assert proc.find("cursor-agent", AGENT, claimed={C_NEW: 1}) == (C_OTHER, "store")
    assert proc.find("cursor-agent", AGENT, claimed={C_NEW: 1, C_OTHER: 2}) == (None, None)


def test_store_of_the_workspace_option_and_config_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--workspace` (relative to the cwd) names the hashed folder;
    CURSOR_CONFIG_DIR, else $XDG_CONFIG_HOME/cursor, holds the chats."""
    config = tmp_path / "cfg"
    for p in make_proc(tmp_path, monkeypatch, extra_env={"CURSOR_CONFIG_DIR": str(config)}):
        other = p.cwd.parent / "other"
        other.mkdir()
        make_store(chats_dir(config, other), C_OTHER, p.start + 0.5)
        make_store(chats_dir(p.home / ".cursor", other), C_OLD, p.start + 0.5)
        assert p.find("cursor-agent", [*AGENT, "--workspace", "../other"]) == (C_OTHER, "store")
        assert p.find("cursor-agent", AGENT) == (None, FRESH)  # the cwd's folder is empty
        # a saved workspace name, not a folder: the hash is unknown
        assert p.find("cursor-agent", [*AGENT, "--workspace", "saved-name"]) == (None, None)
    for p in make_proc(
        tmp_path / "x", monkeypatch, extra_env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    ):
        make_store(chats_dir(tmp_path / "xdg" / "cursor", p.cwd), C_NEW, p.start + 0.5)
        assert p.find("cursor-agent", AGENT) == (C_NEW, "store")


def test_store_of_the_git_work_tree_root(proc: Proc) -> None:
    """Inferred: a chat hashed by the repository root of a cwd below it."""
    (proc.cwd.parent / ".git").mkdir()
    make_store(chats_dir(proc.home / ".cursor", proc.cwd.parent), C_NEW, proc.start + 0.5)
    assert proc.find("cursor-agent", AGENT) == (C_NEW, "store")


# -- two panes in one workspace --------------------------------------------------------


def spawn_agent(bin_dir: Path, cwd: Path, home: Path) -> tuple[subprocess.Popen[bytes], Found]:
    """A live stand-in named cursor-agent (a copy of sleep) working in `cwd`."""
    program = bin_dir / "cursor-agent"
    if not program.exists():
        bin_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(shutil.which("sleep") or "/bin/sleep", program)
    child = subprocess.Popen(
        [str(program), "300"], cwd=cwd, env={"PATH": os.environ["PATH"], "HOME": str(home)}
    )
    deadline = time.monotonic() + 5
    p = procs.read_proc(child.pid)
    while p is None and time.monotonic() < deadline:
        time.sleep(0.01)
        p = procs.read_proc(child.pid)
    assert p is not None and procs.snapshot().cwd(child.pid) == str(cwd)
    launch = parse_launch([str(program), "300"])
    assert launch is not None
    return child, Found(pid=child.pid, launch=launch, start=p.start, cwd=str(cwd), pids=[child.pid])


@pytest.mark.parametrize("b_first", [True, False])
def test_two_panes_in_one_workspace_get_their_own_chats(
    proc: Proc, tmp_path: Path, b_first: bool
) -> None:
    """Pane A's Cursor started, created chat A, then pane B's started and
    created chat B; both chatted since. Chat A was written last, so "the newest
    since the start" alone would give it to B: each chat goes to the process
    that started last before it was created, and never to two panes."""
    a_child, a = spawn_agent(tmp_path / "bin", proc.cwd, proc.home)
    try:
        time.sleep(0.3)
        b_child, b = spawn_agent(tmp_path / "bin", proc.cwd, proc.home)
        try:
            assert b.start > a.start
            folder = default_chats(proc)
            make_store(folder, C_NEW, b.start + 0.1, written=time.time() + 2)  # B's
            make_store(folder, C_OTHER, (a.start + b.start) / 2, written=time.time() + 5)  # A's
            tool = cursor()
            ctx = Context(snap=procs.snapshot(), log=proc.log_lines.append, home=str(proc.home))
            order = [b, a] if b_first else [a, b]
            got = {}
            for found in order:
                sid, source = tool.find_session_id(ctx, found)
                assert sid is not None and source == "store"
                ctx.claimed[sid] = found.pid
                got[found.pid] = sid
            assert got == {a.pid: C_OTHER, b.pid: C_NEW}
        finally:
            b_child.kill()
            b_child.wait()
    finally:
        a_child.kill()
        a_child.wait()


def test_a_chat_of_another_pane_is_taken_only_when_no_other_is_left(
    proc: Proc, tmp_path: Path
) -> None:
    b_child, b = spawn_agent(tmp_path / "bin", proc.cwd, proc.home)
    try:
        folder = default_chats(proc)
        make_store(folder, C_NEW, b.start + 0.1)  # created after B started: B's
        found = proc.found(AGENT)
        ctx = proc.ctx()
        assert cursor().find_session_id(ctx, found) == (C_NEW, "store")
        make_store(folder, C_OTHER, proc.start + 0.01, written=time.time() - 0.01)
        assert cursor().find_session_id(proc.ctx(), found) == (C_OTHER, "store")
    finally:
        b_child.kill()
        b_child.wait()


# -- an empty chat is a fresh start ----------------------------------------------------


def test_empty_chat_is_saved_as_a_fresh_start(proc: Proc) -> None:
    make_store(default_chats(proc), C_EMPTY, proc.start + 0.5, conversation=False)
    assert proc.find("cursor-agent", AGENT) == (None, FRESH)
    assert any(f"{C_EMPTY} (from store) has no conversation yet" in x for x in proc.log_lines)
    # a chat `create-chat` made, resumed by ID, but nothing said yet
    assert proc.find("cursor-agent", [*AGENT, "--resume", C_EMPTY]) == (None, FRESH)
    make_store(default_chats(proc), C_ARGS, proc.start - 600, written=proc.start - 300)
    assert proc.find("cursor-agent", [*AGENT, "--resume", C_ARGS]) == (C_ARGS, "args")


def test_no_chat_written_since_a_plain_start_is_a_fresh_start(proc: Proc) -> None:
    assert proc.find("cursor-agent", AGENT) == (None, None)  # no config dir: unknown
    (proc.home / ".cursor").mkdir()
    assert proc.find("cursor-agent", AGENT) == (None, FRESH)
    assert any("no-chat shows a session with no conversation" in x for x in proc.log_lines)
    make_store(default_chats(proc), C_OLD, proc.start - 600, written=proc.start - 300)
    assert proc.find("cursor-agent", [*AGENT, "fix the tests"]) == (None, FRESH)
    # a chat picked or continued, with nothing said since: not a fresh start
    assert proc.find("cursor-agent", [*AGENT, "ls"]) == (None, None)
    assert proc.find("cursor-agent", [*AGENT, "--resume"]) == (None, None)


# -- continue --------------------------------------------------------------------------


def test_continue_the_latest_chat_before_a_message(proc: Proc) -> None:
    folder = default_chats(proc)
    make_store(folder, C_OLD, proc.start - 900, written=proc.start - 600)
    make_store(folder, C_OTHER, proc.start - 800, written=proc.start - 300)
    make_store(folder, C_EMPTY, proc.start - 700, conversation=False, written=proc.start - 200)
    assert proc.find("cursor-agent", [*AGENT, "--continue"]) == (C_OTHER, "continue")
    assert proc.find("cursor-agent", [*AGENT, "resume"]) == (C_OTHER, "continue")
    # the latest is another pane's: not this one's either
    assert proc.find("cursor-agent", [*AGENT, "resume"], claimed={C_OTHER: 1}) == (None, None)
    assert proc.find("cursor-agent", AGENT) == (None, FRESH)  # a plain start continues nothing


# -- open-store (the process's own open file) ------------------------------------------


def test_open_store_outranks_the_command_line(proc: Proc, tmp_path: Path) -> None:
    """The store.db this process holds open names its chat: over `--resume`
    of a chat it switched away from, over newer chats of the workspace, and
    taken over from a pane whose command line merely names it."""
    if not os.path.isdir(f"/proc/{os.getpid()}/fd"):
        pytest.skip("no /proc")
    folder = default_chats(proc)
    held = make_store(folder, C_NEW, proc.start - 600, written=proc.start - 300)
    make_store(folder, C_OTHER, proc.start + 0.5, written=time.time() + 5)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; f = open(sys.argv[1], 'rb'); print(flush=True); time.sleep(300)",
            str(held),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"\n"
        p = procs.read_proc(holder.pid)
        assert p is not None
        launch = parse_launch([*AGENT, "--resume", C_ARGS])
        assert launch is not None
        found = Found(
            pid=holder.pid,
            launch=launch,
            start=p.start,
            cwd=str(proc.cwd),
            pids=[holder.pid],
        )
        ctx = proc.ctx(claimed={C_NEW: 4242})
        ctx.from_args.add(C_NEW)
        assert cursor().find_session_id(ctx, found) == (C_NEW, "open-store")
        # a store outside Cursor's chats folders is not a chat of this process
        other = Context(snap=procs.snapshot(), log=proc.log_lines.append, home=str(tmp_path))
        assert cursor().id_from_open_store(other, found) is None
    finally:
        holder.kill()
        holder.wait()


# -- hostile stores --------------------------------------------------------------------


def test_hostile_and_malformed_stores(proc: Proc) -> None:
    folder = default_chats(proc)
    fifo = folder / C_NEW / "store.db"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)  # never opened: it would block the save
    (folder / C_OTHER).mkdir()
    (folder / C_OTHER / "store.db").symlink_to("/etc/passwd")  # not a regular file
    junk = folder / C_ARGS / "store.db"
    junk.parent.mkdir()
    junk.write_bytes(b"not a database")
    assert proc.find("cursor-agent", AGENT) == (C_ARGS, "store")  # unreadable: kept as is
    assert any("cannot read" in line or "not a database" in line for line in proc.log_lines)


def test_meta_decoding() -> None:
    doc = {"agentId": C_NEW, "latestRootBlobId": "ab" * 32, "createdAt": 1781256145540}
    assert decode_meta([("0", json.dumps(doc).encode().hex())]) == doc
    assert decode_meta([("0", json.dumps(doc))]) == doc  # plain JSON tolerated
    assert decode_meta([("0", "zz-not-hex"), (1, "x")]) == {}
    assert decode_meta([("name", json.dumps("Chat").encode().hex()), ("mode", "default")]) == {
        "name": "Chat",
        "mode": "default",
    }
