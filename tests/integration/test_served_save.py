"""Saves served by the sentinel (served.py, saveserver.py) on a real tmux server:
the hook as tmux-resurrect runs it ($TMUX set, no -L) is done by the running
sentinel, with the same sidecar a cold save writes; anything the sentinel
should not serve, and anything listening that is not a trustworthy sentinel,
leaves the hook to save by itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from libtmux import Server

from assistant_resurrect import __version__, saveserver, sentinel, served
from tests.helpers import RUNTIME_SRC, Agent, records, start_in_pane, wait_for
from tests.integration.test_event_save import events_log, state_dir

if not sys.platform.startswith("linux"):
    pytest.skip("saves are served on Linux only", allow_module_level=True)

A = "0a7c2f4e-1b2c-4d3e-8f90-123456789abc"
B = "1b8d3f5a-2c3d-4e4f-9a01-23456789abcd"


def tmux_var(server: Server) -> str:
    out = server.cmd("display-message", "-p", "#{socket_path},#{pid}").stdout[0]
    return f"{out},0"


def hook_env(server: Server, **extra: str) -> dict[str, str]:
    """The environment of a post-save-layout hook of this server (pytest's own
    variable, which names the test's phase, left out: it differs between the
    fixture that starts the sentinel and the test)."""
    env = dict(os.environ, PYTHONPATH=str(RUNTIME_SRC), TMUX=tmux_var(server), **extra)
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def hook_save(env: dict[str, str], layout: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant_resurrect", "save", str(layout)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def socket_file(server: Server) -> Path:
    pid = tmux_var(server).split(",")[1]
    return state_dir() / served.SOCKET_DIR / served.socket_name(pid)


@pytest.fixture
def panes(server: Server, agent: Agent) -> Server:
    """Two Claude stand-ins, their sessions on their command lines."""
    session = server.new_session("work")
    start_in_pane(session.windows[0].panes[0], f"claude --resume {A}")
    second = session.windows[0].split()
    start_in_pane(second, f"claude --resume {B}")
    wait_for(lambda: len(records("claude")) == 2, what="two claudes")
    return server


@pytest.fixture
def running_sentinel(panes: Server) -> Iterator[subprocess.Popen[bytes]]:
    panes.cmd("set-option", "-g", sentinel.OPTION, "on")
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant_resurrect", "sentinel"],
        env=hook_env(panes),
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: socket_file(panes).exists(),
            timeout=30,
            what="the sentinel listening",
            on_fail=events_log,
        )
        yield proc
    finally:
        proc.kill()
        proc.wait()


def sessions_of(agent: Agent, layout: Path) -> list[tuple[Any, ...]]:
    doc = agent.sidecar(layout)
    return sorted((s["pane"], s["tool"], s["session_id"], s["id_source"]) for s in doc["sessions"])


def test_the_sentinel_does_the_hooks_save(
    panes: Server, agent: Agent, running_sentinel: subprocess.Popen[bytes]
) -> None:
    layout = agent.fake_layout("20261203T100000")
    r = hook_save(hook_env(panes), layout)
    assert r.returncode == 0, r.stderr
    assert "served save 1: exit code 0" in events_log()
    served_sessions = sessions_of(agent, layout)
    assert [s[2] for s in served_sessions] == sorted([A, B])
    # the same sidecar as a save the hook does by itself (-L: never served)
    cold = agent.fake_layout("20261203T100100")
    agent.run("save", str(cold))
    assert sessions_of(agent, cold) == served_sessions
    assert events_log().count("served save") == 1


def test_a_served_hook_imports_none_of_the_save(
    panes: Server, agent: Agent, running_sentinel: subprocess.Popen[bytes]
) -> None:
    layout = agent.fake_layout("20261203T100150")
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "assistant_resurrect", "save", str(layout)],
        capture_output=True,
        text=True,
        env=hook_env(panes),
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    names = {ln.rsplit("|", 1)[1].strip() for ln in r.stderr.splitlines() if "|" in ln}
    assert "assistant_resurrect.served" in names
    heavy = {"assistant_resurrect.save", "assistant_resurrect.tmux", "pathlib", "json", "re"}
    assert not names & heavy, sorted(names & heavy)
    assert [s[2] for s in sessions_of(agent, layout)] == sorted([A, B])


def test_a_long_lived_sentinel_leaks_no_descriptor(
    panes: Server, agent: Agent, running_sentinel: subprocess.Popen[bytes]
) -> None:
    layout = agent.fake_layout("20261203T100200")
    fds = Path(f"/proc/{running_sentinel.pid}/fd")
    assert hook_save(hook_env(panes), layout).returncode == 0
    before = len(os.listdir(fds))
    for _ in range(10):
        r = hook_save(hook_env(panes), layout)
        assert r.returncode == 0, r.stderr
    # (the sentinel's own checks open a few for a moment: a leak stays)
    wait_for(
        lambda: len(os.listdir(fds)) <= before,
        timeout=15,
        what=f"at most {before} descriptors",
        on_fail=lambda: "\n".join(sorted(os.readlink(fds / f) for f in os.listdir(fds))),
    )
    assert sessions_of(agent, layout)


def test_another_environment_is_saved_by_the_hook_itself(
    panes: Server, agent: Agent, running_sentinel: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    layout = agent.fake_layout("20261203T100300")
    r = hook_save(hook_env(panes, XDG_DATA_HOME=str(tmp_path / "elsewhere")), layout)
    assert r.returncode == 0, r.stderr
    assert "save not served: another environment (XDG_DATA_HOME)" in events_log()
    assert "served save" not in events_log()
    assert [s[2] for s in sessions_of(agent, layout)] == sorted([A, B])
    # garbage on the socket: refused, and the sentinel goes on serving
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(socket_file(panes)))
        s.sendall(b"\xff\x00garbage")
        s.shutdown(socket.SHUT_WR)
        assert s.recv(100).startswith(b"NO ")
    assert hook_save(hook_env(panes), layout).returncode == 0
    assert "served save 1: exit code 0" in events_log()
    assert running_sentinel.poll() is None


def test_a_sentinel_of_another_build_makes_way(
    panes: Server, agent: Agent, running_sentinel: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    """After an upgrade the hooks run the new build: the old sentinel refuses
    them, and stops, so that the next save-finish starts one of the new build."""
    other = tmp_path / "other-build"
    (other / "assistant_resurrect").parent.mkdir()
    os.symlink(RUNTIME_SRC / "assistant_resurrect", other / "assistant_resurrect")
    layout = agent.fake_layout("20261203T100250")
    env = dict(hook_env(panes), PYTHONPATH=str(other))
    # the same environment but for the package folder: PYTHONPATH names it for both
    r = hook_save(env, layout)
    assert r.returncode == 0, r.stderr
    assert [s[2] for s in sessions_of(agent, layout)] == sorted([A, B])
    running_sentinel.wait(timeout=30)
    assert "another build of the agent runs the hooks now; stopping" in events_log()
    assert not socket_file(panes).exists()


def fake_listener(path: Path, reply: Callable[[socket.socket], None]) -> socket.socket:
    """Something listening where the sentinel would, answering with `reply`."""
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(4)

    def loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                reply(conn)

    threading.Thread(target=loop, daemon=True).start()
    return listener


def saved_by_the_hook(panes: Server, agent: Agent, stamp: str) -> None:
    """A hook save of a new layout: exit code 0 and both sessions in its sidecar."""
    layout = agent.fake_layout(stamp)
    r = hook_save(hook_env(panes), layout)
    assert r.returncode == 0, r.stderr
    assert [s[2] for s in sessions_of(agent, layout)] == sorted([A, B])


def lie(conn: socket.socket) -> None:
    conn.recv(1 << 20)
    conn.sendall(b"OK 0\n")  # "saved": a lie, nothing was written


@pytest.mark.parametrize("mode", [0o777, 0o770])
def test_a_listener_in_a_folder_others_can_write_is_not_believed(
    panes: Server, agent: Agent, mode: int
) -> None:
    folder = state_dir() / served.SOCKET_DIR
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(mode)
    listener = fake_listener(socket_file(panes), lie)
    try:
        # the hook saved by itself: believing the listener would have written nothing
        saved_by_the_hook(panes, agent, "20261203T100400")
    finally:
        listener.close()
    # the same listener in a private folder is the user's own: believed (the check can fail)
    folder.chmod(0o700)
    socket_file(panes).unlink()
    listener = fake_listener(socket_file(panes), lie)
    try:
        layout = agent.fake_layout("20261203T100500")
        assert hook_save(hook_env(panes), layout).returncode == 0
        assert not (agent.resurrect_dir / "assistant_resurrect_20261203T100500.json").exists()
    finally:
        listener.close()


@pytest.mark.parametrize(
    "reply",
    [
        lambda conn: None,  # closes without a word
        lambda conn: conn.sendall(b"NO busy\n"),
        lambda conn: conn.sendall(b"OK zero\n"),
        lambda conn: conn.sendall(b"\x00" * 64),
    ],
    ids=["silent", "no", "bad-code", "binary"],
)
def test_a_listener_that_does_not_serve_leaves_the_save_to_the_hook(
    panes: Server, agent: Agent, reply: Callable[[socket.socket], None]
) -> None:
    folder = state_dir() / served.SOCKET_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    listener = fake_listener(socket_file(panes), reply)
    try:
        saved_by_the_hook(panes, agent, "20261203T100600")
    finally:
        listener.close()
    # a socket nobody listens on any more (a sentinel killed -9): refused, saved
    saved_by_the_hook(panes, agent, "20261203T100700")


# -- what the sentinel serves (its checks, without a server) -------------------


def request(**change: Any) -> list[bytes]:
    fields = {
        "magic": served.MAGIC,
        "version": __version__.encode(),
        "package": os.fsencode(served.package_dir()),
        "cwd": b"/",
        "layout": b"/r/tmux_resurrect_x.txt",
        "tmux": b"/tmp/tmux-0/default,4242,0",
    }
    env = dict(os.environb)
    env.update(change.pop("env", {}))
    fields.update(change)
    return [*fields.values(), *(k + b"=" + v for k, v in env.items())]


@pytest.mark.parametrize(
    "change, why",
    [
        ({}, None),
        ({"env": {b"SHLVL": b"9", b"TMUX_PANE": b"%3", b"_": b"/bin/x"}}, None),
        ({"layout": b""}, None),
        ({"magic": b"something else"}, "not a save request"),
        ({"version": b"0.0.1"}, "another build of the agent asked: 0.0.1"),
        ({"package": b"/elsewhere/assistant_resurrect"}, "another build of the agent asked"),
        ({"tmux": b"/tmp/tmux-0/other,4242,0"}, "another tmux server"),
        ({"tmux": b"/tmp/tmux-0/default,4343,0"}, "another tmux server"),
        ({"layout": b"relative.txt"}, "a relative layout path"),
        ({"env": {b"CODEX_HOME": b"/x"}}, "another environment (CODEX_HOME)"),
        ({"env": {b"HOME": b"/not/home"}}, "another environment (HOME)"),
    ],
)
def test_what_the_sentinel_refuses(change: dict[str, Any], why: Any) -> None:
    got = saveserver.refusal(request(**change), "/tmp/tmux-0/default", "4242")
    if why is None:
        assert got is None
    else:
        assert got is not None and why in got


def test_a_short_request_is_refused() -> None:
    assert saveserver.refusal([served.MAGIC], "/s", "1") == "not a save request of this agent"
