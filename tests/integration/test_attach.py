"""Assistants start when a client shows their session (`@assistant-resurrect-start`).

A real tmux server (libtmux's private socket) and a real client: `tmux attach`
running in a pane of a second, private tmux server, which gives the client a
real terminal. Nothing may be typed before the attach in `attached` mode; the
right command right after it; at once in `immediate` mode.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
from libtmux import Server

from tests.helpers import RUNTIME_SRC, Agent, pane_prompt_ready, records, wait_for
from tests.screens import (
    capture_args,
    lines_of,
    only_prompt,
    screen_lines,
    screen_text,
    shows_prompt,
)

A = "3f1e8a1c-1111-4222-8333-444455556666"
B = "4a2e8a1c-2222-4222-8333-444455556666"
C = "5b3e8a1c-3333-4222-8333-444455556666"
MARK = "restore --pending"


def entry(pane: str, sid: str, cwd: Optional[str] = None, tool: str = "claude") -> dict[str, Any]:
    return {
        "pane": pane,
        "tool": tool,
        "session_id": sid,
        "id_source": "args",
        "cwd": cwd,
        "program": tool,
        "cli_args": [],
        "env": {},
    }


def write_sidecar(agent: Agent, entries: list[dict[str, Any]]) -> Path:
    """A layout (with `last`) and its sidecar, as a save would have left them."""
    layout = agent.fake_layout()
    doc = {"version": 1, "timestamp": "2026-11-25T12:00:00Z", "layout": layout.name}
    doc["sessions"] = entries  # type: ignore[assignment]
    path = layout.with_name(layout.name.replace("tmux_", "assistant_").replace(".txt", ".json"))
    path.write_text(json.dumps(doc))
    return path


def new_pane(server: Server, session: str) -> Any:
    pane = server.new_session(session).windows[0].panes[0]
    wait_for(lambda: pane_prompt_ready(pane), what=f"prompt in {session}")
    return pane


def tmux(server: Server, *args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", str(server.socket_name), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def our_hooks(server: Server) -> list[str]:
    out = tmux(server, "show-hooks", "-g")
    return [ln for ln in out.splitlines() if MARK in ln]


def attached(server: Server, session: str) -> bool:
    out = tmux(server, "list-sessions", "-F", "#{session_name} #{session_attached}")
    return f"{session} 1" in out.splitlines()


def untouched(pane: Any) -> bool:
    """The pane shows its prompt and nothing was typed."""
    return only_prompt(screen_lines(pane))


@contextlib.contextmanager
def client(socket_args: list[str], session: str) -> Iterator[str]:
    """A real tmux client attached to `session`, in a pane of a private outer
    server (a real terminal, 100x30). Yields the outer server's socket name."""
    outer = f"ar-outer-{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    cmd = "exec " + shlex.join(["tmux", *socket_args, "attach-session", "-t", session])
    subprocess.run(
        ["tmux", "-L", outer, "-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30", cmd],
        env=env,
        check=True,
    )
    socket = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / outer
    try:
        yield outer
    finally:
        subprocess.run(["tmux", "-L", outer, "kill-server"], capture_output=True)
        with contextlib.suppress(OSError):
            socket.unlink()


def switch_client(outer: str, socket_args: list[str], session: str) -> None:
    """Make the client in the outer server show `session` (prefix-less: run inside it)."""
    subprocess.run(
        ["tmux", *socket_args, "switch-client", "-c", client_tty(outer), "-t", session],
        check=True,
    )


