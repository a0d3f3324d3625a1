"""Issue 14: restore trusts a sidecar only when the user's own and safe.

The resurrect dir must pass trust.check_dir (owned by the user, nobody else
can write it), each sidecar trust.check_file (a regular file of the user's,
not a symlink, nobody else can write it), and `last` must lead to a layout in
that dir. A refusal is one clear line; nothing is typed from an untrusted
place. Save does not write sessions into an untrusted dir either. Two entries
for one pane: the later started is kept, and the drop is logged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers import RUNTIME_SRC, Agent, records, wait_for
from tests.hostile.conftest import OtherUser, Stats, canaries_fired, check_canaries
from tests.screens import screen_lines, shows_prompt

GOOD_ID = "3f1e8a1c-1111-4222-8333-444455556666"
EVIL_ID = "0badc0de-1111-4222-8333-444455556666"
OLD_ID = "01dc1a0d-1111-4222-8333-444455556666"
HOSTILE_NAME = "assistant_resurrect_99991231T235959.json"


def run(agent: Agent, *args: str, timeout: float = 40) -> subprocess.CompletedProcess[str]:
    """The agent with a bound on its run (a hanging read would fail the test)."""
    env = dict(os.environ, PYTHONPATH=str(RUNTIME_SRC))
    return subprocess.run(
        [sys.executable, "-m", "assistant_resurrect", "-L", agent.socket_name, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def evil_program(tmp_path: Path, canary_bin: Path) -> Path:
    """A program named like the tool (so the planner accepts its name) that
    fires a canary when run."""
    folder = tmp_path / "evil"
    folder.mkdir(exist_ok=True)
    prog = folder / "claude"
    prog.write_text(f"#!/bin/sh\n{canary_bin / 'arcanary'}\n")
    prog.chmod(0o755)
    return prog


def entry(pane: str, sid: str, cwd: Path, program: str = "claude", **extra: Any) -> dict:
    return {
        "pane": pane,
        "tool": "claude",
        "session_id": sid,
        "cwd": str(cwd),
        "program": program,
        "cli_args": [],
        "env": {},
        **extra,
    }


def sidecar_doc(*entries: dict) -> str:
    return json.dumps({"version": 1, "timestamp": "2026-11-25T12:00:00Z", "sessions": [*entries]})


def work_session(server: Any, tmp_path: Path) -> Any:
    session = server.new_session("work", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    pane = session.windows[0].panes[0]
    wait_for(lambda: shows_prompt(screen_lines(pane)), what="prompt")
    return pane


def nothing_ran(server: Any, pane: Any, stats: Stats) -> None:
    """No canary fired (given a moment: typing is asynchronous), no restored mark."""
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline and not canaries_fired():
        time.sleep(0.1)
    check_canaries(stats)
    assert not server.cmd(
        "show-options", "-pqv", "-t", pane.pane_id, "@assistant-resurrect-restored"
    ).stdout


def restore_log(rdir: Path) -> str:
    log = rdir / "assistant-restore.log"
    return log.read_text() if log.exists() else ""


# -- the case of the issue: a world-writable @resurrect-dir -----------------------------


def test_a_sidecar_dropped_into_a_shared_resurrect_dir_is_never_run(
    agent: Agent,
    server: Any,
    canary_bin: Path,
    other_user: OtherUser,
    tmp_path: Path,
    stats: Stats,
) -> None:
    """@resurrect-dir is a shared folder (mode 1777). Another user drops the
    newest sidecar (no layout of its own, so it reads as a save tmux-resurrect
    dropped) naming a program: restore refuses the folder, types nothing."""
    pane = work_session(server, tmp_path)
    shared = tmp_path / "x"
    shared.mkdir()
    shared.chmod(0o1777)
    server.cmd("set-option", "-g", "@resurrect-dir", str(shared))
    layout = shared / "tmux_resurrect_20261125T120000.txt"
    layout.write_text("state\n")
    (shared / "last").symlink_to(layout.name)
    prog = evil_program(tmp_path, canary_bin)
    planted = shared / HOSTILE_NAME
    planted.write_text(sidecar_doc(entry("work:0.0", EVIL_ID, tmp_path, str(prog))))
    os.chown(planted, other_user.uid, other_user.gid)
    stats.faults_injected += 1
    proc = run(agent, "restore")
    nothing_ran(server, pane, stats)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    err = proc.stderr.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert "resurrect dir" in err and "writable by everyone" in err, err
    assert "nothing restored" in err, err
    # Save does not leak sessions into that folder either: one line, nothing written.
    before = sorted(p.name for p in shared.iterdir())
    proc = run(agent, "save", str(layout))
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1, proc.stderr
    assert "not saving assistant sessions there" in proc.stderr, proc.stderr
    assert sorted(p.name for p in shared.iterdir()) == before


def test_a_sidecar_of_another_user_in_a_trusted_dir_is_refused(
    agent: Agent,
    server: Any,
    canary_bin: Path,
    other_user: OtherUser,
    tmp_path: Path,
    stats: Stats,
) -> None:
    """Even in the user's own dir, a sidecar owned by someone else is not read:
    logged, and restore goes on with the user's own newest sidecar (the check
    can fail: that one is typed)."""
    pane = work_session(server, tmp_path)
    layout = agent.fake_layout()
    own = layout.with_name("assistant_resurrect_20261125T120000.json")
    own.write_text(sidecar_doc(entry("work:0.0", GOOD_ID, tmp_path)))
    prog = evil_program(tmp_path, canary_bin)
    planted = agent.resurrect_dir / HOSTILE_NAME
    planted.write_text(sidecar_doc(entry("work:0.0", EVIL_ID, tmp_path, str(prog))))
    os.chown(planted, other_user.uid, other_user.gid)
    stats.faults_injected += 1
    proc = run(agent, "restore")
    assert proc.returncode == 0, proc.stderr
    wait_for(lambda: records("claude") or canaries_fired(), what="a restore to be typed")
    check_canaries(stats)
    (rec,) = wait_for(lambda: records("claude"), what="the user's own sidecar to be typed")
    assert rec["argv"] == ["--resume", GOOD_ID]
    log = restore_log(agent.resurrect_dir)
    assert f"owned by uid {other_user.uid}" in log and "not trusted" in log, log
    assert f"restoring from {own.name}" in log, log
    check_canaries(stats)
    assert pane is not None


def test_a_group_writable_sidecar_alone_stops_restore_with_one_line(
    agent: Agent, server: Any, canary_bin: Path, tmp_path: Path, stats: Stats
) -> None:
    """A sidecar anyone may write (mode 0666), with nothing older to stand in:
    one line, no pane touched."""
    pane = work_session(server, tmp_path)
    layout = agent.fake_layout()
    prog = evil_program(tmp_path, canary_bin)
    sidecar = layout.with_name("assistant_resurrect_20261125T120000.json")
    sidecar.write_text(sidecar_doc(entry("work:0.0", EVIL_ID, tmp_path, str(prog))))
    sidecar.chmod(0o666)
    stats.faults_injected += 1
    proc = run(agent, "restore")
    nothing_ran(server, pane, stats)
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert err.count("\n") == 0 and "writable by everyone" in err, err
    assert "no pane was touched" in err, err


def test_a_last_link_leading_outside_the_resurrect_dir_is_ignored(
    agent: Agent, server: Any, canary_bin: Path, tmp_path: Path, stats: Stats
) -> None:
    """`last` -> ../../other/tmux_resurrect_<ts>.txt: that folder's sidecar is
    never read, and the log says why."""
    pane = work_session(server, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    target = other / "tmux_resurrect_20261125T120000.txt"
    target.write_text("state\n")
    prog = evil_program(tmp_path, canary_bin)
    (other / "assistant_resurrect_20261125T120000.json").write_text(
        sidecar_doc(entry("work:0.0", EVIL_ID, tmp_path, str(prog)))
    )
    (agent.resurrect_dir / "last").symlink_to(os.path.relpath(target, agent.resurrect_dir))
    stats.faults_injected += 1
    proc = run(agent, "restore")
    nothing_ran(server, pane, stats)
    assert proc.returncode == 0, proc.stderr
    log = restore_log(agent.resurrect_dir)
    assert "nothing to restore" in proc.stdout + log, log
    assert "ignoring" in log and "outside the resurrect dir" in log, log


def test_a_fifo_in_place_of_a_sidecar_never_hangs_restore(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """A FIFO named like the newest sidecar: today's read blocked forever. It is
    refused (not a regular file) and the layout's own sidecar is restored."""
    work_session(server, tmp_path)
    layout = agent.fake_layout()
    layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
        sidecar_doc(entry("work:0.0", GOOD_ID, tmp_path))
    )
    os.mkfifo(agent.resurrect_dir / HOSTILE_NAME, 0o600)
    stats.faults_injected += 1
    proc = run(agent, "restore")
    assert proc.returncode == 0, proc.stderr
    (rec,) = wait_for(lambda: records("claude"), what="the layout's sidecar to be typed")
    assert rec["argv"] == ["--resume", GOOD_ID]
    assert "not a regular file" in restore_log(agent.resurrect_dir)


