"""Gemini CLI, the real CLI (pointed at the fake API with
GOOGLE_GEMINI_BASE_URL): its chat files and `--resume <uuid>` each answer.

The pane runs with our hooks switched off (AR_TEST_NO_HOOK): these are the
fallbacks for a Gemini whose hooks do not run (an untrusted folder, hooks
disabled or not installed); the hook-state cases are in test_switch_gemini.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.realcli.conftest import NO_HOOK_ENV, RealEnv, cli_version, require, wait_for

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]

READY = "Type your message"
MESSAGE = "hello from the test"
MODEL = "gemini-2.5-flash"  # a fixed model: no routing call before the turn


@pytest.fixture(autouse=True)
def _gemini() -> None:
    require("gemini")
    assert cli_version("gemini")


def session_ids(real: RealEnv) -> list[str]:
    out = []
    for path in (real.home / ".gemini" / "tmp").glob("*/chats/session-*.jsonl"):
        try:
            head = json.loads(path.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            continue
        if isinstance(head, dict) and head.get("kind") != "subagent":
            out.append(str(head.get("sessionId")))
    return out


def written_since(real: RealEnv, sid: str, since: float) -> bool:
    """Gemini has written session `sid`'s file since `since` (a resumed
    session's file is rewritten when Gemini reopens it)."""
    for path in (real.home / ".gemini" / "tmp").glob("*/chats/session-*.jsonl"):
        try:
            if path.stat().st_mtime <= since:
                continue
            head = json.loads(path.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            continue
        if isinstance(head, dict) and head.get("sessionId") == sid:
            return True
    return False


def resume(real: RealEnv, pane: str, command: str, sid: str) -> int:
    """Start a Gemini that reopens session `sid`; return once it has (its
    history on a cleared screen, its session file written): the screen of
    the Gemini before still shows the message, and a save that comes before
    the file is written finds no session, however slow the machine."""
    real.send(pane, "clear")
    wait_for(
        lambda: real.capture(pane).strip() == "$",
        15,
        "a cleared screen",
        on_fail=lambda: real.capture(pane),
    )
    since = time.time() - 0.01
    pid = start(real, pane, command, MESSAGE)
    wait_for(
        lambda: written_since(real, sid, since),
        30,
        f"gemini to reopen {sid}",
        on_fail=lambda: real.capture(pane),
    )
    return pid


def start(real: RealEnv, pane: str, command: str, ready: str = READY) -> int:
    real.send(pane, command)
    pid = real.tool_pid(pane, "gemini")
    real.wait_screen(pane, ready, 60)
    return pid


def quit_gemini(real: RealEnv, pane: str, pid: int) -> str:
    real.send(pane, "/quit")
    for _ in range(5):
        try:
            real.wait_gone(pid, 8)
            return real.capture(pane)
        except AssertionError:  # typed too early, or Enter taken as text
            real.keys(pane, "C-c")
            time.sleep(0.5)
            real.keys(pane, "C-c")
    raise AssertionError(f"gemini {pid} did not quit:\n{real.capture(pane)}")


def test_chats_latest_and_args(real: RealEnv) -> None:
    cwd: Path = real.workdir("gemini")
    env = {
        "GEMINI_API_KEY": "test-key",
        "GOOGLE_GEMINI_BASE_URL": real.api.url,
        NO_HOOK_ENV: "1",
    }
    pane = real.window(cwd, env)
    pid = start(real, pane, f"gemini -m {MODEL}")
    real.send(pane, MESSAGE)
    for _ in range(6):  # Gemini may take a quick Enter as part of the typed text
        try:
            real.wait_screen(pane, "stub reply", 10)
            break
        except AssertionError:
            real.keys(pane, "Enter")
    real.wait_screen(pane, "stub reply", 30)
    ids = wait_for(lambda: session_ids(real), 20, "a gemini session file")
    assert len(ids) == 1
    sid = ids[0]
    s = real.save()[pane]
    assert (s["tool"], s["session_id"], s["id_source"]) == ("gemini", sid, "chats")
    assert s["cli_args"] == ["-m", MODEL] and s["model"] == MODEL
    out = quit_gemini(real, pane, pid)
    assert f"gemini --resume {sid}" in out  # what Gemini itself prints on exit

    # `--resume latest` is saved with the concrete ID it reopened.
    pid = resume(real, pane, f"gemini -m {MODEL} --resume latest", sid)
    s = real.save()[pane]
    assert (s["session_id"], s["id_source"]) == (sid, "chats")
    assert s["cli_args"] == ["-m", MODEL]
    quit_gemini(real, pane, pid)

    # `--resume <uuid>`: the form restore types; argv answers first.
    pid = resume(real, pane, f"gemini -m {MODEL} --resume {sid}", sid)
    s = real.save()[pane]
    assert (s["session_id"], s["id_source"]) == (sid, "args")
    quit_gemini(real, pane, pid)
    real.kill(pane)
