"""Gemini CLI switch cases of the crash suite (tests/realcli/crash.py).

Each case drives the real `gemini` (0.61.0) in panes of a tmux server with
the real tmux-resurrect, our hooks and event saves, then `kill -9` of that
server 5 s after the last change, a fresh server, tmux-resurrect's restore
with a client attached, and checks the command restore started against
Gemini's own store: the chat file (`~/.gemini/tmp/<project>/chats/
session-*.jsonl`) that holds the pane's last message and its reply is the
session resumed; a session with no exchange yet is started afresh with the
same arguments (no `--resume`, which Gemini would call invalid).

Our SessionStart/SessionEnd hooks are written into the test user's
~/.gemini/settings.json by this module (`gemini_hooks` fixture) and taken out
again afterwards. The case folders are under work/ (trusted: Gemini runs
user-level hooks only in trusted folders) and carry a `.env` pointing Gemini
at the fake API: the restored panes' shells are new and have only the tmux
server's environment.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

from tests.realcli.conftest import NO_HOOK_ENV, RealEnv, require, wait_for
from tests.realcli.crash import Crash

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]

READY = "Type your message"
REPLY = "stub reply"
MODEL = "gemini-2.5-flash"  # a fixed model: no routing call before the turn
SETTINGS = ".gemini/settings.json"


def hook_command(real: RealEnv, name: str) -> str:
    """Our hook as the role writes it (`assistant-resurrect hook NAME`), or, while
    the CLI does not know Gemini's hooks yet, the same function run directly."""
    from assistant_resurrect import hooks

    skip = f'test -n "${NO_HOOK_ENV}" || '
    if name in hooks.HOOKS:
        return f"{skip}{real.agent} hook {name}"
    py = real.venv / "bin" / "python"
    code = (
        "import sys; from assistant_resurrect import gemini_hooks as g; "
        f"sys.exit(g.HOOKS['{name}']())"
    )
    return f'{skip}{py} -c "{code}"'


@pytest.fixture(scope="module")
def gemini_hooks(real: RealEnv) -> Iterator[None]:
    """Our SessionStart/SessionEnd hooks in the user's Gemini settings, as the
    role installs them (tasks/gemini.yml), for this module only."""
    path = real.home / SETTINGS
    before = path.read_text() if path.exists() else None
    data = json.loads(before) if before else {}
    hooks = data.setdefault("hooks", {})
    for event, name in (
        ("SessionStart", "gemini-session-start"),
        ("SessionEnd", "gemini-session-end"),
    ):
        hooks.setdefault(event, []).append(
            {"matcher": "", "hooks": [{"type": "command", "command": hook_command(real, name)}]}
        )
    real.write(SETTINGS, json.dumps(data, indent=2))
    try:
        yield
    finally:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            real.write(SETTINGS, before)


@pytest.fixture(autouse=True)
def _gemini(gemini_hooks: None) -> None:
    require("gemini")


def workdir(real: RealEnv, name: str) -> Path:
    """A trusted folder of its own for a case, the fake API in its `.env`."""
    cwd = real.workdir(f"gemini-switch/{name}-{secrets.token_hex(2)}")
    rel = cwd.relative_to(real.home)
    real.write(f"{rel}/.env", f"GEMINI_API_KEY=test-key\nGOOGLE_GEMINI_BASE_URL={real.api.url}\n")
    return cwd


def holding(real: RealEnv, text: str) -> Optional[str]:
    """The session whose chat file (Gemini's store) holds `text` and a reply
    after it; None while there is none."""
    hits = set()
    for path in (real.home / ".gemini" / "tmp").glob("*/chats/session-*.jsonl"):
        try:
            data = path.read_text(errors="replace")
            head = json.loads(data.splitlines()[0])
        except (OSError, ValueError, IndexError):
            continue
        at = data.find(text)
        if at >= 0 and REPLY in data[at:] and head.get("kind") != "subagent":
            hits.add(str(head.get("sessionId")))
    assert len(hits) <= 1, f"{text!r} is in several sessions: {hits}"
    return hits.pop() if hits else None


def start(crash: Crash, pane: str, command: str) -> int:
    """Start Gemini; its PID (the outer process) once our hook recorded it."""
    crash.send(pane, command)
    pid = crash.tool_pid(pane, "gemini")
    crash.wait_screen(pane, READY, 60)
    wait_for(lambda: crash.real.state_file("gemini", pid), 30, "our SessionStart record")
    return pid


def say(crash: Crash, pane: str, text: str) -> str:
    """Send a message; the session it went into (Gemini's store), once answered."""
    crash.send(pane, text)

    for _ in range(6):  # Gemini may take a quick Enter as part of the typed text
        try:
            return str(wait_for(lambda: holding(crash.real, text), 10, f"{text!r} answered"))
        except AssertionError:
            if text in crash.capture(pane):
                crash.keys(pane, "Enter")
            else:  # typed while Gemini redrew (after /clear, under load): lost, type again
                crash.send(pane, text)
    return str(
        wait_for(
            lambda: holding(crash.real, text),
            20,
            f"{text!r} answered",
            on_fail=lambda: crash.capture(pane),
        )
    )


