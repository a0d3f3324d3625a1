"""A state dir the Claude SessionStart hook must refuse (another user's, a
symlink, writable by others) is not a silent exit 0: sessions would then be
saved without their IDs and only `doctor` would tell. The hook, run the way
Claude runs it (through a shell, as a child of the claude process), prints one
line on stderr naming the problem and `doctor`, and exits 1 — a non-zero
status other than 2, which Claude shows as a non-blocking hook error (the
session goes on)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import RUNTIME_SRC, wait_for
from tests.hostile.conftest import OtherUser, Stats

SESSION_ID = "7b4a3c2d-1e0f-4a1b-8c2d-3e4f5a6b7c8d"


def state_dir() -> Path:
    return Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])


def run_hook_from_claude(fake_bin: Path, tmp_path: Path) -> tuple[int, str]:
    """A stand-in claude runs our hook command as its child through /bin/sh, the
    way Claude runs command hooks: (exit status, stderr)."""
    tag = os.urandom(3).hex()
    err, rc = tmp_path / f"hook-{tag}.err", tmp_path / f"hook-{tag}.rc"
    hook = f"{shlex.quote(sys.executable)} -m assistant_resurrect hook claude-session-start"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(RUNTIME_SRC)
    env["AR_FAKE_HOOK"] = f"{hook} 2>{shlex.quote(str(err))}; echo $? >{shlex.quote(str(rc))}"
    env["AR_FAKE_HOOK_STDIN"] = json.dumps({"session_id": SESSION_ID, "source": "startup"})
    proc = subprocess.Popen([str(fake_bin / "claude")], env=env)
    try:
        wait_for(lambda: rc.exists() and rc.read_text().strip(), what="the hook to finish")
    finally:
        proc.terminate()
        proc.wait()
    return int(rc.read_text()), err.read_text()


def assert_told(status: int, err: str, *words: str) -> None:
    assert status == 1, (status, err)  # not 0 (hidden), not 2 (blocking elsewhere)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("assistant-resurrect: state dir "), err
    for w in (*words, "session IDs will not be saved", "run 'assistant-resurrect doctor'"):
        assert w in err, (w, err)


def test_a_squatted_state_dir_makes_the_hook_tell(
    home: Path, tmp_path: Path, other_user: OtherUser, stats: Stats
) -> None:
    d = state_dir()
    d.mkdir(mode=0o700)
    os.chown(d, other_user.uid, other_user.gid)
    stats.faults_injected += 1
    status, err = run_hook_from_claude(tmp_path / "bin", tmp_path)
    assert_told(status, err, str(d), f"owned by uid {other_user.uid}")
    assert list(d.iterdir()) == []


def test_a_symlinked_state_dir_makes_the_hook_tell(
    home: Path, tmp_path: Path, stats: Stats
) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    state_dir().symlink_to(target)
    stats.faults_injected += 1
    status, err = run_hook_from_claude(tmp_path / "bin", tmp_path)
    assert_told(status, err, "is a symlink")
    assert list(target.iterdir()) == []


def test_a_world_writable_state_dir_makes_the_hook_tell(
    home: Path, tmp_path: Path, stats: Stats
) -> None:
    d = state_dir()
    d.mkdir()
    os.chmod(d, 0o777)
    stats.faults_injected += 1
    status, err = run_hook_from_claude(tmp_path / "bin", tmp_path)
    assert_told(status, err, "writable by group or others", "chmod 700")
    assert list(d.iterdir()) == []


def test_a_private_state_dir_records_silently(home: Path, tmp_path: Path) -> None:
    """The check above can pass: exit 0, nothing on stderr, the session recorded."""
    status, err = run_hook_from_claude(tmp_path / "bin", tmp_path)
    assert (status, err) == (0, "")
    (f,) = state_dir().glob("claude-*.json")
    data: dict[str, Any] = json.loads(f.read_text())
    assert data["session_id"] == SESSION_ID