# -- two entries for one pane --------------------------------------------------------


def test_two_entries_for_one_pane_keep_the_later_started_and_say_so(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """Today the first entry was silently dropped (the typist kept the last one
    per pane). The later started one is typed, and the log names both; an
    entry that does not validate never displaces a valid one."""
    work_session(server, tmp_path)
    layout = agent.fake_layout()
    layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
        sidecar_doc(
            entry("work:0.0", GOOD_ID, tmp_path, started_at=1764000200.5),
            entry("work:0.0", OLD_ID, tmp_path, started_at=1764000100.0),
            {"pane": "work:0.0"},  # invalid: skipped with its reason, displaces nothing
        )
    )
    stats.cases_generated += 1
    proc = run(agent, "restore")
    assert proc.returncode == 0, proc.stderr
    (rec,) = wait_for(lambda: records("claude"), what="one claude to be typed")
    if rec["argv"] != ["--resume", GOOD_ID]:
        stats.sessions_lost += 1
    assert rec["argv"] == ["--resume", GOOD_ID]
    log = restore_log(agent.resurrect_dir)
    line = next((x for x in log.splitlines() if "two entries for pane work:0.0" in x), "")
    assert f"keeping claude session {GOOD_ID}" in line, log
    assert f"dropping claude session {OLD_ID}" in line, log
    assert records("claude") == [rec]


def test_status_can_say_which_sidecar_restore_would_use(tmp_path: Path, stats: Stats) -> None:
    """store.restore_source: the fallback and the refusal, in one line each."""
    from assistant_resurrect import store

    rdir = tmp_path / "r"
    rdir.mkdir()
    (rdir / "tmux_resurrect_20261125T110000.txt").write_text("state\n")
    (rdir / "assistant_resurrect_20261125T110000.json").write_text(
        sidecar_doc(entry("work:0.0", GOOD_ID, tmp_path))
    )
    (rdir / "tmux_resurrect_20261125T120000.txt").write_text("state\n")
    (rdir / "last").symlink_to("tmux_resurrect_20261125T120000.txt")
    line = store.restore_source(rdir)
    assert "restore would use assistant_resurrect_20261125T110000.json" in line, line
    assert "is missing" in line and "\n" not in line, line
    rdir.chmod(0o1777)
    stats.faults_injected += 1
    line = store.restore_source(rdir)
    assert line.startswith("restore would stop: resurrect dir") and "\n" not in line, line
