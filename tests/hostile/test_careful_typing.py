"""Restore types like a careful person (issue 14): never after what the user
half-typed, never in vi command mode, never into copy mode, a synchronized
window or a script's `read`, never a line tmux cannot take; and a pane it
refuses never stops the others. Real bash, zsh, fish and dash in real tmux."""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Agent, records, wait_for
from tests.hostile.conftest import Stats, record_data_loss
from tests.hostile.test_restore_guards import IDS, entry, marker, write_sidecar
from tests.integration.test_attach import client
from tests.screens import screen_text

SHELLS = {
    "bash": "bash",  # the throwaway HOME's .bashrc: PS1='$ '
    "zsh": "zsh -f",
    "fish": "fish --no-config",
    "dash": "dash -i",
}


def need(shell: str) -> None:
    if not shutil.which(SHELLS[shell].split()[0]):
        pytest.skip(f"{shell} is not installed")


def quick(server: Any, mode: str) -> None:
    """The start mode; no stagger and no exit check (they only add waiting here)."""
    server.cmd("set-option", "-g", "@assistant-resurrect-start", mode)
    server.cmd("set-option", "-g", "@assistant-resurrect-stagger", "0")
    server.cmd("set-option", "-g", "@assistant-resurrect-check", "0")


def fmt(server: Any, pane_id: str, what: str) -> str:
    out = server.cmd("display-message", "-p", "-t", pane_id, what).stdout
    return out[0] if out else ""


def cursor_line(server: Any, pane_id: str) -> str:
    """The pane's cursor row up to the cursor."""
    x, y = (int(v) for v in fmt(server, pane_id, "#{cursor_x} #{cursor_y}").split())
    rows = server.cmd("capture-pane", "-p", "-N", "-t", pane_id).stdout
    return (rows[y] if y < len(rows) else "")[:x]


def prompt_shown(server: Any, pane_id: str, shell: str) -> bool:
    """The pane's shell shows its prompt and its screen stays the same."""
    if fmt(server, pane_id, "#{pane_current_command}") != shell:
        return False
    first = cursor_line(server, pane_id)
    time.sleep(0.2)
    return bool(first.strip()) and cursor_line(server, pane_id) == first


def log_text(agent: Agent) -> str:
    path = agent.resurrect_dir / "assistant-restore.log"
    return path.read_text() if path.exists() else ""


def shell_session(server: Any, name: str, shell: str, cwd: Path) -> Any:
    session = server.new_session(name, window_command=SHELLS[shell], start_directory=str(cwd))
    pane = session.windows[0].panes[0]
    wait_for(lambda: prompt_shown(server, pane.pane_id, shell), what=f"{shell}'s prompt")
    return session


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_a_half_typed_rm_rf_is_never_completed(
    shell: str, agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """Seen: the user had typed `rm -rf ` when the client attached, restore typed
    `cd -- ~/proj && claude --resume ...` after it and ~/proj was gone."""
    need(shell)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "work.txt").write_text("a day of work\n")
    session = shell_session(server, "work", shell, tmp_path)
    quick(server, "attached")
    pane = session.windows[0].panes[0]
    layout = write_sidecar(agent, [entry("work:0.0", IDS[0], proj)])
    agent.run("restore", "--layout", str(layout))  # no client: the session waits
    wait_for(lambda: "waiting for a client" in log_text(agent), what="the session to wait")
    pane.send_keys("rm -rf ", enter=False, literal=True)
    wait_for(lambda: cursor_line(server, pane.pane_id).endswith("rm -rf "), what="the echo")
    stats.cases_generated += 1
    with client(["-L", server.socket_name], "work"):
        wait_for(
            lambda: "work:0.0" in log_text(agent).split("a client shows session")[-1],
            timeout=20,
            what="the pending run to handle the pane",
        )
        time.sleep(0.5)
        if not (proj / "work.txt").exists():
            record_data_loss(stats, f"{proj} was removed through the half-typed line")
        assert "skip work:0.0: its command line is not empty" in log_text(agent)
        assert records() == []
        assert cursor_line(server, pane.pane_id).endswith("rm -rf "), screen_text(pane)
        assert "--resume" not in screen_text(pane)
    assert not marker(server, pane.pane_id)