def cleared(crash: Crash, pane: str, pid: int, old: str) -> str:
    """`/clear`; the new session's ID once our hook recorded it."""

    def recorded() -> Optional[dict]:
        e = crash.real.state_file("gemini", pid)
        return e if e and e.get("source") == "clear" and e.get("session_id") != old else None

    crash.wait_screen(pane, READY, 60)
    crash.send(pane, "/clear")
    for _ in range(4):
        try:
            return str(wait_for(recorded, 6, "SessionStart clear")["session_id"])
        except AssertionError:
            if "> /clear" in crash.capture(pane):
                crash.keys(pane, "Enter")  # the Enter went to the command completion
            else:
                crash.send(pane, "/clear")  # typed while Gemini was still loading
    entry = wait_for(recorded, 20, "SessionStart clear", on_fail=lambda: crash.capture(pane))
    return str(entry["session_id"])


def quit_gemini(crash: Crash, pane: str, pid: int) -> None:
    crash.send(pane, "/quit")
    for _ in range(5):
        try:
            crash.real.wait_gone(pid, 8)
            return
        except AssertionError:
            crash.keys(pane, "C-c")
            crash.keys(pane, "C-c")
    raise AssertionError(f"gemini {pid} did not quit:\n{crash.capture(pane)}")


def resumed(crash: Crash, old_pane: str) -> tuple[str, list[str]]:
    """The restored pane and the arguments of the gemini restore started there."""
    pane = crash.pane_after(old_pane)
    argv = crash.argv_in(pane, "gemini")
    at = next(i for i, a in enumerate(argv) if a.endswith("gemini") or a.endswith("gemini.js"))
    return pane, argv[at + 1 :]


def test_resume_then_clear_then_message(crash: Crash, real: RealEnv) -> None:
    """`gemini --resume G3`, `/clear`, a message G4: G4 comes back, not the
    G3 of the command line."""
    cwd = workdir(real, "clear")
    pane = crash.window(cwd)
    pid = start(crash, pane, f"gemini -m {MODEL}")
    g3 = say(crash, pane, "g3-first")
    quit_gemini(crash, pane, pid)
    pid = start(crash, pane, f"clear; gemini -m {MODEL} --resume {g3}")
    crash.wait_screen(pane, "g3-first")  # the conversation is back
    g4 = cleared(crash, pane, pid, g3)
    assert say(crash, pane, "g4-after-clear") == g4
    crash.changed()
    crash.crash_and_restore()
    assert resumed(crash, pane)[1] == ["-m", MODEL, "--resume", g4]


def test_clear_without_a_message_comes_back_as_a_fresh_start(crash: Crash, real: RealEnv) -> None:
    """`/clear` and no message: the new session holds no exchange (`--resume` of
    it is invalid): restored as `gemini` with the same flags."""
    cwd = workdir(real, "fresh")
    pane = crash.window(cwd)
    pid = start(crash, pane, f"gemini -m {MODEL}")
    first = say(crash, pane, "fresh-first")
    empty = cleared(crash, pane, pid, first)
    assert holding(real, "fresh-first") == first  # the store: the exchange is in `first`
    crash.changed()
    crash.crash_and_restore()
    new_pane, args = resumed(crash, pane)
    assert args == ["-m", MODEL], f"{empty} has no exchange: nothing to resume"
    crash.wait_screen(new_pane, READY, 60)  # a Gemini at its prompt, not a shell
    assert "Invalid session identifier" not in crash.capture(new_pane)


def test_restored_pane_then_clear_and_message(crash: Crash, real: RealEnv) -> None:
    """A pane restore started with `--resume A` follows a /clear to B: B comes
    back after the next crash, not the A restore put on its command line."""
    cwd = workdir(real, "again")
    pane = crash.window(cwd)
    start(crash, pane, f"gemini -m {MODEL}")
    first = say(crash, pane, "again-first")
    crash.changed()
    crash.crash_and_restore()
    pane, args = resumed(crash, pane)
    assert args == ["-m", MODEL, "--resume", first]
    pid = crash.tool_pid(pane, "gemini")
    crash.wait_screen(pane, "again-first", 60)
    wait_for(lambda: real.state_file("gemini", pid), 30, "record of the restored gemini")
    latest = cleared(crash, pane, pid, first)
    assert say(crash, pane, "again-latest") == latest
    crash.changed()
    # crash.py waits for this marker of tmux-resurrect's restore, which the
    # first restore left behind: without this the second wait returns at once.
    (crash.rdir / ".restore-done").unlink(missing_ok=True)
    crash.crash_and_restore()
    assert resumed(crash, pane)[1] == ["-m", MODEL, "--resume", latest]
