"""Pi coding agent, the real CLI (`pi`, @mariozechner/pi-coding-agent), through
a real crash (tests/realcli/crash.py): tmux-resurrect's save with our hooks
and event saves, `kill -9` of the server 5 s after the last change, a fresh
server, tmux-resurrect's restore, and what our restore typed.

Pi talks to the fake API through a custom provider in ~/.pi/agent/models.json
(`openai-completions`, the fake API's `/v1/chat/completions`), the default
model set in ~/.pi/agent/settings.json; `PI_OFFLINE=1` (its startup downloads
of fd and ripgrep skipped) is exported by the user's ~/.bashrc for this
module, so that the restored panes' new shells have it too.

A running Pi sets `process.title = "pi"`: its /proc cmdline no longer holds
its arguments, the restored one's neither. What restore typed is read from
its log (`restored pi in <address> (<pane>): <line>`); that the restored Pi
reopened the session is read from Pi's store: its session file (named by
the header's `id`) gets the next message, and no other file appears."""

from __future__ import annotations

import datetime
import json
import secrets
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

from tests.realcli.conftest import CLI_BIN, CLI_PREFIX, RealEnv, answered, wait_for
from tests.realcli.crash import Crash

pytestmark = [
    pytest.mark.realcli,
    pytest.mark.asuser,
    pytest.mark.skipif(not (CLI_BIN / "pi").exists(), reason=f"pi is not under {CLI_BIN}"),
]

PROVIDER = "fake"
MODEL = "stub-model"
READY = MODEL  # the footer of Pi's editor names the model
REPLY = "stub reply"
PACKAGE = CLI_PREFIX / "node_modules" / "@mariozechner" / "pi-coding-agent" / "package.json"


def pi_version() -> Optional[str]:
    try:
        return str(json.loads(PACKAGE.read_text()).get("version") or "") or None
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module")
def pi_home(real: RealEnv) -> Iterator[None]:
    """The fake API as Pi's default provider and model; `PI_OFFLINE=1` in the
    user's shells for this module (the ~/.bashrc is put back afterwards)."""
    assert pi_version()
    real.write(
        ".pi/agent/models.json",
        json.dumps(
            {
                "providers": {
                    PROVIDER: {
                        "baseUrl": f"{real.api.url}/v1",
                        "api": "openai-completions",
                        "apiKey": "realcli-dummy-key",
                        "compat": {
                            "supportsDeveloperRole": False,
                            "supportsReasoningEffort": False,
                        },
                        "models": [
                            {
                                "id": MODEL,
                                "name": "Stub",
                                "reasoning": False,
                                "input": ["text"],
                                "contextWindow": 128000,
                                "maxTokens": 4096,
                            }
                        ],
                    }
                }
            }
        ),
    )
    real.write(
        ".pi/agent/settings.json",
        json.dumps(
            {
                "defaultProvider": PROVIDER,
                "defaultModel": MODEL,
                "enableInstallTelemetry": False,
                "quietStartup": True,
            }
        ),
    )
    bashrc = real.home / ".bashrc"
    before = bashrc.read_text()
    real.write(".bashrc", before + "export PI_OFFLINE=1\n")
    try:
        yield
    finally:
        real.write(".bashrc", before)


@pytest.fixture(autouse=True)
def _pi(pi_home: None) -> None:
    pass


def session_dir(real: RealEnv, cwd: Path) -> Path:
    """Pi's default session folder of `cwd`."""
    name = "--" + str(cwd).lstrip("/").replace("/", "-") + "--"
    return real.home / ".pi" / "agent" / "sessions" / name


@pytest.fixture
def cwd(real: RealEnv, request: pytest.FixtureRequest) -> Path:
    """A folder of the test's own, in which Pi ran before: its session folder
    exists (Pi makes it at start-up) when the crash server's sentinel starts
    (requested before `crash`). The event sentinel starts watching a folder
    that appears only at its next look at the list (every 10 s), taking what
    changed in it meanwhile as its baseline: a first Pi in a new folder whose
    first reply comes within those seconds is saved at the next interval save
    (reported; sentinel.py is not this module's)."""
    path = real.workdir(f"pi-{request.node.name[5:25]}-{secrets.token_hex(2)}")
    real.write(str((session_dir(real, path) / ".keep").relative_to(real.home)), "")
    (session_dir(real, path) / ".keep").unlink()
    return path


def sessions(real: RealEnv, cwd: Path) -> dict[str, str]:
    """Session ID (the header's `id`) -> the file's text, of `cwd`'s session folder."""
    out = {}
    for path in session_dir(real, cwd).glob("*.jsonl"):
        try:
            text = path.read_text(errors="replace")
            head = json.loads(text.splitlines()[0])
        except (OSError, ValueError, IndexError):
            continue
        if head.get("type") == "session" and head.get("cwd") == str(cwd):
            out[str(head["id"])] = text
    return out


def created(real: RealEnv, cwd: Path, sid: str) -> float:
    """When Pi made session `sid` (its header's `timestamp`), epoch seconds."""
    head = json.loads(sessions(real, cwd)[sid].splitlines()[0])
    return datetime.datetime.fromisoformat(head["timestamp"].replace("Z", "+00:00")).timestamp()


