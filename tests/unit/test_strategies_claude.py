"""Claude Code: one test per session-ID strategy (state-file, sessions-registry,
args, transcript), and the evidence order between them."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant_resurrect.assistants.claude import project_dir_name
from tests.unit.strategy_helpers import Proc, make_proc

U1 = "11111111-1111-4111-8111-111111111111"
U2 = "22222222-2222-4222-8222-222222222222"
U3 = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    yield from make_proc(tmp_path, monkeypatch)


def transcript(p: Proc, sid: str, before_start: bool = False) -> None:
    folder = project_dir_name(str(p.cwd))
    p.write(f".claude/projects/{folder}/{sid}.jsonl", '{"type":"user"}\n', before_start)


def ticks(pid: int) -> str:
    """The start time in clock ticks, as /proc/<pid>/stat has it (Claude's `procStart`)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()[19]


def registry(p: Proc, sid: str, **fields: object) -> Path:
    """Claude 2.1.197's own record of a process, `~/.claude/sessions/<pid>.json`."""
    record = {
        "pid": p.pid,
        "sessionId": sid,
        "cwd": str(p.cwd),
        "startedAt": int(p.start * 1000) + 300,
        "procStart": ticks(p.pid),
        "version": "2.1.197",
        "kind": "interactive",
        "status": "idle",
        **fields,
    }
    return p.write(f".claude/sessions/{p.pid}.json", json.dumps(record))


def test_project_dir_name_matches_claude() -> None:
    # seen with Claude Code 2.1.197: every non-alphanumeric character -> "-"
    assert project_dir_name("/home/arexplore/my.proj_x y-é") == "-home-arexplore-my-proj-x-y--"
    assert project_dir_name("/a/\U0001f642") == "-a---"  # two UTF-16 units, two dashes
    # past 200: cut, then "-" and base 36 of |Java-style 32-bit hash| of the cwd
    # (tests/realcli checks a long name against the real Claude)
    long = "/" + "x" * 250
    name = project_dir_name(long)
    assert name.startswith("-" + "x" * 199 + "-") and len(name) > 201
    h = 0
    for ch in long:
        h = (h * 31 + ord(ch)) & 0xFFFFFFFF
    h = h - (1 << 32) if h >= 1 << 31 else h
    assert int(name[201:], 36) == abs(h)


def test_transcript_of_a_long_cwd(proc: Proc) -> None:
    deep = proc.cwd / ("d" * 120) / ("e" * 120)
    deep.mkdir(parents=True)
    proc.write(f".claude/projects/{project_dir_name(str(deep))}/{U1}.jsonl", '{"type":"user"}\n')
    assert proc.find("claude", ["claude"], cwd=deep) == (U1, "transcript")


def test_state_file(proc: Proc) -> None:
    """The SessionStart state file answers even when argv names another session
    (the user switched with /resume or /clear after starting)."""
    proc.state_file(
        "claude",
        {
            "tool": "claude",
            "pid": proc.pid,
            "session_id": U1,
            "start_time": proc.start,
            "timestamp": "2026-11-25T00:00:00Z",
        },
    )
    transcript(proc, U3)
    assert proc.find("claude", ["claude", "--resume", U2]) == (U1, "state-file")


def test_state_file_of_a_reused_pid_is_ignored(proc: Proc) -> None:
    proc.state_file(
        "claude",
        {"tool": "claude", "pid": proc.pid, "session_id": U1, "start_time": proc.start - 500},
    )
    assert proc.find("claude", ["claude", "--resume", U2]) == (U2, "args")


def test_sessions_registry(proc: Proc) -> None:
    """No hook ran: Claude's own per-process record answers, even when argv names
    another session (a /resume or /clear since the start) and another transcript
    was written since the start."""
    registry(proc, U1)
    transcript(proc, U1)
    transcript(proc, U3)
    assert proc.find("claude", ["claude", "--resume", U2]) == (U1, "sessions-registry")


def test_state_file_outranks_the_registry(proc: Proc) -> None:
    registry(proc, U2)
    transcript(proc, U2)
    transcript(proc, U1)
    proc.state_file(
        "claude", {"tool": "claude", "pid": proc.pid, "session_id": U1, "start_time": proc.start}
    )
    assert proc.find("claude", ["claude"]) == (U1, "state-file")


@pytest.mark.parametrize(
    "stale",
    [
        {"startedAt": 0},  # an earlier process with this PID (a crash left it)
        {"procStart": "1"},  # started at another tick
        {"pid": 1},  # another process's record
        {"pid": True},
        {"startedAt": "soon"},
    ],
)
def test_registry_of_another_process_is_ignored(proc: Proc, stale: dict[str, object]) -> None:
    fields: dict[str, object] = dict(stale)
    if fields.get("startedAt") == 0:
        fields["startedAt"] = int((proc.start - 500) * 1000)
    registry(proc, U1, **fields)
    transcript(proc, U1)
    assert proc.find("claude", ["claude", "--resume", U2]) == (U2, "args")


def test_registry_not_the_users_or_not_a_file_is_ignored(proc: Proc) -> None:
    path = registry(proc, U1)
    transcript(proc, U1)
    os.chown(path, 65534, 65534)  # tests run as root: another user's file
    assert proc.find("claude", ["claude", "--resume", U2]) == (U2, "args")
    assert any("not you" in line for line in proc.log_lines)
    path.unlink()
    os.mkfifo(path)  # read as a file, a FIFO would hang the save
    assert proc.find("claude", ["claude", "--resume", U2]) == (U2, "args")
    path.unlink()
    path.symlink_to(registry(proc, U1).rename(path.with_name("elsewhere.json")))
    assert proc.find("claude", ["claude", "--resume", U2]) == (U2, "args")


def test_registry_under_the_assistants_claude_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "home" / "alt-claude"
    gen = make_proc(tmp_path, monkeypatch, {"CLAUDE_CONFIG_DIR": str(cfg)})
    p = next(gen)
    try:
        registry(p, U1)  # ~/.claude: not where this Claude keeps it
        folder = project_dir_name(str(p.cwd))
        p.write(f"alt-claude/projects/{folder}/{U2}.jsonl", '{"type":"user"}\n')
        p.write(f"alt-claude/projects/{folder}/{U3}.jsonl", '{"type":"user"}\n')
        p.write(
            f"alt-claude/sessions/{p.pid}.json",
            (p.home / f".claude/sessions/{p.pid}.json").read_text().replace(U1, U2),
        )
        assert p.find("claude", ["claude"]) == (U2, "sessions-registry")
    finally:
        gen.close()


def test_args_resume_and_session_id(proc: Proc) -> None:
    assert proc.find("claude", ["claude", "--model", "opus", "-r", U2]) == (U2, "args")
    assert proc.find("claude", ["claude", "--session-id", U2]) == (U2, "args")


def test_transcript_written_since_start(proc: Proc) -> None:
    transcript(proc, U1, before_start=True)  # an older session of the same folder
    transcript(proc, U3)
    assert proc.find("claude", ["claude"]) == (U3, "transcript")


def test_continue_is_saved_with_the_concrete_id(proc: Proc) -> None:
    transcript(proc, U3)  # `claude -c` appended to the newest transcript
    assert proc.find("claude", ["claude", "-c"]) == (U3, "transcript")


def test_transcript_not_guessed_when_several(proc: Proc) -> None:
    transcript(proc, U1)
    transcript(proc, U3)
    assert proc.find("claude", ["claude"]) == (None, None)
    assert any("not guessing" in line for line in proc.log_lines)
    # ... unless the other one is already saved for another pane.
    assert proc.find("claude", ["claude"], claimed={U1: 1}) == (U3, "transcript")


def test_transcript_under_the_assistants_claude_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "home" / "alt-claude"
    gen = make_proc(tmp_path, monkeypatch, {"CLAUDE_CONFIG_DIR": str(cfg)})
    p = next(gen)
    try:
        folder = re.sub(r"[^A-Za-z0-9]", "-", str(p.cwd))
        p.write(f"alt-claude/projects/{folder}/{U2}.jsonl", '{"type":"user"}\n')
        assert p.find("claude", ["claude"]) == (U2, "transcript")
    finally:
        gen.close()


@pytest.mark.parametrize(
    ("args", "session"),
    [
        ([], True),
        (["--model", "opus", "-c"], True),
        (["fix the bug"], True),
        (["mcp", "list"], False),
        (["doctor"], False),
        (["-p", "hi"], False),
        (["--version"], False),
        (["agents"], False),
    ],
)
def test_helpers_are_not_sessions(args: list[str], session: bool) -> None:
    from assistant_resurrect import assistants

    claude = assistants.by_name("claude")
    assert claude is not None and claude.is_session(args) is session


def test_watch_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The prompt history (a first message, a typed /clear or /resume) and the
    registry folder (a Claude starting or exiting) are what event saves poll."""
    from assistant_resurrect import assistants

    claude = assistants.by_name("claude")
    assert claude is not None
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    assert claude.watch_files("/h") == ["/h/.claude/history.jsonl", "/h/.claude/sessions"]
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", "/cfg")
    assert claude.watch_files("/h")[2:] == ["/cfg/history.jsonl", "/cfg/sessions"]
