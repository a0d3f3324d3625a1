"""The Claude hooks inside real panes, and pane listings with hostile names."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from libtmux import Server

from tests.helpers import RUNTIME_SRC, Agent, records, start_in_pane, wait_for
from tests.screens import screen_lines_at, shows_prompt
from tests.tmuxinfo import tmux_release

SID = "9b2c7d4e-aaaa-4bbb-8ccc-ddddeeeeffff"


def _hook_command(name: str) -> str:
    return (
        f"PYTHONPATH={shlex.quote(str(RUNTIME_SRC))} {shlex.quote(sys.executable)} "
        f"-m assistant_resurrect hook {name}"
    )


def test_session_start_hook_records_claude_pid_and_env(server: Server, agent: Agent) -> None:
    session = server.new_session("w")
    server.cmd("set-option", "-g", "@assistant-resurrect-capture-env", "AR_PROFILE AR_KEY")
    payload = {
        "session_id": SID,
        "transcript_path": "/x.jsonl",
        "source": "startup",
        "future_field": [1, 2],
    }
    start_in_pane(
        session.windows[0].panes[0],
        "AR_PROFILE=dev AR_KEY=hidden AR_FAKE_HOOK="
        + shlex.quote(_hook_command("claude-session-start"))
        + " AR_FAKE_HOOK_STDIN="
        + shlex.quote(json.dumps(payload))
        + " claude",
    )
    state = Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])
    claude_pid = wait_for(lambda: records("claude"), what="claude")[0]["pid"]
    path = wait_for(
        lambda: (
            state / f"claude-{claude_pid}.json"
            if (state / f"claude-{claude_pid}.json").exists()
            else None
        ),
        what="state file keyed by claude's pid",
    )
    data = json.loads(path.read_text())
    assert data["session_id"] == SID and data["future_field"] == [1, 2]
    assert data["tool"] == "claude" and data["pid"] == claude_pid
    assert data["env"] == {"AR_PROFILE": "dev"}  # AR_KEY looks like a secret
    assert (path.stat().st_mode & 0o777) == 0o600
    assert (state.stat().st_mode & 0o777) == 0o700
    with open(f"/proc/{claude_pid}/stat") as fh:
        assert isinstance(data["start_time"], float) and fh.read()


def test_session_end_hook_removes_only_its_file(server: Server, agent: Agent) -> None:
    session = server.new_session("w")
    go = Path(os.environ["AR_RECORD_DIR"]) / "GO"
    hook = f"while [ ! -e {go} ]; do sleep 0.05; done; " + _hook_command("claude-session-end")
    start_in_pane(session.windows[0].panes[0], f"AR_FAKE_HOOK={shlex.quote(hook)} claude")
    claude_pid = wait_for(lambda: records("claude"), what="claude")[0]["pid"]
    state = Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])
    state.mkdir(mode=0o700, exist_ok=True)
    mine, other = state / f"claude-{claude_pid}.json", state / "claude-1.json"
    for f in (mine, other):
        f.write_text("{}")
    proc = agent.run("hook", "claude-session-end", stdin="{}")
    assert proc.returncode == 0 and mine.exists()  # not run from claude: nothing removed
    assert "no claude process above" in (state / "hooks.log").read_text()
    go.touch()  # now Claude's own SessionEnd hook runs
    wait_for(lambda: not mine.exists(), what="claude's state file removed")
    assert other.exists()


def test_hook_outside_claude_is_harmless(agent: Agent) -> None:
    proc = agent.run("hook", "claude-session-start", stdin=json.dumps({"session_id": SID}))
    assert proc.returncode == 0 and proc.stdout == ""
    proc = agent.run("hook", "claude-session-start", stdin="not json")
    assert proc.returncode == 0
    log = (Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"]) / "hooks.log").read_text()
    assert "stdin is not JSON" in log and "no claude process above" in log


def test_hostile_session_names_and_cwds_parse(server: Server, agent: Agent, tmp_path: Path) -> None:
    """(libtmux itself cannot list such a session, so raw tmux commands drive it.)"""
    cwd = tmp_path / "a|b\tc\nd ünï $(x) 'q'"
    cwd.mkdir()
    name = "s|1\tx ü"
    server.new_session("plain")
    if tmux_release() >= (3, 7):  # 3.7 refuses control characters in session names
        refused = server.cmd("new-session", "-d", "-s", name, "-c", str(cwd))
        assert "invalid session name" in "\n".join(refused.stderr), refused.stderr
        name = name.replace("\t", " ")
    server.cmd("new-session", "-d", "-s", name, "-c", str(cwd))
    if (3, 2) <= tmux_release() < (3, 7):
        name = name.replace("\t", "\\t")  # tmux 3.2+ stores control characters escaped
    target = server.cmd("list-panes", "-t", f"={name}", "-F", "#{pane_id}").stdout[0]

    def prompt() -> bool:
        return shows_prompt(screen_lines_at(server, target))

    wait_for(prompt, what="prompt in the hostile session")
    server.cmd("send-keys", "-t", target, "-l", f"codex resume {SID}")
    server.cmd("send-keys", "-t", target, "Enter")
    wait_for(lambda: records("codex"), what="codex")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    (entry,) = agent.sidecar(layout)["sessions"]
    assert entry["session_name"] == name
    assert entry["pane"] == f"{name}:0.0"
    assert entry["cwd"] == str(cwd)
