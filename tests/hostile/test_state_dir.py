"""State dir attacks (another user's directory, a symlink, group/world
writable) are refused with a clear message; everything is written private."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import RUNTIME_SRC, Agent, records, start_in_pane, wait_for
from tests.hostile.conftest import Stats, check_canaries
from tests.tmuxinfo import tmux_release

SESSION_ID = "5b4a3c2d-1e0f-4a1b-8c2d-3e4f5a6b7c8d"


@pytest.fixture
def umask0() -> Iterator[None]:
    """Run the agent with umask 000: modes must not depend on the umask."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def run_hook(fake_bin: Path, tmp_path: Path, payload: dict[str, Any]) -> str:
    """A stand-in claude runs our SessionStart hook as its child; the hook's stderr."""
    err = tmp_path / f"hook-err-{os.urandom(3).hex()}"
    done = err.with_suffix(".done")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(RUNTIME_SRC)
    env["AR_FAKE_HOOK"] = (
        f"{sys.executable} -m assistant_resurrect hook claude-session-start 2>{err}; : >{done}"
    )
    env["AR_FAKE_HOOK_STDIN"] = json.dumps(payload)
    proc = subprocess.Popen([str(fake_bin / "claude")], env=env)
    try:
        wait_for(done.exists, what="the hook to finish")
    finally:
        proc.terminate()
        proc.wait()
    return err.read_text()


def state_dir() -> Path:
    return Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])


def refused(home: Path, tmp_path: Path, stats: Stats, words: str) -> None:
    """The hook refuses the state dir with one clear stderr line and writes nothing."""
    stats.faults_injected += 1
    err = run_hook(tmp_path / "bin", tmp_path, {"session_id": SESSION_ID})
    assert words in err, err
    assert "TMUX_ASSISTANT_RESURRECT_DIR" in err or "chmod 700" in err, err
    assert err.count("\n") == 1, err


def test_a_state_dir_of_another_user_is_refused(home: Path, tmp_path: Path, stats: Stats) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to make a directory owned by another user")
    d = state_dir()
    d.mkdir(mode=0o700)
    os.chown(d, 65534, 65534)  # nobody
    refused(home, tmp_path, stats, "owned by uid 65534")
    assert list(d.iterdir()) == []


def test_a_symlinked_state_dir_is_refused(home: Path, tmp_path: Path, stats: Stats) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    state_dir().symlink_to(target)
    refused(home, tmp_path, stats, "is a symlink")
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777, 0o720, 0o702, 0o1777])
def test_a_group_or_world_writable_state_dir_is_refused(
    mode: int, home: Path, tmp_path: Path, stats: Stats
) -> None:
    d = state_dir()
    d.mkdir()
    os.chmod(d, mode)
    refused(home, tmp_path, stats, "writable by group or others")
    assert list(d.iterdir()) == []


def test_a_file_in_place_of_the_state_dir_is_refused(
    home: Path, tmp_path: Path, stats: Stats
) -> None:
    state_dir().write_text("")
    stats.faults_injected += 1
    err = run_hook(tmp_path / "bin", tmp_path, {"session_id": SESSION_ID})
    assert "not a directory" in err, err


def test_the_hook_writes_a_private_state_file_into_a_private_dir(
    home: Path, tmp_path: Path, umask0: None
) -> None:
    """The check above can pass: with a fresh state dir the hook records the
    session, 0700/0600 even under umask 000."""
    err = run_hook(tmp_path / "bin", tmp_path, {"session_id": SESSION_ID})
    assert err == ""
    d = state_dir()
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    (f,) = d.glob("claude-*.json")
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert json.loads(f.read_text())["session_id"] == SESSION_ID
    for other in d.iterdir():
        assert stat.S_IMODE(other.stat().st_mode) & 0o077 == 0, other


