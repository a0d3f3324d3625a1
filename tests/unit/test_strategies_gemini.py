"""Gemini CLI: one test per session-ID strategy (args, chats), helpers that
are not sessions, kept arguments and the resume form."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant_resurrect import assistants
from tests.unit.strategy_helpers import Proc, make_proc

G_ARGS = "7607a433-a71d-4cb7-ace3-bad103be0317"
G_NEW = "1dec7dbd-8a0f-467b-ab81-68f9e04ef4a6"
G_OLD = "13ff9751-0000-4000-8000-000000000000"
G_SUB = "5ab5ab5a-0000-4000-8000-000000000000"
GEMINI = ["node", "/usr/lib/node_modules/.bin/gemini"]


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    yield from make_proc(tmp_path, monkeypatch)


def chat(p: Proc, project: str, sid: str, kind: str = "main", before_start: bool = False) -> None:
    head = {
        "sessionId": sid,
        "projectHash": "h",
        "startTime": "2026-11-25T17:24:22.473Z",
        "lastUpdated": "2026-11-25T17:24:22.473Z",
        "kind": kind,
    }
    p.write(
        f".gemini/tmp/{project}/chats/session-2026-11-25T17-24-{sid[:8]}.jsonl",
        json.dumps(head) + '\n{"$set":{"messages":[]}}\n',
        before_start,
    )


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
