"""Issue 14: nothing saved is ever lost.

- a save whose write fails (a full disk: a real small tmpfs; a read-only
  folder: a read-only bind mount; root ignores chmod) leaves the previous
  sidecar whole, writes no partial file, and says so in one line;
- restore then uses the newest good older sidecar, and says which and why;
  the same when the layout's sidecar is empty or not a file;
- resumes waiting for a client (attached mode) are carried into later saves;
- a lock another process holds is waited for a bounded time, then save gives up
  with a log line, and the next save works;
- a FIFO where a tool keeps a store file never hangs a save, which still records
  the session with the strategies that remain.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant_resurrect.assistants.claude import project_dir_name
from tests.helpers import RUNTIME_SRC, Agent, records, start_in_pane, wait_for
from tests.hostile.conftest import Stats
from tests.screens import screen_lines, shows_prompt

GOOD_ID = "3f1e8a1c-1111-4222-8333-444455556666"
A = "20261125T110000"
B = "20261125T120000"


def _can_mount() -> bool:
    if not sys.platform.startswith("linux") or not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


needs_mounts = pytest.mark.skipif(
    not _can_mount(), reason="needs unshare -m and mount (root) for a full or read-only folder"
)


def agent_cmd(agent: Agent) -> str:
    return shlex.join(
        [
            "/usr/bin/env",
            f"PYTHONPATH={RUNTIME_SRC}",
            sys.executable,
            "-m",
            "assistant_resurrect",
            "-L",
            agent.socket_name,
        ]
    )


def run(agent: Agent, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(RUNTIME_SRC))
    return subprocess.run(
        [sys.executable, "-m", "assistant_resurrect", "-L", agent.socket_name, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def in_namespace(script: str) -> subprocess.CompletedProcess[str]:
    """`script` (sh) in a mount namespace of its own: its mounts vanish with it."""
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "/bin/sh", "-ec", script],
        capture_output=True,
        text=True,
        timeout=120,
    )


def claude_running(server: Any, tmp_path: Path) -> Any:
    """Session `work`, immediate mode, a stand-in claude with a known session ID."""
    session = server.new_session("work", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    pane = session.windows[0].panes[0]
    start_in_pane(pane, f"claude --resume {GOOD_ID}")
    wait_for(lambda: records("claude"), what="claude to start")
    return pane


def stop_claude(pane: Any) -> None:
    for rec in records("claude"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(rec["pid"], signal.SIGTERM)
    wait_for(lambda: shows_prompt(screen_lines(pane)), what="the prompt back")
    for f in Path(os.environ["AR_RECORD_DIR"]).glob("*.json"):
        f.unlink()


def layout(agent: Agent, stamp: str) -> Path:
    return agent.fake_layout(stamp)


def sidecar(agent: Agent, stamp: str) -> Path:
    return agent.resurrect_dir / f"assistant_resurrect_{stamp}.json"


def ids_in(path: Path) -> set[str]:
    return {s.get("session_id") for s in json.loads(path.read_text())["sessions"]}


def count_lost(stats: Stats, got: set[str], want: set[str]) -> None:
    lost = want - got
    stats.sessions_lost += len(lost)
    assert not lost, f"sessions lost: {lost}"


# -- failed writes: the previous sidecar stays whole, no partial file ------------------


@needs_mounts
def test_a_full_disk_keeps_the_previous_sidecar_and_restore_falls_back(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """A real 128 KiB tmpfs as the resurrect dir, filled up before the second save."""
    pane = claude_running(server, tmp_path)
    rdir = agent.resurrect_dir
    out = tmp_path / "out"
    out.mkdir()
    q = shlex.quote
    ar = agent_cmd(agent)
    script = f"""
        mount -t tmpfs -o size=128k,mode=0700 tmpfs {q(str(rdir))}
        cd {q(str(rdir))}
        echo state > tmux_resurrect_{A}.txt && ln -s tmux_resurrect_{A}.txt last
        {ar} save {q(str(rdir / f"tmux_resurrect_{A}.txt"))}
        cp assistant_resurrect_{A}.json {q(str(out / "before.json"))}
        echo state > tmux_resurrect_{B}.txt && ln -sfn tmux_resurrect_{B}.txt last
        dd if=/dev/zero of=fill bs=1k 2>/dev/null || true
        rc=0; {ar} save {q(str(rdir / f"tmux_resurrect_{B}.txt"))} 2>{q(str(out / "err"))} || rc=$?
        echo $rc > {q(str(out / "rc"))}
        ls -a > {q(str(out / "ls"))}
        cp assistant_resurrect_{A}.json {q(str(out / "after.json"))}
        rm fill
        mkdir {q(str(out / "copy"))} && cp -a . {q(str(out / "copy"))}
    """
    stats.faults_injected += 1
    proc = in_namespace(script)
    assert proc.returncode == 0, proc.stderr
    assert (out / "rc").read_text().strip() == "1"
    err = (out / "err").read_text()
    assert err.count("\n") == 1 and "No space left on device" in err, err
    assert f"assistant_resurrect_{A}.json" in err and "kept" in err, err
    names = (out / "ls").read_text().split()
    assert f"assistant_resurrect_{B}.json" not in names, names
    assert not [n for n in names if n.endswith(".tmp")], names
    assert (out / "after.json").read_bytes() == (out / "before.json").read_bytes()
    # Restoring that newest layout (from a copy of the folder: the tmpfs is gone)
    # falls back to the sidecar saved before.
    stop_claude(pane)
    dry = run(
        agent, "restore", "--dry-run", "--layout", str(out / "copy" / f"tmux_resurrect_{B}.txt")
    )
    got = {GOOD_ID} if f"--resume {GOOD_ID}" in dry.stdout else set()
    count_lost(stats, got, {GOOD_ID})


@needs_mounts
def test_a_read_only_folder_keeps_the_previous_sidecar_and_restore_falls_back(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """The second save runs with the resurrect dir bind-mounted read-only (EROFS);
    then a real restore of that newest layout types the session saved before."""
    pane = claude_running(server, tmp_path)
    rdir = agent.resurrect_dir
    agent.run("save", str(layout(agent, A)))
    before = sidecar(agent, A).read_bytes()
    second = layout(agent, B)
    q = shlex.quote
    stats.faults_injected += 1
    proc = in_namespace(
        f"mount --bind {q(str(rdir))} {q(str(rdir))}\n"
        f"mount -o remount,bind,ro {q(str(rdir))}\n"
        f"{agent_cmd(agent)} save {q(str(second))}"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "Read-only file system" in proc.stderr, proc.stderr
    assert not sidecar(agent, B).exists()
    assert sidecar(agent, A).read_bytes() == before
    assert not [p for p in rdir.iterdir() if p.name.endswith(".tmp")]
    stop_claude(pane)
    assert run(agent, "restore").returncode == 0
    wait_for(lambda: records("claude"), what="the older sidecar's session to be typed")
    count_lost(stats, {r["argv"][-1] for r in records("claude")}, {GOOD_ID})
    log = (rdir / "assistant-restore.log").read_text()
    assert f"sidecar for layout {second.name} is missing" in log, log
    assert f"restoring from assistant_resurrect_{A}.json saved at" in log, log


@pytest.mark.parametrize("kind", ["empty", "whitespace", "a directory"])
def test_an_unusable_sidecar_of_the_last_layout_falls_back_to_an_older_one(
    kind: str, agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """Today an empty sidecar of the newest layout stopped restore, and every
    session saved before was lost to it."""
    pane = claude_running(server, tmp_path)
    agent.run("save", str(layout(agent, A)))
    second = layout(agent, B)
    bad = sidecar(agent, B)
    if kind == "a directory":
        bad.mkdir()
    else:
        bad.write_text("" if kind == "empty" else " \n\t\n")
    stop_claude(pane)
    stats.faults_injected += 1
    proc = run(agent, "restore")
    assert proc.returncode == 0, proc.stderr
    wait_for(lambda: records("claude"), what="the older sidecar's session to be typed")
    count_lost(stats, {r["argv"][-1] for r in records("claude")}, {GOOD_ID})
    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    assert f"sidecar for layout {second.name} is not usable" in log, log
    assert f"restoring from assistant_resurrect_{A}.json" in log, log


# -- resumes waiting for a client --------------------------------------------------------


def test_resumes_waiting_for_a_client_are_carried_into_later_saves(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """Attached mode, nobody attached: restore leaves the resume waiting. A save
    now (continuum's interval) finds no assistant in that pane, yet the new
    sidecar keeps the session, at the pane's address as it is now (the tmux
    session was renamed meanwhile): after a second restart it is not gone."""
    session = server.new_session("work", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "attached")
    pane = session.windows[0].panes[0]
    wait_for(lambda: shows_prompt(screen_lines(pane)), what="prompt")
    first = layout(agent, A)
    sidecar(agent, A).write_text(
        json.dumps(
            {
                "version": 1,
                "sessions": [
                    {
                        "pane": "work:0.0",
                        "tool": "claude",
                        "session_id": GOOD_ID,
                        "cwd": str(tmp_path),
                        "program": "claude",
                        "cli_args": ["--model", "opus"],
                        "env": {},
                    }
                ],
            }
        )
    )
    agent.run("restore", "--layout", str(first))
    state = Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])
    wait_for(lambda: list(state.glob("pending-*.json")), what="the waiting resume")
    assert records("claude") == []  # nobody attached: nothing typed yet
    session.rename_session("renamed")
    second = layout(agent, B)
    agent.run("save", str(second))
    saved = {s.get("session_id"): s for s in agent.sidecar(second)["sessions"]}
    count_lost(stats, set(saved), {GOOD_ID})
    carried = saved[GOOD_ID]
    assert carried["pane"] == "renamed:0.0" and carried["pane_id"] == pane.pane_id
    assert carried["cli_args"] == ["--model", "opus"]
    log = (agent.resurrect_dir / "assistant-save.log").read_text()
    assert "saved from the waiting list" in log, log


# -- bounded lock waits ---------------------------------------------------------------------


def test_a_stuck_lock_holder_makes_save_give_up_not_hang(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """Another process holds the sidecar lock and never lets go: save ends with a
    log line saying it gave up; once the lock is free, the next save works."""
    claude_running(server, tmp_path)
    first = layout(agent, A)
    lock = agent.resurrect_dir / ".assistant-resurrect.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        stats.faults_injected += 1
        proc = run(agent, "save", str(first))
        assert proc.returncode != 0
        assert proc.stderr.count("\n") == 1 and "giving up" in proc.stderr, proc.stderr
        log = (agent.resurrect_dir / "assistant-save.log").read_text()
        assert "holds" in log and "giving up" in log, log
        assert not sidecar(agent, A).exists()
    finally:
        os.close(fd)
    assert run(agent, "save", str(first)).returncode == 0
    count_lost(stats, ids_in(sidecar(agent, A)), {GOOD_ID})


# -- FIFOs where the tools keep their stores ---------------------------------------------


def test_a_fifo_in_a_tool_store_never_hangs_save(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """A FIFO as Claude's state file (today's open blocked save forever), as
    Codex's state database and as a Codex rollout: save finishes, logs each
    skip, and records both sessions (Claude's ID from its transcript)."""
    proj = tmp_path / "proj"
    proj.mkdir()
    session = server.new_session("work", start_directory=str(proj))
    start_in_pane(session.windows[0].panes[0], "claude")
    start_in_pane(session.new_window(start_directory=str(proj)).panes[0], "codex")
    wait_for(lambda: len(records()) == 2, what="claude and codex to start")
    (claude,) = records("claude")
    state = Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])
    state.mkdir(mode=0o700, exist_ok=True)
    os.mkfifo(state / f"claude-{claude['pid']}.json", 0o600)
    time.sleep(0.05)  # the transcript is written after claude started
    transcripts = agent.home / ".claude" / "projects" / project_dir_name(str(proj))
    transcripts.mkdir(parents=True)
    (transcripts / f"{GOOD_ID}.jsonl").write_text('{"type": "user"}\n')
    codex_home = agent.home / ".codex"
    day = time.localtime()
    rollouts = codex_home / "sessions" / f"{day.tm_year:04d}/{day.tm_mon:02d}/{day.tm_mday:02d}"
    rollouts.mkdir(parents=True)
    os.mkfifo(codex_home / "state_5.sqlite", 0o600)
    os.mkfifo(rollouts / "rollout-2026-11-25T12-00-00-x.jsonl", 0o600)
    stats.faults_injected += 3
    second = layout(agent, B)
    proc = run(agent, "save", str(second), timeout=40)
    assert proc.returncode == 0, proc.stderr
    by_tool = {s["tool"]: s for s in agent.sidecar(second)["sessions"]}
    assert set(by_tool) == {"claude", "codex"}, by_tool
    count_lost(stats, {by_tool["claude"]["session_id"]}, {GOOD_ID})
    assert by_tool["claude"]["id_source"] == "transcript"
    log = (agent.resurrect_dir / "assistant-save.log").read_text()
    assert "is a FIFO" in log, log


