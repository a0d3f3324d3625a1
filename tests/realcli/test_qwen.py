"""Qwen Code, the real CLI (`qwen`, @qwen-code/qwen-code), through a real
crash (tests/realcli/crash.py): tmux-resurrect's save with our hooks and
event saves, `kill -9` of the server 5 s after the last change, a fresh
server, tmux-resurrect's restore, and the command our restore started.

Qwen talks to the fake API's `/v1/chat/completions` (OpenAI-compatible auth
chosen in ~/.qwen/settings.json, so no auth dialog; key, base URL and model
in ~/.qwen/.env, which Qwen reads in every shell, the restored panes' new
ones too). Its own store is the judge: the live-session record
`~/.qwen/sessions/<pid>.json` names each process's session, and the
conversation is `~/.qwen/projects/<cwd>/chats/<session>.jsonl`."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from pathlib import Path
from typing import Optional

import pytest

from tests.realcli.conftest import CLI_BIN, CLI_PREFIX, RealEnv, answered, wait_for
from tests.realcli.crash import Crash

pytestmark = [
    pytest.mark.realcli,
    pytest.mark.asuser,
    pytest.mark.skipif(not (CLI_BIN / "qwen").exists(), reason=f"qwen is not under {CLI_BIN}"),
]

MODEL = "stub-model"
READY = "Type your message"
REPLY = "stub reply"
PACKAGE = CLI_PREFIX / "node_modules" / "@qwen-code" / "qwen-code" / "package.json"


def qwen_version() -> Optional[str]:
    try:
        return str(json.loads(PACKAGE.read_text()).get("version") or "") or None
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module")
def qwen_home(real: RealEnv) -> None:
    assert qwen_version()
    real.write(
        ".qwen/settings.json",
        json.dumps(
            {
                "security": {"auth": {"selectedType": "openai"}},
                "model": {"name": MODEL},
                "privacy": {"usageStatisticsEnabled": False},
                "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
            }
        ),
    )
    real.write(
        ".qwen/.env",
        f"OPENAI_API_KEY=realcli-dummy-key\nOPENAI_BASE_URL={real.api.url}/v1\n"
        f"OPENAI_MODEL={MODEL}\n",
    )


@pytest.fixture(autouse=True)
def _qwen(qwen_home: None) -> None:
    pass


@pytest.fixture
def cwd(real: RealEnv, request: pytest.FixtureRequest) -> Path:
    """A folder of the test's own, in which Qwen ran before: its input log
    `~/.qwen/tmp/<sha256(cwd)>/logs.json`, which our event saves watch, exists
    when the crash server's sentinel starts (requested before `crash`). The
    sentinel watches a file that appears only from its next look at the list
    (every 10 s), taking what changed meanwhile as its baseline: a first
    message in a new folder within those seconds is saved at the next
    interval save (reported; sentinel.py is not this module's)."""
    path = real.workdir(f"qwen-{request.node.name[5:25]}-{secrets.token_hex(2)}")
    digest = hashlib.sha256(str(path).encode()).hexdigest()
    real.write(f".qwen/tmp/{digest}/logs.json", "[]")
    return path


def chats(real: RealEnv, cwd: Path) -> Path:
    return real.home / ".qwen" / "projects" / re.sub(r"[^A-Za-z0-9]", "-", str(cwd)) / "chats"


def transcripts(real: RealEnv, cwd: Path) -> dict[str, str]:
    """Session ID -> conversation file text, of `cwd`'s project."""
    out = {}
    for path in chats(real, cwd).glob("*.jsonl"):
        try:
            out[path.name[: -len(".jsonl")]] = path.read_text(errors="replace")
        except OSError:
            continue
    return out


def holding(real: RealEnv, cwd: Path, text: str) -> Optional[str]:
    """The session whose conversation holds `text` and a reply after it."""
    hits = set()
    for sid, data in transcripts(real, cwd).items():
        at = data.find(json.dumps(text))
        if at >= 0 and REPLY in data[at:]:
            hits.add(sid)
    assert len(hits) <= 1, f"{text!r} is in several sessions: {hits}"
    return hits.pop() if hits else None


def record(real: RealEnv, pane_pid: int) -> Optional[dict]:
    """The live-session record (~/.qwen/sessions/<pid>.json) of the Qwen
    running below `pane_pid`."""
    mine = {pid for pid, _ in real.descendants(pane_pid)}
    for path in (real.home / ".qwen" / "sessions").glob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("pid") in mine:
            return data
    return None


def start(crash: Crash, pane: str, command: str = "qwen") -> str:
    """Start Qwen; its session ID once its live-session record names one."""
    crash.send(pane, command)
    crash.tool_pid(pane, "qwen")
    crash.wait_screen(pane, READY, 90)
    rec = wait_for(
        lambda: record(crash.real, crash.pane_pid(pane)),
        30,
        "qwen's session record",
        on_fail=lambda: crash.capture(pane),
    )
    return str(rec["sessionId"])


def say(crash: Crash, pane: str, cwd: Path, text: str) -> str:
    """Send a message; the session it went into (Qwen's store), once answered."""
    crash.send(pane, text)
    return answered(crash, pane, text, lambda: holding(crash.real, cwd, text), 10, 30)


def resumed(crash: Crash, old_pane: str) -> tuple[str, list[str]]:
    """The restored pane and the arguments of the qwen restore started there
    (every process of Qwen's tree carries them)."""
    pane = crash.pane_after(old_pane)
    argv = crash.argv_in(pane, "qwen")
    at = next(i for i, a in enumerate(argv) if a.endswith("/qwen") or a == "qwen")
    return pane, argv[at + 1 :]


def test_a_conversation_comes_back(cwd: Path, crash: Crash, real: RealEnv) -> None:
    """A message and its reply: restore starts `qwen --resume <that ID>`, and
    the restored Qwen reopened it (its live-session record names it, the old
    message is on screen, the next one goes into the same conversation)."""
    pane = crash.window(cwd)
    sid = start(crash, pane)
    assert say(crash, pane, cwd, "qwen-first-message") == sid
    crash.changed()
    crash.crash_and_restore()
    new, args = resumed(crash, pane)
    assert args == ["--resume", sid], crash.logs()
    crash.wait_screen(new, READY, 90)
    rec = wait_for(lambda: record(real, crash.pane_pid(new)), 30, "the restored qwen's record")
    assert rec["sessionId"] == sid
    crash.wait_screen(new, "qwen-first-message", 30)
    assert say(crash, new, cwd, "qwen-after-restore") == sid
    assert list(transcripts(real, cwd)) == [sid]


def test_two_panes_in_one_directory(cwd: Path, crash: Crash, real: RealEnv) -> None:
    """Two Qwens in one folder, a message in each, then one more in the first:
    each pane gets its own session back."""
    one = crash.window(cwd)
    two = crash.window(cwd)
    a = start(crash, one)
    b = start(crash, two)
    assert a != b
    assert say(crash, one, cwd, "qwen-alpha-one") == a
    assert say(crash, two, cwd, "qwen-bravo-two") == b
    assert say(crash, one, cwd, "qwen-alpha-again") == a
    crash.changed()
    crash.crash_and_restore()
    new_one, args_one = resumed(crash, one)
    new_two, args_two = resumed(crash, two)
    assert (args_one, args_two) == (["--resume", a], ["--resume", b]), crash.logs()
    crash.wait_screen(new_one, "qwen-alpha-again", 90)
    screen = crash.wait_screen(new_two, "qwen-bravo-two", 90)
    assert "qwen-alpha" not in screen


def test_no_message_is_a_fresh_start(cwd: Path, crash: Crash, real: RealEnv) -> None:
    """A Qwen with no message yet has a session ID (its record) but no
    conversation (`qwen --resume` of it finds none): restored as `qwen`."""
    pane = crash.window(cwd)
    sid = start(crash, pane)
    crash.changed()
    crash.crash_and_restore()
    assert sid not in transcripts(real, cwd)
    new, args = resumed(crash, pane)
    assert args == [], crash.logs()
    crash.wait_screen(new, READY, 90)  # a Qwen at its prompt, not a shell
    assert "No saved session found" not in crash.capture(new)
    rec = wait_for(lambda: record(real, crash.pane_pid(new)), 30, "the restored qwen's record")
    assert rec["sessionId"] != sid
