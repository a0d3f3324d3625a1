"""GitHub Copilot CLI, the real CLI, through a real crash (tests/realcli/crash.py).

Copilot runs offline (`COPILOT_OFFLINE=true`) with its own-provider (BYOK)
settings pointed at the fake API's Anthropic form, so a message gets "stub
reply" at once and Copilot writes its session folder
(`~/.copilot/session-state/<uuid>/`, `events.jsonl` from the first message)
as it does for a real model. The settings are environment variables only:
they go in the user's ~/.bashrc, which the panes restore starts source too
(`COPILOT_ALLOW_ALL=true` also trusts the folder, without the trust prompt).

Each case ends with `kill -9` of the tmux server, tmux-resurrect's restore
with a client attached, and a check of what restore started (the exact
`--resume <uuid>` form, or a fresh start) and of the restored screen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pytest

from tests.realcli.conftest import CLI_PREFIX, RealEnv, require, wait_for
from tests.realcli.crash import Crash

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]

VERSION = "1.0.102"
READY = "? help"  # the footer of the prompt screen
ENV_FILE = ".copilot-realcli.sh"


def copilot_version() -> Optional[str]:
    pj = CLI_PREFIX / "node_modules" / "@github" / "copilot" / "package.json"
    try:
        return str(json.loads(pj.read_text()).get("version") or "") or None
    except (OSError, ValueError):
        return None


@pytest.fixture(autouse=True)
def _copilot(real: RealEnv) -> None:
    require("copilot")
    assert copilot_version() == VERSION
    real.write(
        ENV_FILE,
        "export COPILOT_OFFLINE=true COPILOT_AUTO_UPDATE=false COPILOT_ALLOW_ALL=true\n"
        f"export COPILOT_PROVIDER_BASE_URL={real.api.url} COPILOT_PROVIDER_TYPE=anthropic\n"
        "export COPILOT_PROVIDER_API_KEY=sk-realcli-dummy COPILOT_MODEL=claude-sonnet-4.5\n",
    )
    # Added once to the session's ~/.bashrc: restored panes need it too.
    bashrc = (real.home / ".bashrc").read_text()
    line = f". ~/{ENV_FILE}\n"
    if line not in bashrc:
        real.write(".bashrc", bashrc + line)


def state(real: RealEnv) -> Path:
    return real.home / ".copilot" / "session-state"


def workspace(folder: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        text = (folder / "workspace.yaml").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith(" "):
            out[key] = value.strip()
    return out


def session_with(real: RealEnv, cwd: Path, text: str) -> Optional[str]:
    """The session folder of `cwd` whose events.jsonl holds the user message `text`."""
    if not state(real).is_dir():
        return None
    for folder in state(real).iterdir():
        if workspace(folder).get("cwd") != str(cwd):
            continue
        try:
            events = (folder / "events.jsonl").read_text()
        except OSError:
            continue
        if json.dumps(text) in events:
            return folder.name
    return None


def resumable(real: RealEnv, cwd: Path) -> list[str]:
    """Session IDs of `cwd` with an events.jsonl (the ones `--resume` takes)."""
    if not state(real).is_dir():
        return []
    return sorted(
        f.name
        for f in state(real).iterdir()
        if workspace(f).get("cwd") == str(cwd) and (f / "events.jsonl").exists()
    )


def start(crash: Crash, pane: str, command: str) -> int:
    crash.send(pane, command)
    pid = crash.tool_pid(pane, "copilot")
    crash.wait_screen(pane, READY, 90)
    return pid


def say(crash: Crash, pane: str, cwd: Path, text: str) -> str:
    """Send `text`; the session it went to, once the reply is on screen."""
    crash.send(pane, text)
    sid = wait_for(
        lambda: session_with(crash.real, cwd, text),
        60,
        f"the message {text!r} in a copilot events.jsonl",
        on_fail=lambda: crash.capture(pane),
    )
    crash.wait_screen(pane, "stub reply", 40)
    return str(sid)


def args_after(crash: Crash, pane: str) -> list[str]:
    """The arguments of the Copilot restore started (after the launcher's path)."""
    argv = crash.argv_in(crash.pane_after(pane), "copilot")
    at = next(i for i, a in enumerate(argv) if a == "copilot" or a.endswith("/copilot"))
    return argv[at + 1 :]


def test_message_then_crash_resumes_the_session(crash: Crash, real: RealEnv) -> None:
    """`copilot` and a message -> restore types `copilot --resume <that uuid>`
    and Copilot reopens it (the earlier message is on the restored screen)."""
    cwd = real.workdir("copilot-one")
    pane = crash.window(cwd)
    start(crash, pane, "copilot")
    sid = say(crash, pane, cwd, "alpha copilot")
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["--resume", sid]
    after = crash.pane_after(pane)
    crash.wait_screen(after, "alpha copilot", 90)
    crash.wait_screen(after, "stub reply", 30)
    assert resumable(real, cwd) == [sid]  # reopened, no new session made


def test_two_panes_in_one_directory(crash: Crash, real: RealEnv) -> None:
    """Two Copilots in one directory, a message in each, one more in the
    first: each pane is restored to its own session."""
    cwd = real.workdir("copilot-two")
    one = crash.window(cwd)
    two = crash.window(cwd)
    start(crash, one, "copilot")
    start(crash, two, "copilot")
    a = say(crash, one, cwd, "alpha one")
    b = say(crash, two, cwd, "bravo two")
    assert a != b
    crash.send(one, "alpha again")
    wait_for(
        lambda: '"alpha again"' in (state(real) / a / "events.jsonl").read_text(),
        60,
        "the second message in A",
    )
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, one) == ["--resume", a]
    assert args_after(crash, two) == ["--resume", b]
    crash.wait_screen(crash.pane_after(one), "alpha again", 90)
    crash.wait_screen(crash.pane_after(two), "bravo two", 90)


def test_no_message_is_a_fresh_start(crash: Crash, real: RealEnv) -> None:
    """`copilot --model …` and no message: its session folder has no
    events.jsonl (`--resume` would refuse it), so restore starts Copilot
    afresh with the same flags."""
    cwd = real.workdir("copilot-fresh")
    pane = crash.window(cwd)
    start(crash, pane, "copilot --model claude-sonnet-4.5")
    wait_for(
        lambda: (
            state(real).is_dir()
            and any(workspace(f).get("cwd") == str(cwd) for f in state(real).iterdir())
        ),
        30,
        "copilot's session folder",
    )
    crash.changed()
    crash.crash_and_restore()
    assert args_after(crash, pane) == ["--model", "claude-sonnet-4.5"]
    crash.wait_screen(crash.pane_after(pane), READY, 90)
    assert resumable(real, cwd) == []
