"""Code-loading arguments (issue 14): options whose value makes the tool load
code or configuration (`--settings`, `--mcp-config`, `--plugin-dir`, Gemini's
`--policy`, Codex's `-c`, ...; `code_options` in assistants/). Arguments
recorded from the user's own process are replayed, but a file or folder such
an option names must be the user's or root's and nobody else's to change
(else the pane is skipped, naming option and path), and entries of the
upstream bash plugin's legacy file drop these options altogether."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.helpers import Agent, pane_prompt_ready, records, wait_for
from tests.hostile.conftest import OtherUser, Stats
from tests.screens import screen_lines

A = "c1111111-2222-4333-8444-555555555555"
B = "c2111111-2222-4333-8444-555555555555"
C = "c3111111-2222-4333-8444-555555555555"
SETTINGS = '{"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "arcanary"}]}]}}'


def entry(
    pane: str, cwd: Path, cli_args: list[str], tool: str = "claude", sid: str = A
) -> dict[str, Any]:
    return {
        "pane": pane,
        "tool": tool,
        "session_id": sid,
        "cwd": str(cwd),
        "program": tool,
        "cli_args": cli_args,
        "env": {},
    }


def restore(
    agent: Agent, server: Any, tmp_path: Path, sessions: list[dict[str, Any]]
) -> tuple[Any, list[str]]:
    """A session `x` with one prompt per entry, the sidecar, restore; the first
    pane and its screen before restore."""
    session = server.new_session("x", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    panes = [session.windows[0].panes[0]]
    panes += [session.new_window(start_directory=str(tmp_path)).panes[0] for _ in sessions[1:]]
    for p in panes:
        wait_for(lambda p=p: pane_prompt_ready(p), what="prompt")
    screen = screen_lines(panes[0])
    layout = agent.fake_layout()
    layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
        json.dumps({"version": 1, "sessions": sessions})
    )
    agent.run("restore", "--layout", str(layout))
    return panes[0], screen


def restore_log(agent: Agent) -> str:
    return (agent.resurrect_dir / "assistant-restore.log").read_text()


def typed_line(agent: Agent, address: str) -> Optional[str]:
    """The line restore typed into `address` (from its log), once it has."""
    for line in restore_log(agent).splitlines():
        m = re.search(rf"restored \w+ in {re.escape(address)} \(%\d+\): (.*)$", line)
        if m:
            return m.group(1)
    return None


def write(path: Path, mode: int = 0o644, owner: Optional[OtherUser] = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SETTINGS)
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner.uid, owner.gid)
    return path


# Each: how to make the file, how to pass it, what the skip line says about it.
UNTRUSTED = ["world-writable", "other-user", "open-folder", "other-users-home", "link-to-open"]


def untrusted_file(kind: str, tmp_path: Path, user: OtherUser) -> tuple[Path, str]:
    """(a settings file others can change, why) for each kind."""
    if kind == "world-writable":
        p = write(tmp_path / "conf" / "s.json", 0o666)
        return p, f"{p} is writable by everyone (mode 0666)"
    if kind == "other-user":
        p = write(tmp_path / "conf" / "s.json", 0o644, owner=user)
        return p, f"{p} is owned by uid {user.uid}, not by you (uid 0)"
    if kind == "open-folder":
        p = write(tmp_path / "open" / "s.json")
        p.parent.chmod(0o777)
        return p, f"{p}: its folder {p.parent} is writable by everyone (mode 0777)"
    if kind == "other-users-home":
        p = write(user.home / "s.json", 0o644)  # root's file, in Bob's folder
        return p, f"{p}: its folder {user.home} is owned by uid {user.uid}, not by you (uid 0)"
    open_file = write(tmp_path / "open" / "s.json")
    open_file.parent.chmod(0o777)
    link = tmp_path / "conf" / "s.json"
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(open_file)
    return link, f"{open_file}: its folder {open_file.parent} is writable by everyone (mode 0777)"


@pytest.mark.parametrize("form", ["separate", "equals"])
@pytest.mark.parametrize("option", ["--settings", "--mcp-config"])
@pytest.mark.parametrize("kind", UNTRUSTED)
def test_a_code_file_others_can_change_skips_the_pane(
    kind: str,
    option: str,
    form: str,
    agent: Agent,
    server: Any,
    other_user: OtherUser,
    tmp_path: Path,
    stats: Stats,
) -> None:
    path, why = untrusted_file(kind, tmp_path, other_user)
    args = [option, str(path)] if form == "separate" else [f"{option}={path}"]
    saved = [entry("x:0.0", tmp_path, ["--model", "opus", *args])]
    pane, screen = restore(agent, server, tmp_path, saved)
    stats.cases_generated += 1
    log = restore_log(agent)
    assert f"skip x:0.0: its {option} {why}; not run" in log, log
    time.sleep(0.3)
    assert records() == []
    assert screen_lines(pane) == screen


def test_a_relative_path_is_checked_in_the_saved_directory_and_folders_too(
    agent: Agent, server: Any, other_user: OtherUser, tmp_path: Path, stats: Stats
) -> None:
    """`--settings ./s.json` saved with the project folder as cwd, Bob's
    `--plugin-dir`, and one bad path in Gemini's comma-separated `--policy`."""
    project = tmp_path / "project"
    loose = write(project / "s.json", 0o666)
    plugin = other_user.home / "plugin"
    plugin.mkdir()
    os.chown(plugin, other_user.uid, other_user.gid)
    good = write(tmp_path / "conf" / "ok.toml")
    bad = write(tmp_path / "conf" / "bad.toml", 0o666)
    project_b = tmp_path / "b"
    project_b.mkdir()
    sessions = [
        entry("x:0.0", project, ["--settings", "./s.json"]),
        entry("x:1.0", tmp_path, ["--plugin-dir", str(plugin)], sid=B),
        entry("x:2.0", project_b, ["--policy", f"{good}, ../conf/bad.toml"], "gemini", C),
    ]
    restore(agent, server, tmp_path, sessions)
    stats.cases_generated += len(sessions)
    log = restore_log(agent)
    assert f"skip x:0.0: its --settings {loose} is writable by everyone (mode 0666)" in log, log
    assert (
        f"skip x:1.0: its --plugin-dir {plugin} is owned by uid {other_user.uid}, not by you"
    ) in log, log
    assert f"skip x:2.0: its --policy {bad} is writable by everyone (mode 0666); not run" in log
    time.sleep(0.3)
    assert records() == []


