"""Claude Code: an ID with no conversation yet is saved as a fresh start.

Seen with 2.1.197: a Claude opened with no message has a session ID (hook,
registry) but no transcript; one that exits without a message leaves a
transcript of `mode` lines only. `claude --resume <id>` answers "No
conversation found" for both, so `resumable` says False and the pane is saved
as a fresh start (id_source `fresh`, no session ID). Wherever it cannot be
sure, the ID is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant_resurrect.assistants.base import FRESH
from assistant_resurrect.assistants.claude import project_dir_name
from tests.unit.strategy_helpers import Proc, make_proc
from tests.unit.test_strategies_claude import U1, U2, U3, registry

FRESH_START = (None, FRESH)
# What 2.1.197 writes when a session exits before its first message.
MODE_ONLY = (
    '{"type":"mode","mode":"normal","sessionId":"%s"}\n'
    '{"type":"permission-mode","permissionMode":"default","sessionId":"%s"}\n'
)
USER_LINE = (
    '{"parentUuid":null,"isSidechain":false,"type":"user",'
    '"message":{"role":"user","content":"hello"},"sessionId":"%s"}\n'
)


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    yield from make_proc(tmp_path, monkeypatch)


def transcript(p: Proc, sid: str, text: str) -> Path:
    return p.write(f".claude/projects/{project_dir_name(str(p.cwd))}/{sid}.jsonl", text)


def hook(p: Proc, sid: str, source: str = "startup", **extra: Any) -> None:
    p.state_file(
        "claude",
        {
            "tool": "claude",
            "pid": p.pid,
            "session_id": sid,
            "start_time": p.start,
            "source": source,
            **extra,
        },
    )


def test_opened_with_no_message_is_a_fresh_start(proc: Proc) -> None:
    registry(proc, U1)
    assert proc.find("claude", ["claude", "--model", "opus"]) == FRESH_START
    assert any("no conversation yet" in line for line in proc.log_lines)
    hook(proc, U1)  # the same with our hook's state file answering
    assert proc.find("claude", ["claude"]) == FRESH_START


def test_a_transcript_of_mode_lines_only_is_no_conversation(proc: Proc) -> None:
    registry(proc, U1)
    transcript(proc, U1, MODE_ONLY % (U1, U1))
    assert proc.find("claude", ["claude"]) == FRESH_START


def test_first_message_makes_it_resumable(proc: Proc) -> None:
    registry(proc, U1)
    transcript(proc, U1, MODE_ONLY % (U1, U1) + USER_LINE % U1)
    assert proc.find("claude", ["claude"]) == (U1, "sessions-registry")
    hook(proc, U1)
    assert proc.find("claude", ["claude"]) == (U1, "state-file")


def test_new_session_id_without_a_message(proc: Proc) -> None:
    """`claude --session-id <uuid>` starts a new session: nothing to resume until
    the first message."""
    registry(proc, U1)
    argv = ["claude", "--session-id", U1]
    assert proc.find("claude", argv) == FRESH_START
    transcript(proc, U1, USER_LINE % U1)
    assert proc.find("claude", argv) == (U1, "sessions-registry")


def test_cleared_without_a_message(proc: Proc) -> None:
    """After /clear, 2.1.197 writes the new session's file with the record of the
    command only (the lines below, shortened): no conversation yet. A reply of
    the model, or a line cut off at the end of the head, counts."""
    hook(proc, U1, source="clear")
    registry(proc, U1)
    lines: list[dict[str, Any]] = [
        {"type": "mode", "mode": "normal", "sessionId": U1},
        {"type": "file-history-snapshot", "messageId": "m1", "snapshot": {}},
        {
            "parentUuid": None,
            "type": "user",
            "message": {"role": "user", "content": "<local-command-caveat>Caveat: The messages"},
            "isMeta": True,
        },
        {
            "parentUuid": "a",
            "type": "user",
            "message": {
                "role": "user",
                "content": "<command-name>/clear</command-name>\n<command-message>clear",
            },
        },
        {
            "parentUuid": "b",
            "type": "system",
            "subtype": "local_command",
            "content": "<local-command-stdout></local-command-stdout>",
        },
    ]
    clear = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    path = transcript(proc, U1, clear)
    assert proc.find("claude", ["claude"]) == FRESH_START
    path.write_text(clear + '{"type":"assistant","message":{"role":"assistant"}}\n')
    assert proc.find("claude", ["claude"]) == (U1, "state-file")
    path.write_text(clear + '{"type":"user","message":{"role":"user","content":"hel')
    assert proc.find("claude", ["claude"]) == (U1, "state-file")


def test_resumed_ids_are_kept_even_when_no_transcript_is_found(proc: Proc) -> None:
    """`--resume X` running, or a SessionStart `resume`: Claude found X's
    conversation (it exits when it cannot), so a miss is ours: kept."""
    registry(proc, U1)
    assert proc.find("claude", ["claude", "--resume", U1]) == (U1, "sessions-registry")
    hook(proc, U1, source="resume")
    assert proc.find("claude", ["claude", "-c"]) == (U1, "state-file")


def test_restored_pane_cleared_without_a_message(proc: Proc) -> None:
    """Restore typed `claude --resume U2`; then /clear gave U1 and no message
    followed: a fresh start, not U2 (the user left it) nor U1 (nothing there)."""
    transcript(proc, U2, USER_LINE % U2)
    registry(proc, U1)
    hook(proc, U1, source="clear")
    assert proc.find("claude", ["claude", "--resume", U2]) == FRESH_START


def test_the_hooks_transcript_path_is_looked_at(proc: Proc) -> None:
    """Our hook's `transcript_path` (e.g. a session of another git worktree)."""
    other = proc.write(f".claude/projects/-elsewhere/{U1}.jsonl", USER_LINE % U1)
    registry(proc, U1)
    hook(proc, U1, transcript_path=str(other))
    assert proc.find("claude", ["claude"]) == (U1, "state-file")


@pytest.mark.parametrize("case", ["no-registry", "registry-disagrees", "too-long", "unreadable"])
def test_kept_when_it_cannot_be_told(proc: Proc, case: str) -> None:
    """No registry record of that ID (a Claude before the registry, a stand-in),
    a head of the transcript without a conversation line in a longer file, or a
    transcript that is not a regular file: the ID is kept."""
    hook(proc, U1)
    if case == "registry-disagrees":
        registry(proc, U3)
    elif case != "no-registry":
        registry(proc, U1)
    if case == "too-long":
        filler = json.dumps({"type": "file-history-snapshot", "pad": "x" * (70 << 10)})
        transcript(proc, U1, filler + "\n" + USER_LINE % U1)
    elif case == "unreadable":
        transcript(proc, U1, "").unlink()
        (
            proc.home / ".claude" / "projects" / project_dir_name(str(proc.cwd)) / f"{U1}.jsonl"
        ).mkdir()
    assert proc.find("claude", ["claude"]) == (U1, "state-file")


def test_two_claudes_in_one_folder(proc: Proc) -> None:
    """Each pane's own ID decides: one with a conversation, one without."""
    transcript(proc, U2, USER_LINE % U2)
    registry(proc, U1)
    assert proc.find("claude", ["claude"], claimed={U2: 1}) == FRESH_START
    registry(proc, U2)
    assert proc.find("claude", ["claude"], claimed={U1: 1}) == (U2, "sessions-registry")
