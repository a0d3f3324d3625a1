"""`doctor` names the tmux version and warns when it is outside the tested range."""

from __future__ import annotations

import shutil
from pathlib import Path

from libtmux import Server

from assistant_resurrect.doctor import tmux_outside_tested
from tests.helpers import Agent
from tests.tmuxinfo import tmux_version


def test_doctor_names_the_tmux_under_test_without_a_warning(server: Server, agent: Agent) -> None:
    server.new_session("w")
    out = agent.run("doctor", check=False).stdout.splitlines()
    assert any(line.startswith(f"ok: {tmux_version()} at ") for line in out), out
    assert not [line for line in out if line.startswith("WARNING")], out


def test_doctor_warns_about_a_tmux_outside_the_tested_range(
    server: Server, agent: Agent, tmp_path: Path
) -> None:
    server.new_session("w")
    real = shutil.which("tmux")
    wrapper = tmp_path / "tmux"
    wrapper.write_text(
        f'#!/bin/sh\nfor a; do [ "$a" = -V ] && {{ echo "tmux 2.9a"; exit 0; }}; done\n'
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    out = agent.run(
        "doctor", check=False, env={"TMUX_ASSISTANT_RESURRECT_TMUX": str(wrapper)}
    ).stdout.splitlines()
    assert f"ok: tmux 2.9a at {wrapper}" in out, out
    warnings = [line for line in out if line.startswith("WARNING")]
    assert warnings == [
        "WARNING: tmux 2.9a is outside the tested range (tmux 3.1 to 3.7); "
        "saves and restores may fail"
    ]


def test_tested_range_bounds() -> None:
    assert tmux_outside_tested("tmux 3.1c") == ""
    assert tmux_outside_tested("tmux 3.5a") == ""
    assert tmux_outside_tested("tmux 3.7c") == ""
    assert "outside the tested range" in tmux_outside_tested("tmux 3.0a")
    assert "outside the tested range" in tmux_outside_tested("tmux next-3.8")
    assert "cannot tell the release" in tmux_outside_tested("tmux master")


def test_doctor_reports_a_resurrect_dir_others_can_write(
    server: Server, agent: Agent, tmp_path: Path
) -> None:
    """Save and restore refuse a shared folder (mode 1777): doctor says so and why."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    server.new_session("w")
    server.cmd("set-option", "-g", "@resurrect-dir", str(shared))
    proc = agent.run("doctor", check=False)
    problems = [line for line in proc.stdout.splitlines() if "writable by everyone" in line]
    assert proc.returncode == 1 and len(problems) == 1, proc.stdout
    assert f"chmod go-w {shared}" in problems[0]
    shared.chmod(0o700)
    assert not [
        line
        for line in agent.run("doctor", check=False).stdout.splitlines()
        if "writable by" in line
    ]


def test_doctor_warns_about_a_stagger_that_is_no_number(server: Server, agent: Agent) -> None:
    server.new_session("w")
    server.cmd("set-option", "-g", "@assistant-resurrect-stagger", "soon")
    out = agent.run("doctor", check=False).stdout.splitlines()
    warnings = [line for line in out if line.startswith("WARNING")]
    assert len(warnings) == 1 and "@assistant-resurrect-stagger is 'soon'" in warnings[0], out
