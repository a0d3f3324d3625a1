"""Gemini CLI: one test per session-ID strategy (hook-state, args, chats) in
evidence order, sessions without a conversation saved as fresh starts,
helpers that are not sessions, kept arguments and the resume form."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant_resurrect import assistants, procs
from assistant_resurrect.assistants.base import FRESH
from tests.unit.strategy_helpers import Proc, make_proc

G_ARGS = "7607a433-a71d-4cb7-ace3-bad103be0317"
G_NEW = "1dec7dbd-8a0f-467b-ab81-68f9e04ef4a6"
G_OLD = "13ff9751-0000-4000-8000-000000000000"
G_SUB = "5ab5ab5a-0000-4000-8000-000000000000"
GEMINI = ["node", "/usr/lib/node_modules/.bin/gemini"]


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    yield from make_proc(tmp_path, monkeypatch)


EXCHANGE = [
    {
        "id": "m1",
        "timestamp": "2026-11-25T17:24:30.000Z",
        "type": "user",
        "content": [{"text": "hi"}],
    },
    {"id": "m2", "timestamp": "2026-11-25T17:24:31.000Z", "type": "gemini", "content": "hello"},
]
CONTEXT_ONLY = [
    {"id": "c1", "type": "user", "content": [{"text": "<session_context>\nThis is the Gemini CLI"}]}
]


def chat(
    p: Proc,
    project: str,
    sid: str,
    kind: str = "main",
    before_start: bool = False,
    exchange: bool = True,
    updated: str = "2026-11-25T17:24:22.473Z",
) -> Path:
    """A 0.61.0 chat file: the header, the `$set` of its first messages (only
    the session context when `exchange` is off, as after /clear), then the
    exchange as appended records."""
    head = {
        "sessionId": sid,
        "projectHash": "h",
        "startTime": "2026-11-25T17:24:22.473Z",
        "lastUpdated": updated,
        "kind": kind,
    }
    lines = [head, {"$set": {"messages": CONTEXT_ONLY, "lastUpdated": updated}}]
    if exchange:
        lines += [EXCHANGE[0], {"$set": {"lastUpdated": updated}}, EXCHANGE[1]]
    return p.write(
        f".gemini/tmp/{project}/chats/session-2026-11-25T17-24-{sid[:8]}.jsonl",
        "".join(json.dumps(line) + "\n" for line in lines),
        before_start,
    )


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


def hook_state(p: Proc, sid: str, at: float, pid: int = 0, start: float = 0.0) -> None:
    """The record our SessionStart hook writes (gemini_hooks.py)."""
    pid = pid or p.pid
    p.state.mkdir(mode=0o700, exist_ok=True)
    path = p.state / f"gemini-{pid}.json"
    path.write_text(
        json.dumps(
            {
                "tool": "gemini",
                "pid": pid,
                "start_time": start or p.start,
                "session_id": sid,
                "source": "startup",
                "timestamp_epoch": at,
            }
        )
    )
    path.chmod(0o600)


def register(p: Proc, short: str) -> None:
    p.write(".gemini/projects.json", json.dumps({"projects": {str(p.cwd): short}}))


def test_args_resume_uuid_or_session_id(proc: Proc) -> None:
    register(proc, "proj")
    chat(proc, "proj", G_NEW)
    assert proc.find("gemini", [*GEMINI, "-m", "x", "--resume", G_ARGS]) == (G_ARGS, "args")
    assert proc.find("gemini", [*GEMINI, "--session-id", G_ARGS]) == (G_ARGS, "args")


def test_chats_of_the_registered_project(proc: Proc) -> None:
    register(proc, "proj")
    chat(proc, "proj", G_OLD, before_start=True)
    chat(proc, "proj", G_SUB, kind="subagent")
    chat(proc, "other", G_ARGS)
    chat(proc, "proj", G_NEW)
    assert proc.find("gemini", [*GEMINI]) == (G_NEW, "chats")
    # `--resume latest` names no ID: the chat file it appended to does
    assert proc.find("gemini", [*GEMINI, "--resume", "latest"]) == (G_NEW, "chats")


def test_chats_of_a_hashed_project_folder(proc: Proc) -> None:
    chat(proc, hashlib.sha256(str(proc.cwd).encode()).hexdigest(), G_NEW)
    assert proc.find("gemini", [*GEMINI]) == (G_NEW, "chats")


def test_chats_of_a_folder_naming_its_root(proc: Proc) -> None:
    proc.write(".gemini/tmp/proj-1/.project_root", str(proc.cwd))
    chat(proc, "proj-1", G_NEW)
    assert proc.find("gemini", [*GEMINI]) == (G_NEW, "chats")


@pytest.mark.parametrize(
    ("args", "session"),
    [
        ([], True),
        (["-m", "gemini-2.5-flash", "--resume", "latest"], True),
        (["explain", "this"], True),
        (["mcp", "list"], False),
        (["extensions", "list"], False),
        (["-p", "hi"], False),
        (["--list-sessions"], False),
        (["--acp"], False),
    ],
)
def test_helpers_are_not_sessions(args: list[str], session: bool) -> None:
    gemini = assistants.by_name("gemini")
    assert gemini is not None
    found = assistants.match([*GEMINI, *args])
    assert found is not None and found[0] is gemini
    assert gemini.is_session(found[1].args) is session


def test_kept_args_and_resume_form() -> None:
    gemini = assistants.by_name("gemini")
    assert gemini is not None
    kept = gemini.cli_args(
        ["-m", "gemini-2.5-flash", "--resume", "latest", "-y", "-i", "first prompt", "a prompt"]
    )
    assert kept == ["-m", "gemini-2.5-flash", "-y"]
    assert gemini.model(["-m", "gemini-2.5-flash"]) == "gemini-2.5-flash"
    assert gemini.resume_argv("gemini", kept, G_NEW) == ["gemini", *kept, "--resume", G_NEW]


# -- evidence order (issue 15) -------------------------------------------------


def test_hook_state_outranks_the_launch_arguments(proc: Proc) -> None:
    """`gemini --resume G3`, `/clear`, a message G4: the hook's record of G4 wins."""
    register(proc, "proj")
    chat(proc, "proj", G_ARGS)
    chat(proc, "proj", G_NEW)
    hook_state(proc, G_NEW, time.time())
    assert proc.find("gemini", [*GEMINI, "--resume", G_ARGS]) == (G_NEW, "hook-state")


