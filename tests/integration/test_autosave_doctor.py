"""`doctor` says when tmux-continuum is not going to save or restore by itself
(with the real tmux-continuum from ../shared/mirrors where the bundle is
present), and `status` says how old the last save is and whether every
running assistant is in it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from libtmux import Server

from tests.helpers import Agent, records, start_in_pane, wait_for

SHARED = Path(os.environ.get("AR_SHARED_DIR", str(Path(__file__).resolve().parents[3] / "shared")))
CONTINUUM_BUNDLE = SHARED / "mirrors" / "tmux-continuum.bundle"
A = "5b1e8a1c-1111-4222-8333-444455556666"
B = "6c2e8a1c-2222-4222-8333-444455556666"


@pytest.fixture(scope="module")
def continuum(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CONTINUUM_BUNDLE.is_file():
        pytest.skip(f"no real tmux-continuum here ({CONTINUUM_BUNDLE} is absent)")
    dest = tmp_path_factory.mktemp("plugins") / "tmux-continuum"
    subprocess.run(["git", "clone", "-q", str(CONTINUUM_BUNDLE), str(dest)], check=True)
    return dest


def warnings(agent: Agent) -> list[str]:
    out = agent.run("doctor", check=False).stdout.splitlines()
    return [line for line in out if line.startswith("WARNING")]


def load(server: Server, continuum: Path) -> None:
    server.new_session("w")
    server.cmd("set-option", "-g", "@continuum-restore", "on")
    server.cmd("run-shell", str(continuum / "continuum.tmux"))


def test_continuum_loaded_and_alone_gives_no_warning(
    server: Server, agent: Agent, continuum: Path
) -> None:
    load(server, continuum)
    # (servers other tests or people run as this user are another warning's matter)
    found = [w for w in warnings(agent) if "continuum" in w and "another tmux server" not in w]
    assert not found, found


def test_a_theme_that_set_status_right_again(server: Server, agent: Agent, continuum: Path) -> None:
    load(server, continuum)
    server.cmd("set-option", "-g", "status-right", "#[fg=blue]%H:%M")  # what a theme does
    assert any("status-right does not run tmux-continuum's save job" in w for w in warnings(agent))


def test_status_line_off(server: Server, agent: Agent, continuum: Path) -> None:
    load(server, continuum)
    server.cmd("set-option", "-g", "status", "off")
    assert any("the status line is off" in w for w in warnings(agent))


def test_auto_restore_off(server: Server, agent: Agent, continuum: Path) -> None:
    load(server, continuum)
    server.cmd("set-option", "-g", "@continuum-restore", "off")
    assert any("@continuum-restore is not on" in w for w in warnings(agent))


@pytest.fixture
def second_server() -> Iterator[Server]:
    other = Server(socket_name=f"ar-other-{os.getpid()}")
    other.new_session("x")
    try:
        yield other
    finally:
        other.kill()


def test_another_tmux_server(
    server: Server, agent: Agent, continuum: Path, second_server: Server
) -> None:
    load(server, continuum)
    pid = second_server.cmd("display-message", "-p", "#{pid}").stdout[0]
    found = [w for w in warnings(agent) if "another tmux server of yours runs" in w]
    assert found and pid in found[0], warnings(agent)


def test_no_continuum_no_warning_about_it(
    server: Server, agent: Agent, second_server: Server
) -> None:
    server.new_session("w")
    assert not [w for w in warnings(agent) if "continuum" in w]


def test_status_says_the_age_of_the_last_save_and_what_is_missing(
    server: Server, agent: Agent
) -> None:
    session = server.new_session("w")
    start_in_pane(session.windows[0].panes[0], f"claude --resume {A}")
    wait_for(lambda: records("claude"), what="claude started")
    out = agent.run("status").stdout
    assert "last save: none yet" in out
    agent.run("save", str(agent.fake_layout("20261125T100000")))
    out = agent.run("status").stdout
    assert "all 1 running assistant(s) are in it, with their sessions" in out, out
    assert "last save " in out and " s ago" in out
    second = session.new_window("two")
    start_in_pane(second.panes[0], f"claude --resume {B}")
    wait_for(lambda: len(records("claude")) == 2, what="second claude")
    out = agent.run("status").stdout
    assert (
        f"1 of 2 running assistant(s) are in it; not saved as they are now: w:1.0 claude {B}" in out
    ), out