def client_tty(outer: str) -> str:
    return subprocess.run(
        ["tmux", "-L", outer, "display-message", "-p", "#{pane_tty}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def log_text(agent: Agent) -> str:
    path = agent.resurrect_dir / "assistant-restore.log"
    return path.read_text() if path.exists() else ""


def test_attached_mode_waits_for_the_client(server: Server, agent: Agent, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    pane = new_pane(server, "work")
    write_sidecar(agent, [entry("work:0.0", A, str(proj))])

    started = time.monotonic()
    agent.run("restore")
    assert time.monotonic() - started < 5  # no polling for a client
    assert len(our_hooks(server)) == 2  # client-attached and client-session-changed
    status = agent.run("status").stdout
    assert "1 resume(s) waiting for a client to show their session:" in status
    waiting = status.split("waiting for a client")[1].splitlines()
    assert [ln.split()[:3] for ln in waiting[2:] if ln.strip()] == [["work:0.0", "claude", A]]
    time.sleep(1.0)
    assert records() == []
    assert untouched(pane)

    attach_at = time.monotonic()
    with client(["-L", str(server.socket_name)], "work"):
        got = wait_for(records, what="claude started after the attach")
        assert time.monotonic() - attach_at < 5  # right after it, no polling
        assert got[0]["argv"] == ["--resume", A]
        assert got[0]["cwd"] == str(proj)
        assert got[0]["pane"] == pane.pane_id
        wait_for(lambda: not our_hooks(server), what="hooks removed")
    assert "waiting for a client" not in agent.run("status").stdout
    state = Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])
    assert not list(state.glob("pending-*.json"))
    # A later restore types nothing more and arms nothing.
    agent.run("restore")
    assert our_hooks(server) == []
    time.sleep(0.5)
    assert len(records()) == 1
    assert "a client shows session 'work'" in log_text(agent)


def test_attached_session_types_at_once_others_on_switch(server: Server, agent: Agent) -> None:
    front = new_pane(server, "front")
    back = new_pane(server, "back")
    write_sidecar(agent, [entry("front:0.0", A), entry("back:0.0", B)])
    socket = ["-L", str(server.socket_name)]
    with client(socket, "front") as outer:
        wait_for(lambda: attached(server, "front"), what="client on front")
        agent.run("restore")
        first = wait_for(records, what="front's claude")
        assert [r["argv"] for r in first] == [["--resume", A]]
        assert first[0]["pane"] == front.pane_id
        time.sleep(1.0)
        assert len(records()) == 1
        assert untouched(back)
        assert len(our_hooks(server)) == 2  # only for `back`

        switch_client(outer, socket, "back")  # client-session-changed
        both = wait_for(lambda: records() if len(records()) == 2 else None, what="back's claude")
        by_pane = {r["pane"]: r["argv"] for r in both}
        assert by_pane[back.pane_id] == ["--resume", B]
        wait_for(lambda: not our_hooks(server), what="hooks removed")


def test_dry_run_tells_which_would_wait(server: Server, agent: Agent) -> None:
    new_pane(server, "work")
    write_sidecar(agent, [entry("work:0.0", A)])
    proc = agent.run("restore", "--dry-run")
    assert proc.stdout.strip() == f"work:0.0: command claude --resume {A}"
    assert "work:0.0 would wait for a client to show session 'work'" in proc.stderr
    assert our_hooks(server) == []  # a dry run arms nothing


def test_immediate_mode_types_without_a_client(server: Server, agent: Agent) -> None:
    pane = new_pane(server, "work")
    tmux(server, "set-option", "-g", "@assistant-resurrect-start", "immediate")
    write_sidecar(agent, [entry("work:0.0", A)])
    agent.run("restore")
    got = wait_for(records, what="claude started with no client")
    assert got[0]["argv"] == ["--resume", A]
    assert got[0]["pane"] == pane.pane_id
    assert our_hooks(server) == []


def test_restore_twice_arms_once_and_types_once(server: Server, agent: Agent) -> None:
    pane = new_pane(server, "work")
    new_pane(server, "other")
    write_sidecar(agent, [entry("work:0.0", A), entry("other:0.0", C)])
    agent.run("restore")
    hooks = our_hooks(server)
    assert len(hooks) == 4  # two sessions, two events each
    agent.run("restore")
    assert our_hooks(server) == hooks  # the same hooks, not a second pair
    assert agent.run("status").stdout.count("claude") >= 2
    with client(["-L", str(server.socket_name)], "work"):
        got = wait_for(records, what="claude after the attach")
        time.sleep(1.0)
        assert [r["argv"] for r in records()] == [["--resume", A]]
        assert got[0]["pane"] == pane.pane_id
        wait_for(lambda: len(our_hooks(server)) == 2, what="work's hooks removed, other's kept")
        # The other session still waits; restoring again neither types nor re-arms.
        agent.run("restore")
        assert len(our_hooks(server)) == 2
        time.sleep(0.5)
        assert len(records()) == 1
    status = agent.run("status").stdout
    assert "other:0.0" in status and C in status


def test_guards_are_checked_when_the_client_comes(server: Server, agent: Agent) -> None:
    busy = new_pane(server, "busy")
    running = new_pane(server, "running")
    write_sidecar(agent, [entry("busy:0.0", A), entry("running:0.0", B)])
    agent.run("restore")
    assert len(our_hooks(server)) == 4
    # After restore armed the hooks: one pane got busy, one got an assistant.
    busy.send_keys("cat", enter=True)
    running.send_keys(f"claude --resume {C} &", enter=True)  # the shell stays in front
    wait_for(lambda: len(records()) == 1, what="the user's own claude")
    wait_for(
        lambda: (
            tmux(server, "display-message", "-p", "-t", busy.pane_id, "#{pane_current_command}")
            .strip()
            .endswith("cat")
        ),
        what="cat in the foreground",
    )
    socket = ["-L", str(server.socket_name)]
    with client(socket, "busy") as outer:
        wait_for(lambda: "skip busy:0.0" in log_text(agent), what="busy pane skipped")
        switch_client(outer, socket, "running")
        wait_for(lambda: "skip running:0.0" in log_text(agent), what="running pane skipped")
    time.sleep(0.5)
    assert [r["argv"] for r in records()] == [["--resume", C]]  # only the user's own
    assert screen_text(busy).strip() == "$ cat"
    log = log_text(agent)
    assert "skip busy:0.0: its foreground program is 'cat', not a shell" in log
    assert "skip running:0.0: claude already runs in it" in log
    assert our_hooks(server) == []


@pytest.fixture
def odd_socket(tmp_path: Path, home: Path) -> Iterator[str]:
    """A tmux server whose socket path holds a quote, a space, `$` and `#`."""
    folder = Path("/tmp") / f"ar q'x $HOME #1 {uuid.uuid4().hex[:6]}"
    folder.mkdir(mode=0o700)
    socket = str(folder / "s")
    try:
        yield socket
    finally:
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)
        with contextlib.suppress(OSError):
            os.unlink(socket)
        folder.rmdir()


