"""Oh My Pi, the real CLI (`omp`, @oh-my-pi/pi-coding-agent, run by Bun),
through a real crash (tests/realcli/crash.py): tmux-resurrect's save with our
hooks and event saves, `kill -9` of the server 5 s after the last change, a
fresh server, tmux-resurrect's restore, and what our restore typed.

omp talks to the fake API through a custom provider in ~/.omp/agent/models.yml
(`anthropic-messages`, the fake API's `/v1/messages`), made the default model
in ~/.omp/agent/config.yml, with its startup update check and setup wizard
off (nothing leaves the machine).

A running omp is `bun <…>/.bin/omp <arguments>` in /proc: what restore typed
is read from the restored process's argv. That the restored omp reopened the
session is read from the screen (the earlier message is shown again) and from
omp's own store: its per-terminal record for the restored pane's terminal
names that session's file, and the next message goes into that file, with
no other session made."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Optional

import pytest

from tests.realcli.conftest import CLI_BIN, CLI_PREFIX, RealEnv, answered, wait_for
from tests.realcli.crash import Crash

# omp's script starts `#!/usr/bin/env bun`: the user's PATH is CLI_BIN's and the system's.
HAS_BUN = (CLI_BIN / "bun").exists() or bool(shutil.which("bun", path="/usr/local/bin:/usr/bin"))
pytestmark = [
    pytest.mark.realcli,
    pytest.mark.asuser,
    pytest.mark.skipif(
        not (CLI_BIN / "omp").exists(), reason=f"omp is not installed under {CLI_BIN}"
    ),
    pytest.mark.skipif(
        not HAS_BUN,
        reason=f"omp runs on Bun and there is no bun in {CLI_BIN} or the system: "
        "install the npm package `bun` next to omp",
    ),
]

PROVIDER = "fake"
MODEL = "stub-model"
READY = "Stub Model"  # the model's name, in the welcome box
REPLY = "stub reply"
PACKAGE = CLI_PREFIX / "node_modules" / "@oh-my-pi" / "pi-coding-agent" / "package.json"


def omp_version() -> Optional[str]:
    try:
        return str(json.loads(PACKAGE.read_text()).get("version") or "") or None
    except (OSError, ValueError):
        return None


@pytest.fixture(autouse=True)
def _omp(real: RealEnv) -> None:
    """The fake API as omp's default model; no update check, no setup scenes."""
    assert omp_version()
    real.write(
        ".omp/agent/models.yml",
        "providers:\n"
        f"  {PROVIDER}:\n"
        f"    baseUrl: {real.api.url}\n"
        "    apiKey: realcli-dummy-key\n"
        "    api: anthropic-messages\n"
        "    models:\n"
        f"      - id: {MODEL}\n"
        f"        name: {READY}\n"
        "        reasoning: false\n"
        "        input: [text]\n"
        "        contextWindow: 200000\n"
        "        maxTokens: 8192\n",
    )
    real.write(
        ".omp/agent/config.yml",
        "modelRoles:\n"
        f"  default: {PROVIDER}/{MODEL}\n"
        "startup:\n"
        "  checkUpdate: false\n"
        "  setupWizard: false\n"
        "marketplace:\n"
        '  autoUpdate: "off"\n',
    )


def workdir(real: RealEnv, name: str) -> Path:
    return real.workdir(f"omp-{name}-{secrets.token_hex(2)}")


def session_dir(real: RealEnv, cwd: Path) -> Path:
    """omp's default session folder of a cwd below the home: `-<path, / as ->`."""
    rel = os.path.relpath(cwd, real.home)
    return real.home / ".omp" / "agent" / "sessions" / ("-" + rel.replace("/", "-"))


def sessions(real: RealEnv, cwd: Path) -> dict[str, Path]:
    """Session ID (the header's `id`) -> its file, of the cwd's session folder."""
    out = {}
    for path in session_dir(real, cwd).glob("*.jsonl"):
        try:
            lines = path.read_text(errors="replace").splitlines()[:4]
        except OSError:
            continue
        for line in lines:
            try:
                head = json.loads(line)
            except ValueError:
                continue
            if isinstance(head, dict) and head.get("type") == "session":
                if head.get("cwd") == str(cwd):
                    out[str(head["id"])] = path
                break
    return out


