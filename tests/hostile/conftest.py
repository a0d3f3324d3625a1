"""Issue 7 (hostile input, faults, concurrency): shared counters and helpers.

The counters are filled by the tests and printed at the end of the run:
cases generated, faults injected, sessions lost, commands executed that
should not have been. The last two must be 0; a test that sees either
fails on its own, the summary is the overview.

Knobs (environment): AR_HOSTILE_SHELL_EXAMPLES (generated sidecars per shell,
6), AR_HOSTILE_CYCLE_EXAMPLES (save/restore cycles, 4),
AR_HOSTILE_GARBAGE_EXAMPLES (150), AR_HOSTILE_RANDOM_KILLS (SIGKILLs of save,
30), AR_HOSTILE_RESTORE_KILLS (SIGKILLs of restore, 6), AR_HOSTILE_SEED (kill
timings), AR_HOSTILE_SHRINK=1 (let hypothesis shrink real-pane failures).
zsh and fish come from scripts/setup.d/60-shells.sh; missing shells are skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.strategies import CANARY_DIR


@dataclass
class Stats:
    cases_generated: int = 0
    commands_typed_in_real_shells: int = 0
    faults_injected: int = 0
    sessions_lost: int = 0
    unexpected_executions: int = 0
    data_losses: int = 0
    lines_refused_unreadable: int = 0
    panes_unrestored_after_killed_restore: int = 0

    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


STATS = Stats()
_STASH: pytest.StashKey[Stats] = pytest.StashKey()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STASH] = STATS


@pytest.fixture(scope="session")
def stats() -> Stats:
    return STATS


@pytest.fixture(scope="session", autouse=True)
def canary_dir() -> Iterator[Any]:
    """The directory every canary writes into; removed at the end."""
    CANARY_DIR.mkdir(mode=0o700, exist_ok=True)
    try:
        yield CANARY_DIR
    finally:
        shutil.rmtree(CANARY_DIR, ignore_errors=True)


@pytest.fixture
def canary_bin(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`arcanary` on PATH (for tmux servers started from now on): every canary
    runs it, and it leaves a file in CANARY_DIR."""
    bin_dir = tmp_path / "canary-bin"
    bin_dir.mkdir()
    script = bin_dir / "arcanary"
    script.write_text(f'#!/bin/sh\n: > "{CANARY_DIR}/ran-$$"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return bin_dir


@dataclass
class OtherUser:
    """A second real account (for cross-user cases): its name, uid and home."""

    name: str
    uid: int
    gid: int
    home: Path


@pytest.fixture(scope="session")
def other_user() -> Iterator[OtherUser]:
    """A real second user with a home of its own, removed at the end. Needs root
    (CI runs as root); skipped otherwise (a failure under AR_STRICT=1)."""
    import pwd
    import secrets
    import subprocess

    if os.getuid() != 0 or not shutil.which("useradd"):
        pytest.skip("cross-user tests need root and useradd")
    name = f"arbob{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True, timeout=30)
    try:
        pw = pwd.getpwnam(name)
        yield OtherUser(name, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir))
    finally:
        subprocess.run(["userdel", "-r", "-f", name], check=False, timeout=30, capture_output=True)


def record_data_loss(stats: Stats, what: str) -> None:
    """Count a data loss (a file of the user's changed or gone) and fail."""
    stats.data_losses += 1
    raise AssertionError(f"data loss: {what}")


def keep_server_alive(server: Any) -> None:
    """A session that outlives each example's: a tmux server whose last session
    ends exits, and the next one hands out pane IDs from %0 again, so a late
    record of a killed example could pass for one of the next."""
    if not server.has_session("keep"):
        server.new_session("keep")


def canaries_fired() -> int:
    """How many canary files exist (0 unless a shell ran data as code)."""
    return len(list(CANARY_DIR.iterdir())) if CANARY_DIR.is_dir() else 0


def check_canaries(stats: Stats) -> None:
    """Count and fail on any canary that ran; clear them for the next case."""
    fired = canaries_fired()
    if fired:
        stats.unexpected_executions += fired
        for f in CANARY_DIR.iterdir():
            f.unlink()
        raise AssertionError(f"{fired} canary command(s) were executed by a shell")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    s = config.stash.get(_STASH, None)
    if s is None or not s.any():
        return
    tr = terminalreporter
    tr.section("assistant-resurrect hostile input / faults summary")
    tr.write_line(
        f"hostile summary: code executions {s.unexpected_executions}, "
        f"data losses {s.data_losses}, sessions lost {s.sessions_lost} (all must be 0)"
    )
    tr.write_line(f"cases generated:                        {s.cases_generated}")
    tr.write_line(f"commands typed into real shells:        {s.commands_typed_in_real_shells}")
    tr.write_line(f"faults injected:                        {s.faults_injected}")
    tr.write_line(f"odd lines refused, unreadable on screen: {s.lines_refused_unreadable}")
    tr.write_line(f"sessions lost (must be 0):              {s.sessions_lost}")
    tr.write_line(f"commands executed that should not have: {s.unexpected_executions}")
    tr.write_line(
        f"panes a killed restore left marked, untyped: {s.panes_unrestored_after_killed_restore}"
        " (must be 0)"
    )