def holding(real: RealEnv, cwd: Path, text: str) -> Optional[str]:
    """The session whose file holds `text` and a reply after it (Pi writes a
    session with its first reply); None while there is none."""
    hits = set()
    for sid, data in sessions(real, cwd).items():
        at = data.find(json.dumps(text))
        if at >= 0 and REPLY in data[at:]:
            hits.add(sid)
    assert len(hits) <= 1, f"{text!r} is in several sessions: {hits}"
    return hits.pop() if hits else None


def start(crash: Crash, pane: str, command: str = "pi") -> int:
    crash.send(pane, command)
    pid = crash.tool_pid(pane, "pi")
    crash.wait_screen(pane, READY, 60)
    return pid


def say(crash: Crash, pane: str, cwd: Path, text: str) -> str:
    """Send a message; the session it went into (Pi's store), once answered."""
    crash.send(pane, text)
    return answered(crash, pane, text, lambda: holding(crash.real, cwd, text), 10, 30)


def typed(crash: Crash, old_pane: str) -> list[str]:
    """The arguments restore typed after `pi` into the pane that came back for
    `old_pane` (from the restore log: the restored Pi's cmdline reads `pi`)."""
    pane = crash.pane_after(old_pane)
    addr = crash.addresses[old_pane]
    head = f"restored pi in {addr} ({pane}): "
    log = crash.restore_log()
    last = log[log.rindex("restoring from ") :].splitlines()  # this crash's restore
    lines = [ln for ln in last if head in ln]
    assert len(lines) == 1, f"not one restore of {addr}:\n{crash.logs()}"
    words = shlex.split(lines[0].split(head, 1)[1])
    at = words.index("command")
    assert words[at + 1] == "pi", words
    return words[at + 2 :]


def test_a_conversation_comes_back(cwd: Path, crash: Crash, real: RealEnv) -> None:
    """A message and its reply: restore types `pi --session <that ID>`, and
    the restored Pi has the conversation (on screen, and the next message
    goes into the same session file)."""
    pane = crash.window(cwd)
    start(crash, pane)
    sid = say(crash, pane, cwd, "pi-first-message")
    crash.changed()
    crash.crash_and_restore()
    assert typed(crash, pane) == ["--session", sid]
    new = crash.pane_after(pane)
    crash.tool_pid(new, "pi")
    crash.wait_screen(new, "pi-first-message", 60)  # Pi shows the reopened history
    assert say(crash, new, cwd, "pi-after-restore") == sid
    assert list(sessions(real, cwd)) == [sid]  # no new session was made


def test_two_panes_in_one_directory(cwd: Path, crash: Crash, real: RealEnv) -> None:
    """Two Pis in one folder, a message in each, then one more in the first
    (its file is the folder's newest): each pane gets its own session back."""
    one = crash.window(cwd)
    two = crash.window(cwd)
    start(crash, one)
    a = say(crash, one, cwd, "pi-alpha-one")
    # Pi B starts over a second after Pi A made its session, as a user starts
    # a second Pi: in those first seconds both Pis could have made it.
    made = created(real, cwd, a)
    wait_for(lambda: time.time() > made + 2.5, 10, "a second after A's session was made")
    start(crash, two)
    b = say(crash, two, cwd, "pi-bravo-two")
    assert a != b
    assert say(crash, one, cwd, "pi-alpha-again") == a
    crash.changed()
    crash.crash_and_restore()
    assert (typed(crash, one), typed(crash, two)) == (["--session", a], ["--session", b]), (
        crash.logs()
    )
    one, two = crash.pane_after(one), crash.pane_after(two)
    crash.wait_screen(one, "pi-alpha-again", 60)
    screen = crash.wait_screen(two, "pi-bravo-two", 60)
    assert "pi-alpha" not in screen

    # Restore started both Pis at once, each on a session made long before:
    # a message in the one that started first makes its file the newest,
    # written since either started. Pi's files do not say which Pi writes
    # them: each pane keeps the session restore typed into it.
    first = min((one, two), key=lambda p: started(crash, p))
    mine = a if first == one else b
    assert say(crash, first, cwd, "pi-after-restore") == mine
    # (appending to a session's file is no session change: no event save; the
    # next interval save, run here, records it)
    crash.save()
    crash.changed()
    (crash.rdir / ".restore-done").unlink(missing_ok=True)  # (see crash.crash_and_restore)
    crash.crash_and_restore()
    assert (typed(crash, one), typed(crash, two)) == (["--session", a], ["--session", b]), (
        crash.logs()
    )


def started(crash: Crash, pane: str) -> int:
    """The start time (clock ticks since boot) of the Pi in `pane`."""
    pid = crash.tool_pid(pane, "pi")
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[19])


def test_no_message_is_not_resumed(cwd: Path, crash: Crash, real: RealEnv) -> None:
    """A Pi with no message yet has no session file (Pi writes it with the
    first reply) and its command line is unreadable: nothing names a session,
    so restore types nothing into its pane (it names no other session)."""
    pane = crash.window(cwd)
    start(crash, pane)
    crash.changed()
    crash.crash_and_restore()
    assert sessions(real, cwd) == {}
    assert (None, None) in [(sid, src) for _, sid, src in crash.before_crash]
    addr = crash.addresses[pane]
    log = crash.restore_log()
    assert f"skip {addr}: no session ID was found" in log, log
    assert f"restored pi in {addr}" not in log