def holding(real: RealEnv, cwd: Path, text: str) -> Optional[str]:
    """The session whose file holds `text` and a reply after it; None while
    there is none (omp writes a new session's file with its first reply)."""
    hits = set()
    for sid, path in sessions(real, cwd).items():
        try:
            data = path.read_text(errors="replace")
        except OSError:
            continue
        at = data.find(json.dumps(text))
        if at >= 0 and json.dumps(REPLY) in data[at:]:
            hits.add(sid)
    assert len(hits) <= 1, f"{text!r} is in several sessions: {hits}"
    return hits.pop() if hits else None


def start(crash: Crash, pane: str, command: str = "omp") -> int:
    crash.send(pane, command)
    pid = crash.tool_pid(pane, "omp")
    crash.wait_screen(pane, READY, 90)
    return pid


def say(crash: Crash, pane: str, cwd: Path, text: str) -> str:
    """Send a message; the session it went into (omp's store), once answered."""
    crash.send(pane, text)
    return answered(crash, pane, text, lambda: holding(crash.real, cwd, text), 10, 40)


def args_after(crash: Crash, old_pane: str) -> list[str]:
    """The arguments of the omp that restore started in `old_pane`'s place
    (its argv: `bun <…>/omp <arguments>`)."""
    argv = crash.argv_in(crash.pane_after(old_pane), "omp")
    at = next(i for i, a in enumerate(argv) if os.path.basename(a) == "omp")
    return argv[at + 1 :]


def terminal_record(real: RealEnv, pid: int) -> list[str]:
    """omp's record for the terminal of process `pid` (~/.omp/agent/
    terminal-sessions/pts-N): the cwd, the session file, extras."""
    tty = os.readlink(f"/proc/{pid}/fd/0")
    assert tty.startswith("/dev/pts/"), tty
    path = real.home / ".omp" / "agent" / "terminal-sessions" / tty[5:].replace("/", "-")
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def test_a_conversation_comes_back(crash: Crash, real: RealEnv) -> None:
    """A message and its reply: restore types `omp --resume <that ID>`, and
    the restored omp reopened it: the message is on screen again, omp's record
    of the new pane's terminal names the session's file, and the next message
    goes into that file (no other session appears)."""
    cwd = workdir(real, "one")
    pane = crash.window(cwd)
    start(crash, pane)
    sid = say(crash, pane, cwd, "omp-first-message")
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["--resume", sid]
    new = crash.pane_after(pane)
    pid = crash.tool_pid(new, "omp")
    crash.wait_screen(new, "omp-first-message", 90)
    path = sessions(real, cwd)[sid]
    wait_for(
        lambda: terminal_record(real, pid)[:2] == [str(cwd), str(path)],
        30,
        "the restored omp's terminal record",
        on_fail=lambda: repr(terminal_record(real, pid)),
    )
    assert say(crash, new, cwd, "omp-after-restore") == sid
    assert list(sessions(real, cwd)) == [sid]


def test_two_panes_in_one_directory(crash: Crash, real: RealEnv) -> None:
    """Two omps in one folder, a message in each, then one more in the first
    (its file is the folder's newest): each pane gets its own session back."""
    cwd = workdir(real, "two")
    one = crash.window(cwd)
    two = crash.window(cwd)
    start(crash, one)
    start(crash, two)
    a = say(crash, one, cwd, "omp-alpha-one")
    b = say(crash, two, cwd, "omp-bravo-two")
    assert a != b
    assert say(crash, one, cwd, "omp-alpha-again") == a
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, one) == ["--resume", a]
    assert args_after(crash, two) == ["--resume", b]
    crash.wait_screen(crash.pane_after(one), "omp-alpha-again", 90)
    screen = crash.wait_screen(crash.pane_after(two), "omp-bravo-two", 90)
    assert "omp-alpha" not in screen


def test_no_message_is_a_fresh_start(crash: Crash, real: RealEnv) -> None:
    """An omp with no message has no session file yet (its terminal record
    names the file to come, marked `fresh`): restore starts `omp` with the
    same flags and no --resume, and no session was made."""
    cwd = workdir(real, "none")
    pane = crash.window(cwd)
    pid = start(crash, pane, "omp --no-title")
    wait_for(
        lambda: "fresh" in terminal_record(real, pid)[2:],
        30,
        "omp's fresh terminal record",
        on_fail=lambda: repr(terminal_record(real, pid)),
    )
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["--no-title"]
    crash.wait_screen(crash.pane_after(pane), READY, 90)
    assert sessions(real, cwd) == {}