def test_vi_command_mode_is_refused(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    session = shell_session(server, "vi", "bash", tmp_path)
    quick(server, "immediate")
    pane = session.windows[0].panes[0]
    pane.send_keys("set -o vi", enter=True)
    time.sleep(0.3)
    pane.send_keys("clear", enter=True)
    wait_for(lambda: prompt_shown(server, pane.pane_id, "bash"), what="the prompt")
    pane.send_keys("Escape", enter=False)
    time.sleep(0.3)
    layout = write_sidecar(agent, [entry("vi:0.0", IDS[0], tmp_path)])
    agent.run("restore", "--layout", str(layout), "--timeout", "5")
    stats.cases_generated += 1
    time.sleep(0.5)
    log = log_text(agent)
    assert "skip vi:0.0: a typed space did not appear at the cursor" in log, log
    assert records() == []
    assert "--resume" not in screen_text(pane)


def test_copy_mode_is_refused_and_the_other_panes_restored(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    session = shell_session(server, "cm", "bash", tmp_path)
    quick(server, "immediate")
    others = [session.new_window() for _ in range(2)]
    for w in others:
        wait_for(lambda w=w: prompt_shown(server, w.panes[0].pane_id, "bash"), what="prompt")
    first = session.windows[0].panes[0]
    server.cmd("copy-mode", "-t", first.pane_id)
    assert fmt(server, first.pane_id, "#{pane_in_mode}") == "1"
    sessions = [entry("cm:0.0", IDS[0], tmp_path)]
    sessions += [
        entry(f"cm:{w.window_index}.0", IDS[i + 1], tmp_path) for i, w in enumerate(others)
    ]
    layout = write_sidecar(agent, sessions)
    agent.run("restore", "--layout", str(layout), "--timeout", "5")
    stats.cases_generated += len(sessions)
    try:
        got = wait_for(lambda: len(records("claude")) >= len(others) and records("claude"))
    except AssertionError:
        got = records("claude")
    missing = len(others) - len(got)
    if missing > 0:
        stats.sessions_lost += missing
    assert sorted(r["pane"] for r in got) == sorted(w.panes[0].pane_id for w in others)
    log = log_text(agent)
    assert "skip cm:0.0: it is in copy or view mode" in log, log
    server.cmd("send-keys", "-t", first.pane_id, "-X", "cancel")
    assert "--resume" not in screen_text(first)


def test_a_synchronized_window_is_refused(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """With synchronize-panes on, the line would also land in a sibling pane
    running `cat > file`."""
    session = shell_session(server, "sync", "bash", tmp_path)
    quick(server, "immediate")
    window = session.windows[0]
    out = tmp_path / "cat-output.txt"
    window.split(shell=f"cat > {out}")
    wait_for(lambda: out.exists(), what="cat to start")
    window.set_window_option("synchronize-panes", "on")
    layout = write_sidecar(agent, [entry("sync:0.0", IDS[0], tmp_path)])
    agent.run("restore", "--layout", str(layout), "--timeout", "3")
    stats.cases_generated += 1
    time.sleep(0.5)
    assert out.read_text() == ""
    assert records() == []
    log = log_text(agent)
    assert "synchronize-panes on" in log, log


def test_a_pane_whose_own_process_is_a_script_is_refused(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """`bash -c 'echo hi; read answer; ...'` as the pane's own process: its name is
    bash, its foreground group is the pane's, but it is no prompt."""
    answer = tmp_path / "answer.txt"
    script = f'echo hi; read answer; printf %s "$answer" > {answer}; sleep 600'
    session = server.new_session(
        "script", window_command=f"bash -c '{script}'", start_directory=str(tmp_path)
    )
    quick(server, "immediate")
    pane = session.windows[0].panes[0]
    wait_for(lambda: "hi" in screen_text(pane), what="the script's output")
    layout = write_sidecar(agent, [entry("script:0.0", IDS[0], tmp_path)])
    agent.run("restore", "--layout", str(layout), "--timeout", "3")
    stats.cases_generated += 1
    time.sleep(0.5)
    assert not answer.exists(), f"the script read {answer.read_text()!r}"
    log = log_text(agent)
    assert "a program, not an interactive shell" in log, log


def test_a_line_too_long_for_tmux_is_refused_and_the_others_restored(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    session = shell_session(server, "long", "bash", tmp_path)
    quick(server, "immediate")
    others = [session.new_window() for _ in range(2)]
    for w in others:
        wait_for(lambda w=w: prompt_shown(server, w.panes[0].pane_id, "bash"), what="prompt")
    big = {**entry("long:0.0", IDS[0], tmp_path), "cli_args": ["--append", "A" * 20480]}
    sessions = [big]
    sessions += [
        entry(f"long:{w.window_index}.0", IDS[i + 1], tmp_path) for i, w in enumerate(others)
    ]
    layout = write_sidecar(agent, sessions)
    agent.run("restore", "--layout", str(layout), "--timeout", "5")
    stats.cases_generated += len(sessions)
    with contextlib.suppress(AssertionError):  # counted below
        wait_for(lambda: len(records("claude")) >= len(others))
    got = records("claude")
    if len(got) < len(others):
        stats.sessions_lost += len(others) - len(got)
    assert sorted(r["pane"] for r in got) == sorted(w.panes[0].pane_id for w in others)
    log = log_text(agent)
    assert "skip long:0.0: its command line is " in log, log
    assert "more than tmux takes in one command" in log, log
    # And every rerun is the same: the long line never blocks the others.
    agent.run("restore", "--layout", str(layout), "--timeout", "3")
    assert log_text(agent).count("more than tmux takes in one command") == 2


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_prompt_mode_types_the_line_and_never_runs_it(
    shell: str, agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    need(shell)
    session = shell_session(server, "pr", shell, tmp_path)
    quick(server, "prompt")
    pane = session.windows[0].panes[0]
    layout = write_sidecar(agent, [entry("pr:0.0", IDS[0], tmp_path)])
    agent.run("restore", "--layout", str(layout), "--timeout", "5")
    stats.cases_generated += 1
    wait_for(lambda: "waiting for your Enter" in log_text(agent), what="the typed line")
    joined = server.cmd("capture-pane", "-p", "-J", "-t", pane.pane_id).stdout
    # (tmux 3.1c does not join fish's wrapped rows: the rows are put together)
    assert f"--resume {IDS[0]}" in "".join(joined), joined
    time.sleep(0.5)
    assert records() == []
    assert marker(server, pane.pane_id) == [IDS[0]]
    agent.run("restore", "--layout", str(layout), "--timeout", "3")  # never a second copy
    time.sleep(0.3)
    assert screen_text(pane).count("--resume") == 1
    pane.send_keys("", enter=True)  # the user's Enter
    wait_for(lambda: records("claude"), what="claude after the user's Enter")


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_each_shell_gets_its_line_with_the_checks(
    shell: str, agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """Counter-check: at an empty prompt every shell gets its line and runs it."""
    need(shell)
    shell_session(server, "ok", shell, tmp_path)
    quick(server, "immediate")
    layout = write_sidecar(agent, [entry("ok:0.0", IDS[0], tmp_path)])
    agent.run("restore", "--layout", str(layout), "--timeout", "5")
    stats.cases_generated += 1
    stats.commands_typed_in_real_shells += 1
    got = wait_for(lambda: records("claude"), what=f"claude typed into {shell}")
    assert got[0]["argv"][-1] == IDS[0]
