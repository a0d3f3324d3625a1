"""Claude Code, the real CLI: each session-ID strategy answers a real save."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import pytest

from assistant_resurrect.assistants.claude import project_dir_name
from tests.realcli.conftest import (
    CLAUDE_KEY,
    CLAUDE_LONG_DIR,
    NO_HOOK_ENV,
    RealEnv,
    cli_version,
    require,
    wait_for,
)

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
PROMPT = "❯"


def claude_env(real: RealEnv, hooks: bool = True) -> dict[str, str]:
    env = {"ANTHROPIC_API_KEY": CLAUDE_KEY, "ANTHROPIC_BASE_URL": real.api.url}
    if not hooks:
        env[NO_HOOK_ENV] = "1"
    return env


def start_claude(real: RealEnv, pane: str, command: str) -> int:
    real.send(pane, command)
    pid = real.tool_pid(pane, "claude")
    real.wait_screen(pane, PROMPT)
    return pid


def talk(real: RealEnv, pane: str, text: str = "hello") -> None:
    """One exchange with the stub API (a session without one has no transcript)."""
    real.send(pane, text)
    real.wait_screen(pane, "stub reply")


def quit_claude(real: RealEnv, pane: str, pid: int) -> None:
    real.send(pane, "/exit")
    real.wait_gone(pid)


@pytest.fixture(autouse=True)
def _claude() -> None:
    require("claude")
    assert cli_version("claude")


def test_state_file_from_the_real_session_start_hook(real: RealEnv) -> None:
    """Claude runs our SessionStart hook; save reads the ID from its state file,
    and follows /clear (a new session ID in the same process)."""
    pane = real.window(real.workdir("claude-hook"), claude_env(real))
    pid = start_claude(real, pane, "claude --model sonnet")
    entry = wait_for(
        lambda: real.state_file("claude", pid),
        30,
        "claude state file",
        on_fail=lambda: real.capture(pane),
    )
    sid = entry["session_id"]
    assert UUID.match(sid)
    assert entry["tool"] == "claude" and entry["pid"] == pid
    assert entry["source"] == "startup" and entry["hook_event_name"] == "SessionStart"
    assert entry["transcript_path"].endswith(f"/{sid}.jsonl")
    mode = (real.state_dir / f"claude-{pid}.json").stat().st_mode & 0o777
    assert mode == 0o600

    # No message yet: no transcript, nothing `--resume` could bring back.
    saved = real.save()[pane]
    assert (saved["session_id"], saved["id_source"]) == (None, "fresh")
    assert not Path(entry["transcript_path"]).exists()
    talk(real, pane)
    saved = real.save()[pane]
    assert (saved["tool"], saved["session_id"], saved["id_source"]) == ("claude", sid, "state-file")
    assert saved["cli_args"] == ["--model", "sonnet"]
    assert saved["model"] == "sonnet"

    # /clear ends the session and starts another one in the same process.
    real.send(pane, "/clear")
    new = wait_for(
        lambda: (
            (real.state_file("claude", pid) or {}).get("source") == "clear"
            and real.state_file("claude", pid)
        ),
        20,
        "state file after /clear",
    )
    assert new["session_id"] != sid
    saved = real.save()[pane]  # its transcript holds the /clear command only
    assert (saved["session_id"], saved["id_source"]) == (None, "fresh")
    talk(real, pane)
    saved = real.save()[pane]
    assert (saved["session_id"], saved["id_source"]) == (new["session_id"], "state-file")

    # SessionEnd removes the state file when Claude exits.
    quit_claude(real, pane, pid)
    wait_for(lambda: real.state_file("claude", pid) is None, 10, "state file removed")
    real.kill(pane)


def registry(real: RealEnv, pid: int) -> Optional[dict[str, Any]]:
    try:
        data = json.loads((real.home / ".claude" / "sessions" / f"{pid}.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def test_sessions_registry_without_hook(real: RealEnv) -> None:
    """No hook ran (switched off for this pane): Claude's own per-process record
    `~/.claude/sessions/<pid>.json` answers, and follows /clear. Facts of the
    installed version: its fields, `procStart` = /proc/<pid>/stat field 22, no
    CLAUDE_CODE_SESSION_ID in Claude's own environment, removed on exit."""
    pane = real.window(real.workdir("claude-args"), claude_env(real, hooks=False))
    sid = str(uuid.uuid4())
    pid = start_claude(real, pane, f"claude --session-id {sid}")
    record = wait_for(lambda: registry(real, pid), 20, "claude's registry record")
    assert (record["pid"], record["sessionId"]) == (pid, sid)
    assert record["cwd"] == str(real.workdir("claude-args"))
    stat = Path(f"/proc/{pid}/stat").read_text()
    assert record["procStart"] == stat[stat.rindex(")") + 2 :].split()[19]
    assert record["startedAt"] / 1000 >= time.time() - 600
    assert record["version"] == cli_version("claude")
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert b"CLAUDE_CODE_SESSION_ID=" not in environ

    saved = real.save()[pane]  # a new session without a message: nothing to resume
    assert real.state_file("claude", pid) is None
    assert (saved["session_id"], saved["id_source"]) == (None, "fresh")
    assert saved["cli_args"] == []
    talk(real, pane)
    saved = real.save()[pane]
    assert (saved["session_id"], saved["id_source"]) == (sid, "sessions-registry")

    real.send(pane, "/clear")  # no hook: the registry follows it
    new = wait_for(
        lambda: (
            (registry(real, pid) or {}).get("sessionId") not in (None, sid) and registry(real, pid)
        ),
        20,
        "registry after /clear",
    )["sessionId"]
    talk(real, pane)
    saved = real.save()[pane]
    assert (saved["session_id"], saved["id_source"]) == (new, "sessions-registry")
    quit_claude(real, pane, pid)
    assert registry(real, pid) is None
    real.kill(pane)