def test_hook_state_of_a_reused_pid_is_ignored(proc: Proc) -> None:
    register(proc, "proj")
    chat(proc, "proj", G_ARGS)
    hook_state(proc, G_NEW, time.time(), start=proc.start - 500)
    assert proc.find("gemini", [*GEMINI, "--resume", G_ARGS]) == (G_ARGS, "args")
    assert any("earlier process" in line for line in proc.log_lines)


def test_cleared_without_a_message_is_a_fresh_start(proc: Proc) -> None:
    """`/clear` and no message: the new session's file holds only the session
    context, which `gemini --resume` calls invalid; saved as a fresh start."""
    register(proc, "proj")
    chat(proc, "proj", G_ARGS)
    chat(proc, "proj", G_NEW, exchange=False)
    hook_state(proc, G_NEW, time.time())
    assert proc.find("gemini", [*GEMINI, "--resume", G_ARGS]) == (None, FRESH)


def test_a_new_gemini_without_a_message_is_a_fresh_start(proc: Proc) -> None:
    register(proc, "proj")
    chat(proc, "proj", G_NEW, exchange=False)
    assert proc.find("gemini", [*GEMINI]) == (None, FRESH)


def test_a_shorter_message_list_while_reopening_keeps_the_conversation(proc: Proc) -> None:
    """While Gemini reopens a session it may write a `$set` of a message list
    without the exchange before the whole list: a save in between still finds
    the conversation (CI saw `--resume latest` saved as a fresh start)."""
    register(proc, "proj")
    path = chat(proc, "proj", G_NEW)
    with path.open("a") as fh:
        fh.write(json.dumps({"$set": {"sessionId": G_NEW}}) + "\n")
        fh.write(json.dumps({"$set": {"messages": CONTEXT_ONLY}}) + "\n")
    assert proc.find("gemini", [*GEMINI, "--resume", "latest"]) == (G_NEW, "chats")