def test_hook_command_survives_odd_socket_paths(odd_socket: str, home: Path) -> None:
    subprocess.run(
        ["tmux", "-S", odd_socket, "-f", "/dev/null", "new-session", "-d", "-s", "w"], check=True
    )
    env = dict(os.environ, PYTHONPATH=str(RUNTIME_SRC))

    def run(*args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "assistant_resurrect", "-S", odd_socket, *args],
            env=env,
            check=True,
            capture_output=True,
        )

    def prompt() -> bool:
        out = subprocess.run(
            ["tmux", "-S", odd_socket, *capture_args("w:0.0")],
            capture_output=True,
            text=True,
        ).stdout
        return shows_prompt(lines_of(out))

    wait_for(prompt, what="prompt")
    rdir = home / ".tmux" / "resurrect"
    layout = rdir / "tmux_resurrect_20261125T120000.txt"
    layout.write_text("x\n")
    (rdir / "last").symlink_to(layout.name)
    (rdir / "assistant_resurrect_20261125T120000.json").write_text(
        json.dumps({"version": 1, "sessions": [entry("w:0.0", A)]})
    )
    run("restore")
    time.sleep(0.5)
    assert records() == []
    with client(["-S", odd_socket], "w"):
        got = wait_for(records, what="claude after the attach")
    assert got[0]["argv"] == ["--resume", A]


def test_hook_keeps_the_state_dir_restore_used(
    server: Server, agent: Agent, tmp_path: Path
) -> None:
    """The hook runs with the server's environment; restore may have run with
    another one (a manual restore from an ssh shell with XDG_RUNTIME_DIR)."""
    pane = new_pane(server, "work")
    write_sidecar(agent, [entry("work:0.0", A)])
    other = tmp_path / "other-state"
    agent.run("restore", env={"TMUX_ASSISTANT_RESURRECT_DIR": str(other)})
    assert list(other.glob("pending-*.json"))
    with client(["-L", str(server.socket_name)], "work"):
        got = wait_for(records, what="claude after the attach")
    assert got[0]["pane"] == pane.pane_id
    assert not list(other.glob("pending-*.json"))


