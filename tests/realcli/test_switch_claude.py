"""Claude Code switch cases of the crash suite (tests/realcli/crash.py).

Each case drives the real `claude` in panes of a tmux server with the real
tmux-resurrect, our hooks and event saves, then `kill -9` of that server 5 s
after the last change, a fresh server, tmux-resurrect's restore with a client
attached, and checks the command restore started against Claude's own store:
the transcript (`~/.claude/projects/<cwd>/<id>.jsonl`) that holds the pane's
last message is the one resumed; a pane with no conversation yet is started
afresh with the same arguments.

The panes' folders are under work/claude-hook (trusted in ~/.claude.json; the
trust covers sub-folders) and carry a `.claude/settings.json` whose `env`
points Claude at the fake API: the restored panes' shells are new and have
only the tmux server's environment.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Optional

import pytest

from assistant_resurrect.assistants.claude import project_dir_name
from tests.realcli.conftest import CLAUDE_KEY, RealEnv, require, wait_for
from tests.realcli.crash import Crash

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]

PROMPT = "❯"
REPLY = "stub reply"


@pytest.fixture(autouse=True)
def _claude() -> None:
    require("claude")


def workdir(real: RealEnv, name: str) -> Path:
    """A folder of its own for a case, with the fake API in its project settings."""
    cwd = real.workdir(f"claude-hook/{name}-{secrets.token_hex(2)}")
    env = {"ANTHROPIC_API_KEY": CLAUDE_KEY, "ANTHROPIC_BASE_URL": real.api.url}
    rel = cwd.relative_to(real.home)
    real.write(f"{rel}/.claude/settings.json", json.dumps({"env": env}))
    return cwd


def transcripts(real: RealEnv, cwd: Path) -> Path:
    return real.home / ".claude" / "projects" / project_dir_name(str(cwd))


def holding(real: RealEnv, cwd: Path, text: str) -> Optional[str]:
    """The session ID whose transcript (Claude's store) holds `text`; None while
    there is none. (Its reply is not required there: two rehearsals saw the
    reply on screen and a transcript without it for 90 s.)"""
    hits = []
    for path in sorted(transcripts(real, cwd).glob("*.jsonl")):
        if json.dumps(text) in path.read_text(errors="replace"):
            hits.append(path.stem)
    assert len(hits) <= 1, f"{text!r} is in several transcripts: {hits}"
    return hits[0] if hits else None


def replied(crash: Crash, pane: str, text: str) -> bool:
    """Claude's reply is on screen below the last `text` typed."""
    screen = crash.capture(pane)
    at = screen.rfind(text)
    return at >= 0 and REPLY in screen[at:]


def start(crash: Crash, pane: str, command: str = "claude") -> int:
    crash.send(pane, command)
    pid = crash.tool_pid(pane, "claude")
    crash.wait_screen(pane, PROMPT)
    wait_for(
        lambda: crash.real.state_file("claude", pid), 30, "SessionStart state file"
    )  # our hook ran: Claude is at its prompt with a session
    return pid


def say(crash: Crash, pane: str, cwd: Path, text: str) -> str:
    """Send a message; the ID of the transcript it went into, once answered."""
    crash.send(pane, text)

    def seen() -> str:
        files = sorted(p.name for p in transcripts(crash.real, cwd).glob("*.jsonl"))
        return f"{crash.capture(pane)}\ntranscripts: {files}"

    sid = wait_for(
        lambda: holding(crash.real, cwd, text),
        60,
        f"{text!r} in a transcript",
        on_fail=seen,
    )
    wait_for(lambda: replied(crash, pane, text), 60, f"{text!r} answered", on_fail=seen)
    return str(sid)


def switched(crash: Crash, pid: int, old: str, source: str) -> str:
    """The session ID after a /clear or /resume (from our hook's state file)."""
    entry = wait_for(
        lambda: (
            (e := crash.real.state_file("claude", pid))
            and e.get("source") == source
            and e.get("session_id") != old
            and e
        ),
        30,
        f"SessionStart {source}",
    )
    return str(entry["session_id"])


def changed_then_crash(crash: Crash) -> None:
    """The last change is made: `changed()`, then the crash and restore, once the
    event save after the change has finished (under load a save can still run
    at the kill; its tmux-resurrect script then goes on against the fresh
    server on the same socket and saves that, empty, as `last`: seen once, a
    restore of 0 sessions)."""
    crash.changed()
    script = crash.tmux("show-options", "-gqv", "@resurrect-save-script-path").strip()
    since = crash.changed_at or 0.0

    def running() -> bool:
        for pid in crash.real.user_pids():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if script.encode() in argv[:3]:
                return True
        return False

    # A change that alters no saved session (a message in the session already
    # saved) makes no save: wait until any save it could start has run.
    time.sleep(max(0.0, since + 4.0 - time.time()))
    wait_for(lambda: not running(), 30, "no event save running")
    crash.crash_and_restore()


def resumed(crash: Crash, old_pane: str) -> tuple[str, list[str]]:
    pane = crash.pane_after(old_pane)
    return pane, crash.argv_in(pane, "claude")


def test_clear_then_message(crash: Crash, real: RealEnv) -> None:
    cwd = workdir(real, "clear")
    pane = crash.window(cwd)
    pid = start(crash, pane)
    first = say(crash, pane, cwd, "clear-before")
    crash.send(pane, "/clear")
    switched(crash, pid, first, "clear")
    latest = say(crash, pane, cwd, "clear-after")
    assert latest != first
    changed_then_crash(crash)
    assert resumed(crash, pane)[1] == ["claude", "--resume", latest]


def test_resume_an_older_conversation(crash: Crash, real: RealEnv) -> None:
    cwd = workdir(real, "resume")
    pane = crash.window(cwd)
    pid = start(crash, pane)
    older = say(crash, pane, cwd, "resume-older")
    crash.send(pane, "/clear")
    newer = switched(crash, pid, older, "clear")
    assert say(crash, pane, cwd, "resume-newer") == newer
    crash.send(pane, f"/resume {older}")
    switched(crash, pid, newer, "resume")
    assert say(crash, pane, cwd, "resume-again") == older  # Claude's store: back in the older
    changed_then_crash(crash)
    assert resumed(crash, pane)[1] == ["claude", "--resume", older]


def test_opened_with_no_message_comes_back_as_a_fresh_start(crash: Crash, real: RealEnv) -> None:
    """No message: Claude has a session ID but no transcript, and `--resume` of it
    answers "No conversation found". Restored as `claude` with the same flags."""
    cwd = workdir(real, "fresh")
    pane = crash.window(cwd)
    pid = start(crash, pane, "claude --model sonnet")
    sid = real.state_file("claude", pid)["session_id"]  # type: ignore[index]
    assert not (transcripts(real, cwd) / f"{sid}.jsonl").exists()  # Claude's store: nothing
    changed_then_crash(crash)
    new_pane, argv = resumed(crash, pane)
    assert argv == ["claude", "--model", "sonnet"]
    crash.wait_screen(new_pane, PROMPT)  # a Claude at its prompt, not a shell
    assert "No conversation found" not in crash.capture(new_pane)
    assert "had no conversation yet; starting it afresh" in crash.restore_log()


def test_first_message_after_a_fresh_save(crash: Crash, real: RealEnv) -> None:
    """Saved as a fresh start, then the first message: saved again within
    seconds (Claude's prompt history is watched) and resumed."""
    cwd = workdir(real, "first")
    pane = crash.window(cwd)
    start(crash, pane)

    def saved_fresh() -> bool:
        sides = crash.sidecars()
        doc = json.loads(sides[-1].read_text()) if sides else {}
        return any(
            s.get("pane_id") == pane and s.get("id_source") == "fresh"
            for s in doc.get("sessions") or []
        )

    wait_for(saved_fresh, 30, "an event save of the pane as a fresh start")
    sid = say(crash, pane, cwd, "first-message")
    changed_then_crash(crash)
    assert resumed(crash, pane)[1] == ["claude", "--resume", sid]


def test_restored_pane_then_clear_and_message(crash: Crash, real: RealEnv) -> None:
    """A pane restore started with `--resume A` follows a /clear to B: B comes
    back after the next crash, not the A on its command line."""
    cwd = workdir(real, "again")
    pane = crash.window(cwd)
    start(crash, pane)
    first = say(crash, pane, cwd, "again-first")
    changed_then_crash(crash)
    pane, argv = resumed(crash, pane)
    assert argv == ["claude", "--resume", first]
    pid = crash.tool_pid(pane, "claude")
    crash.wait_screen(pane, "again-first")  # the conversation is back
    wait_for(lambda: real.state_file("claude", pid), 30, "state file of the restored claude")
    crash.send(pane, "/clear")
    switched(crash, pid, first, "clear")
    latest = say(crash, pane, cwd, "again-latest")
    # crash.py waits for this mark of tmux-resurrect's restore being done; the
    # first restore left it (reported: crash_and_restore should remove it first).
    (crash.rdir / ".restore-done").unlink(missing_ok=True)
    changed_then_crash(crash)
    assert resumed(crash, pane)[1] == ["claude", "--resume", latest]


def test_two_panes_in_one_folder(crash: Crash, real: RealEnv) -> None:
    cwd = workdir(real, "two")
    left = crash.window(cwd)
    right = crash.window(cwd)
    start(crash, left)
    start(crash, right)
    a = say(crash, left, cwd, "two-left")
    b = say(crash, right, cwd, "two-right")
    assert a != b
    changed_then_crash(crash)
    assert resumed(crash, left)[1] == ["claude", "--resume", a]
    assert resumed(crash, right)[1] == ["claude", "--resume", b]