def test_trusted_code_files_and_inline_json_are_replayed_as_recorded(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    settings = write(tmp_path / "conf" / "settings.json")
    inline = '{"permissions": {"allow": ["Read"]}}'
    sessions = [
        entry("x:0.0", tmp_path, ["--settings", str(settings), "--model", "opus"]),
        entry("x:1.0", tmp_path, [f"--mcp-config={inline}"], sid=B),
    ]
    restore(agent, server, tmp_path, sessions)
    stats.cases_generated += len(sessions)
    got = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(records("claude")))
    by_pane = {r["argv"][-1]: r["argv"] for r in got}
    assert by_pane == {
        A: ["--settings", str(settings), "--model", "opus", "--resume", A],
        B: [f"--mcp-config={inline}", "--resume", B],
    }
    line = wait_for(lambda: typed_line(agent, "x:0.0"), what="the typed line")
    assert re.fullmatch(
        rf"(command )?claude --settings {re.escape(str(settings))} --model opus --resume {A}", line
    ), line
    line = wait_for(lambda: typed_line(agent, "x:1.0"), what="the typed line")
    assert re.fullmatch(rf"(command )?claude '--mcp-config={re.escape(inline)}' --resume {B}", line)


def test_legacy_entries_drop_every_code_loading_option(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """The upstream bash plugin's assistant-sessions.json: whoever wrote its
    cli_args, no settings, MCP config, config override or plugin is replayed
    from it, even a trusted file; the other arguments are."""
    settings = write(tmp_path / "conf" / "settings.json")  # trusted, dropped all the same
    session = server.new_session("proj", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    second = session.new_window(start_directory=str(tmp_path)).panes[0]
    for p in (session.windows[0].panes[0], second):
        wait_for(lambda p=p: pane_prompt_ready(p), what="prompt")
    legacy = [
        {
            "pane": "proj:0.0",
            "tool": "claude",
            "session_id": A,
            "cwd": str(tmp_path),
            "pid": "12345",
            "model": "",
            "cli_args": f"--settings {settings} --model opus --mcp-config=/x.json /y.json "
            "--plugin-dir /p --verbose",
            "env": {"tmux_pane": "%1", "shell": "/bin/bash"},
        },
        {
            "pane": "proj:1.0",
            "tool": "codex",
            "session_id": B,
            "cwd": str(tmp_path),
            "pid": "12346",
            "model": "",
            "cli_args": '-c \'mcp_servers.x.command="arcanary"\' -cnotify=["arcanary"] '
            "--config=a=b -m gpt-5 --profile evil --dangerously-bypass-hook-trust",
            "env": {"tmux_pane": "%2", "shell": "/bin/bash"},
        },
    ]
    (agent.resurrect_dir / "assistant-sessions.json").write_text(
        json.dumps({"timestamp": "2026-02-15T20:34:28Z", "sessions": legacy})
    )
    agent.run("restore")
    stats.cases_generated += len(legacy)
    got = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(records()))
    assert {r["tool"]: r["argv"] for r in got} == {
        "claude": ["--model", "opus", "--verbose", "--resume", A],
        "codex": ["-m", "gpt-5", "resume", B],
    }
    log = restore_log(agent)
    assert (
        "proj:0.0: not replaying --settings, --mcp-config, --plugin-dir from the upstream bash "
        "plugin's file (options that load code or configuration)"
    ) in log, log
    assert (
        "proj:1.0: not replaying -c, --config, --profile, --dangerously-bypass-hook-trust "
        "from the upstream bash plugin's file"
    ) in log, log
    line = wait_for(lambda: typed_line(agent, "proj:0.0"), what="the typed line")
    assert re.fullmatch(rf"(command )?claude --model opus --verbose --resume {A}", line), line