def test_fifos_in_gemini_and_codex_stores_never_hang_save(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """FIFOs as Gemini's projects.json, a project's .project_root and Codex's
    session-tags.jsonl (each read with a plain open() before, which blocked
    save forever): save finishes and Gemini's ID still comes from its chat."""
    import hashlib

    proj = tmp_path / "proj"
    proj.mkdir()
    session = server.new_session("work", start_directory=str(proj))
    start_in_pane(session.windows[0].panes[0], "gemini")
    start_in_pane(session.new_window(start_directory=str(proj)).panes[0], "codex")
    wait_for(lambda: len(records()) == 2, what="gemini and codex to start")
    time.sleep(0.05)  # the chat file is written after gemini started
    gemini = agent.home / ".gemini"
    chats = gemini / "tmp" / hashlib.sha256(str(proj).encode()).hexdigest() / "chats"
    chats.mkdir(parents=True)
    (chats / "session-2026-11-25T12-00-x.json").write_text(
        json.dumps({"sessionId": GOOD_ID, "kind": "main"})
    )
    os.mkfifo(gemini / "projects.json", 0o600)
    odd = gemini / "tmp" / "other"
    odd.mkdir()
    os.mkfifo(odd / ".project_root", 0o600)
    codex_home = agent.home / ".codex"
    codex_home.mkdir()
    os.mkfifo(codex_home / "session-tags.jsonl", 0o600)
    stats.faults_injected += 3
    second = layout(agent, B)
    proc = run(agent, "save", str(second), timeout=40)
    assert proc.returncode == 0, proc.stderr
    by_tool = {s["tool"]: s for s in agent.sidecar(second)["sessions"]}
    assert set(by_tool) == {"gemini", "codex"}, by_tool
    count_lost(stats, {by_tool["gemini"]["session_id"]}, {GOOD_ID})