def test_save_and_restore_write_private_files(
    agent: Agent, server: Any, tmp_path: Path, umask0: None
) -> None:
    """Sidecar, lock and logs are 0600 whatever the umask."""
    session = server.new_session("work", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    start_in_pane(session.windows[0].panes[0], f"claude --resume {SESSION_ID}")
    wait_for(lambda: records("claude"), what="claude to start")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    agent.run("save-finish")
    agent.run("restore", "--layout", str(layout))
    written = [
        p
        for p in agent.resurrect_dir.iterdir()
        if p.name.startswith(("assistant", ".assistant")) and not p.is_symlink()
    ]
    names = {p.name for p in written}
    assert {"assistant_resurrect_20261125T120000.json", "assistant-save.log"} <= names, names
    assert "assistant-restore.log" in names and ".assistant-resurrect.lock" in names, names
    for p in written:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, f"{p.name}: {p.stat().st_mode:o}"


def test_logs_never_follow_a_planted_symlink(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """A log (or the lock) that someone replaced with a symlink to a file of
    ours, say ~/.bashrc, never gets our lines appended to that file."""
    victim = agent.home / ".bashrc"
    before = victim.read_bytes()
    lock_target = tmp_path / "not-a-lock"
    server.new_session("work")
    for name in ("assistant-save.log", "assistant-restore.log"):
        (agent.resurrect_dir / name).symlink_to(victim)
    (agent.resurrect_dir / ".assistant-resurrect.lock").symlink_to(lock_target)
    layout = agent.fake_layout()
    stats.faults_injected += 3
    save = agent.run("save", str(layout), check=False)
    assert save.returncode != 0 and "is a symlink; remove it" in save.stderr, save.stderr
    agent.run("restore", "--layout", str(layout), check=False)
    assert victim.read_bytes() == before
    assert not lock_target.exists()


def test_log_lines_carry_no_control_characters(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """Values logged (pane addresses from session names, reasons) cannot forge
    log lines or send terminal escapes to whoever reads the log."""
    # (raw tmux: libtmux cannot list a name holding a newline, which tmux 3.1 keeps
    # raw; tmux 3.7 refuses such a name, and the sidecar's fields below remain)
    name = "evil\x1b]0;pwned\x07\nforged line"
    if tmux_release() >= (3, 7):
        name = "evil ]0;pwned forged line"
    server.cmd("new-session", "-d", "-s", name)
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    layout = agent.fake_layout()
    sidecar = layout.with_name("assistant_resurrect_20261125T120000.json")
    sidecar.write_text(
        json.dumps(
            {
                "version": 1,
                "sessions": [
                    {
                        "pane": "x\x1b[2J\nforged:0.0",
                        "tool": "claude\x1b[31m",
                        "session_id": SESSION_ID,
                    },
                    {"pane": "y\r\nforged:0.0", "tool": "claude", "session_id": "\x1b]52;c;\x07"},
                ],
            }
        )
    )
    stats.cases_generated += 2
    agent.run("restore", "--layout", str(layout))
    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    assert not any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F for c in log), repr(log)
    assert all(line.startswith("[") for line in log.splitlines()), log


HOOK_PAYLOADS = {
    "empty": b"",
    "not json": b"{session_id: x",
    "array": b"[]",
    "id a number": b'{"session_id": 5}',
    "id an object": b'{"session_id": {"a": 1}}',
    "deep nesting": b"[" * 100000 + b"]" * 100000,
    "binary": bytes(range(256)),
    "huge": b'{"session_id": "' + b"a" * 5_000_000 + b'"}',
}


@pytest.mark.parametrize("name", sorted(HOOK_PAYLOADS))
def test_the_session_start_hook_survives_any_payload(
    name: str, home: Path, tmp_path: Path, stats: Stats
) -> None:
    """Claude runs the hook on every start: whatever it is given, it exits 0
    without a traceback (a failing hook is shown to the user by Claude)."""
    env = dict(os.environ, PYTHONPATH=str(RUNTIME_SRC))
    proc = subprocess.run(
        [sys.executable, "-m", "assistant_resurrect", "hook", "claude-session-start"],
        input=HOOK_PAYLOADS[name],
        env=env,
        capture_output=True,
        timeout=60,
    )
    stats.faults_injected += 1
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr and b"unexpectedly" not in proc.stderr, proc.stderr


def test_a_hostile_session_id_from_the_hook_is_never_saved(
    agent: Agent, server: Any, canary_bin: Path, tmp_path: Path, stats: Stats
) -> None:
    """The state file keeps what Claude's hook was given; save checks it against
    Claude's charset, logs it, and saves no ID."""
    session = server.new_session("work")
    hostile = "$(arcanary)`arcanary`; arcanary"
    env = {
        "AR_FAKE_HOOK": f"PYTHONPATH={RUNTIME_SRC} {sys.executable} -m assistant_resurrect "
        "hook claude-session-start",
        "AR_FAKE_HOOK_STDIN": json.dumps({"session_id": hostile}),
    }
    exports = "; ".join(f"export {k}={json.dumps(v)}" for k, v in env.items())
    start_in_pane(session.windows[0].panes[0], f"{exports}; claude")
    wait_for(lambda: records("claude"), what="claude")
    wait_for(lambda: list(state_dir().glob("claude-*.json")), what="the state file")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    stats.cases_generated += 1
    (entry,) = agent.sidecar(layout)["sessions"]
    assert entry["session_id"] is None
    assert "invalid session ID" in (agent.resurrect_dir / "assistant-save.log").read_text()
    check_canaries(stats)