def test_stale_pending_files_are_ignored_and_pruned(server: Server, agent: Agent) -> None:
    new_pane(server, "work")
    state = Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])
    state.mkdir(mode=0o700, exist_ok=True)
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text()) if Path("/proc").is_dir() else 99999
    dead = state / f"pending-{pid_max + 1}.json"
    dead.write_text("{}")
    server_pid = tmux(server, "display-message", "-p", "#{pid}").strip()
    stale = {  # same PID as this server, but an earlier server's start time
        "version": 1,
        "server_pid": int(server_pid),
        "server_start": "1",
        "socket": "/nonexistent",
        "sessions": {
            "$0": {
                "name": "work",
                "hook_index": 4200,
                "entries": [{"pane_id": "%0", "entry": entry("work:0.0", C)}],
            }
        },
    }
    (state / f"pending-{server_pid}.json").write_text(json.dumps(stale))
    assert C not in agent.run("status").stdout
    write_sidecar(agent, [entry("work:0.0", A)])
    agent.run("restore")
    assert not dead.exists()
    doc = json.loads((state / f"pending-{server_pid}.json").read_text())
    assert [e["entry"]["session_id"] for e in doc["sessions"]["$0"]["entries"]] == [A]
    assert len(our_hooks(server)) == 2


def test_renamed_session_still_starts_killed_one_is_dropped(server: Server, agent: Agent) -> None:
    pane = new_pane(server, "work")
    new_pane(server, "doomed")
    new_pane(server, "third")
    write_sidecar(agent, [entry("work:0.0", A), entry("doomed:0.0", B)])
    agent.run("restore")
    assert len(our_hooks(server)) == 4
    tmux(server, "rename-session", "-t", "work", "renamed")
    tmux(server, "kill-session", "-t", "doomed")
    with client(["-L", str(server.socket_name)], "third"):
        # Any attach runs every armed hook: the killed session's entries and hooks go.
        wait_for(lambda: len(our_hooks(server)) == 2, what="the killed session's hooks removed")
        assert "session 'doomed' is gone" in log_text(agent)
        assert records() == []
    with client(["-L", str(server.socket_name)], "renamed"):
        got = wait_for(records, what="claude in the renamed session")
    assert got[0]["pane"] == pane.pane_id
    assert got[0]["argv"] == ["--resume", A]
    assert our_hooks(server) == []


def test_cannot_wait_so_starts_at_once(server: Server, agent: Agent, tmp_path: Path) -> None:
    """When nothing can be left waiting (here: an unsafe state dir), assistants
    start at once rather than never."""
    pane = new_pane(server, "work")
    write_sidecar(agent, [entry("work:0.0", A)])
    real = tmp_path / "real-state"
    real.mkdir(mode=0o700)
    link = tmp_path / "state-link"
    link.symlink_to(real)
    agent.run("restore", env={"TMUX_ASSISTANT_RESURRECT_DIR": str(link)})
    got = wait_for(records, what="claude started at once")
    assert got[0]["pane"] == pane.pane_id
    assert our_hooks(server) == []
    assert "cannot leave assistants waiting for a client" in log_text(agent)


def test_concurrent_restores_arm_once(server: Server, agent: Agent) -> None:
    new_pane(server, "work")
    write_sidecar(agent, [entry("work:0.0", A)])
    env = dict(os.environ, PYTHONPATH=str(RUNTIME_SRC))
    argv = [sys.executable, "-m", "assistant_resurrect", "-L", str(server.socket_name), "restore"]
    procs = [subprocess.Popen(argv, env=env) for _ in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    assert len(our_hooks(server)) == 2
    with client(["-L", str(server.socket_name)], "work"):
        wait_for(records, what="claude after the attach")
        wait_for(lambda: not our_hooks(server), what="hooks removed")
        time.sleep(0.5)
    assert len(records()) == 1