def test_long_cwd_then_continue_saved_with_concrete_id(real: RealEnv) -> None:
    """No hook, no ID in argv, a long cwd: the transcript is where
    project_dir_name says (so the session counts as having a conversation) and
    the registry gives its ID. Then `claude -c` (hook on) is saved with the
    concrete ID it continued."""
    cwd = real.workdir(CLAUDE_LONG_DIR)  # a long cwd: Claude cuts and hashes the name
    pane = real.window(cwd, claude_env(real, hooks=False))
    pid = start_claude(real, pane, "claude")
    talk(real, pane)
    projects = real.home / ".claude" / "projects"
    files = wait_for(
        lambda: list(projects.glob(f"*{CLAUDE_LONG_DIR[:60]}*/*.jsonl")), 20, "a transcript"
    )
    assert len(files) == 1
    assert files[0].parent.name == project_dir_name(str(cwd))  # our name = Claude's
    sid = files[0].stem
    saved = real.save()[pane]
    assert (saved["session_id"], saved["id_source"]) == (sid, "sessions-registry")
    quit_claude(real, pane, pid)

    # --continue: the hook reports the concrete ID; -c itself is not replayed.
    real.tmux("set-environment", "-u", NO_HOOK_ENV, check=False)
    real.send(pane, f"unset {NO_HOOK_ENV}; claude -c --model sonnet", enter=True)
    pid = real.tool_pid(pane, "claude")
    entry = wait_for(
        lambda: real.state_file("claude", pid),
        30,
        "state file of claude -c",
        on_fail=lambda: real.capture(pane),
    )
    assert entry["session_id"] == sid and entry["source"] == "resume"
    saved = real.save()[pane]
    assert (saved["session_id"], saved["id_source"]) == (sid, "state-file")
    assert saved["cli_args"] == ["--model", "sonnet"]
    quit_claude(real, pane, pid)

    # The resume form restore types works on this version: same session back.
    real.send(pane, f"claude --model sonnet --resume {sid}")
    pid = real.tool_pid(pane, "claude")
    entry = wait_for(
        lambda: real.state_file("claude", pid),
        30,
        "state file of --resume",
        on_fail=lambda: real.capture(pane),
    )
    assert entry["session_id"] == sid
    assert "No conversation found" not in real.capture(pane)
    json.dumps(entry)
    quit_claude(real, pane, pid)
    real.kill(pane)


def test_restore_types_the_resume_and_the_same_session_comes_back(real: RealEnv) -> None:
    """save, Claude gone (the pane's shell is back), restore: the real Claude
    is started again by what restore types, on the same session."""
    pane = real.window(real.workdir("claude-hook"), claude_env(real))
    pid = start_claude(real, pane, "claude --model sonnet")
    talk(real, pane, "remember this")
    sid = wait_for(lambda: real.state_file("claude", pid), 30, "state file")["session_id"]
    assert real.save()[pane]["session_id"] == sid
    quit_claude(real, pane, pid)

    real.restore()
    new_pid = wait_for(
        lambda: [
            p
            for p, argv in real.descendants(real.pane_pid(pane))
            if "claude" in argv[:1] and p != pid
        ],
        30,
        "claude restarted",
        on_fail=lambda: real.capture(pane) + real.save_log(),
    )[0]
    entry = wait_for(
        lambda: real.state_file("claude", new_pid),
        30,
        "state file after restore",
        on_fail=lambda: real.capture(pane),
    )
    assert entry["session_id"] == sid and entry["source"] == "resume"
    argv = dict(real.descendants(real.pane_pid(pane)))[new_pid]
    assert argv == ["claude", "--model", "sonnet", "--resume", sid]
    real.wait_screen(pane, "remember this")  # the conversation is back on screen
    quit_claude(real, pane, new_pid)
    real.kill(pane)