def test_a_rewound_conversation_is_not_resumable(proc: Proc) -> None:
    register(proc, "proj")
    path = chat(proc, "proj", G_NEW)
    with path.open("a") as fh:
        fh.write(json.dumps({"$rewindTo": "m1"}) + "\n")
    assert proc.find("gemini", [*GEMINI]) == (None, FRESH)


def test_session_browser_reopen_after_the_hook(proc: Proc) -> None:
    """`/resume` from the session browser fires no hook: the chat file Gemini
    reopened (a `lastUpdated` after the hook's record) names the session."""
    register(proc, "proj")
    at = time.time() - 5
    chat(proc, "proj", G_NEW, updated=iso(at - 1))
    chat(proc, "proj", G_OLD, updated=iso(at + 2))
    hook_state(proc, G_NEW, at)
    assert proc.find("gemini", [*GEMINI]) == (G_OLD, "hook-state")


def test_summary_written_into_an_older_file_is_not_a_reopen(proc: Proc) -> None:
    """At start-up Gemini appends a summary to the previous session's file,
    leaving its `lastUpdated` as it was: not a switch."""
    register(proc, "proj")
    at = time.time() - 5
    chat(proc, "proj", G_NEW, updated=iso(at))
    old = chat(proc, "proj", G_OLD, updated=iso(at - 300))
    with old.open("a") as fh:
        fh.write(
            json.dumps({"$set": {"summary": "a summary", "memoryScratchpad": {"v": 1}}}) + "\n"
        )
    hook_state(proc, G_NEW, at)
    assert proc.find("gemini", [*GEMINI]) == (G_NEW, "hook-state")


def test_a_session_another_gemini_records_is_not_a_reopen(proc: Proc) -> None:
    """Two Geminis in one folder: the other one's messages are its own session."""
    register(proc, "proj")
    at = time.time() - 5
    chat(proc, "proj", G_NEW, updated=iso(at))
    chat(proc, "proj", G_OLD, updated=iso(at + 2))
    hook_state(proc, G_NEW, at)
    me = procs.read_proc(os.getpid())
    assert me is not None
    hook_state(proc, G_OLD, at, pid=me.pid, start=me.start)
    assert proc.find("gemini", [*GEMINI]) == (G_NEW, "hook-state")
    # ... and one another pane already saved
    (proc.state / f"gemini-{me.pid}.json").unlink()
    assert proc.find("gemini", [*GEMINI], claimed={G_OLD: 1}) == (G_NEW, "hook-state")


def test_the_hooks_are_registered() -> None:
    gemini = assistants.by_name("gemini")
    assert gemini is not None
    assert gemini.agent_hooks == ("gemini-session-start", "gemini-session-end")


def test_watch_files_are_the_project_input_logs(tmp_path: Path) -> None:
    """A message fires no hook: each project's logs.json (Gemini appends every
    user input to it) is what the event saver polls, newest first."""
    gemini = assistants.by_name("gemini")
    assert gemini is not None
    assert gemini.watch_files(str(tmp_path)) == []
    for i, name in enumerate(("a", "b")):
        log = tmp_path / ".gemini" / "tmp" / name / "logs.json"
        log.parent.mkdir(parents=True)
        log.write_text("[]")
        os.utime(log, (1000 + i, 1000 + i))
    (tmp_path / ".gemini" / "tmp" / "c").mkdir()  # a project with no input yet
    tmp = tmp_path / ".gemini" / "tmp"
    assert gemini.watch_files(str(tmp_path)) == [
        str(tmp / "b" / "logs.json"),
        str(tmp / "a" / "logs.json"),
    ]
