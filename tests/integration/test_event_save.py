"""Event saves (sentinel.py) on a real tmux server with the real tmux-resurrect
(cloned from ../shared/mirrors/tmux-resurrect.bundle; skipped, saying so,
where the bundle is absent): a session that starts after the last save is
saved without waiting for an interval save; a burst of changes costs at most
two saves; nothing is saved while restore types; one sentinel per server; the
option turns it off; it ends with its server."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from libtmux import Server

from assistant_resurrect import sentinel
from assistant_resurrect.fileio import locked
from assistant_resurrect.typist import RESTORE_LOCK
from tests.helpers import RUNTIME_SRC, Agent, records, start_in_pane, wait_for

BUNDLE = Path(os.environ.get("AR_SHARED_DIR", str(Path(__file__).resolve().parents[3] / "shared")))
RESURRECT_BUNDLE = BUNDLE / "mirrors" / "tmux-resurrect.bundle"
SID = "7c1e8a1c-1111-4222-8333-444455556666"


@pytest.fixture(scope="module")
def resurrect(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not RESURRECT_BUNDLE.is_file():
        pytest.skip(f"no real tmux-resurrect here ({RESURRECT_BUNDLE} is absent)")
    dest = tmp_path_factory.mktemp("plugins") / "tmux-resurrect"
    subprocess.run(["git", "clone", "-q", str(RESURRECT_BUNDLE), str(dest)], check=True)
    return dest


def agent_cmd() -> str:
    return shlex.join(
        ["env", f"PYTHONPATH={RUNTIME_SRC}", sys.executable, "-m", "assistant_resurrect"]
    )


@pytest.fixture
def evented(server: Server, agent: Agent, resurrect: Path) -> Server:
    """Our hooks, tmux-resurrect loaded, event saves on (the suites' default is off)."""
    cmd = agent_cmd()
    server.new_session("w")
    for option, sub in (
        ("@resurrect-hook-post-save-layout", "save"),
        ("@resurrect-hook-post-save-all", "save-finish"),
        ("@resurrect-hook-post-restore-all", "restore"),
    ):
        server.cmd("set-option", "-g", option, f"{cmd} {sub}")
    server.cmd("set-option", "-g", sentinel.OPTION, "on")
    server.cmd("run-shell", str(resurrect / "resurrect.tmux"))
    return server


def state_dir() -> Path:
    return Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])


def events_log() -> str:
    try:
        return (state_dir() / sentinel.LOG).read_text()
    except OSError:
        return ""


def event_saves() -> int:
    return len(re.findall(r"event save \d+ done", events_log()))


def server_pid(server: Server) -> int:
    return int(server.cmd("display-message", "-p", "#{pid}").stdout[0])


def resurrect_save(server: Server) -> None:
    """A save as continuum's interval runs it."""
    script = server.cmd("show-options", "-gqv", "@resurrect-save-script-path").stdout[0]
    server.cmd("run-shell", f"{script} quiet")


def sentinel_pid(server: Server) -> int:
    lock = sentinel.lock_path(state_dir(), str(server_pid(server)))
    wait_for(lambda: sentinel.held(lock), timeout=20, what="the sentinel running")
    # The sentinel takes its lock, then writes its PID into it: wait for both.
    written = wait_for(
        lambda: lock.read_text().split()[:1] or None, timeout=20, what="the sentinel's PID"
    )
    return int(written[0])


def last_sessions(agent: Agent) -> list[dict[str, Any]]:
    last = agent.resurrect_dir / "last"
    if not last.exists():
        return []
    side = agent.resurrect_dir / os.readlink(last).replace(
        "tmux_resurrect_", "assistant_resurrect_"
    )
    try:
        return list(json.loads(side.with_suffix(".json").read_text())["sessions"])
    except (OSError, ValueError):
        return []


def test_no_sentinel_before_the_first_save_or_restore(evented: Server) -> None:
    """A fresh server (a restore may still come) never saves by itself: its empty
    layout would become `last`."""
    assert sentinel.request("test") == 0
    lock = sentinel.lock_path(state_dir(), str(server_pid(evented)))
    assert not sentinel.held(lock)


def test_a_session_started_after_the_last_save_is_saved_by_itself(
    evented: Server, agent: Agent
) -> None:
    resurrect_save(evented)
    sentinel_pid(evented)
    assert last_sessions(agent) == []
    # A Claude (stand-in) starts and its SessionStart hook records its session.
    pane = evented.sessions[0].windows[0].panes[0]
    payload = json.dumps({"session_id": SID, "source": "startup"})
    hook = f"{agent_cmd()} hook claude-session-start"
    start_in_pane(
        pane, f"AR_FAKE_HOOK={shlex.quote(hook)} AR_FAKE_HOOK_STDIN={shlex.quote(payload)} claude"
    )
    wait_for(
        lambda: [s.get("session_id") for s in last_sessions(agent)] == [SID],
        timeout=30,
        what="the new session in the last save",
        on_fail=events_log,
    )
    assert "state-file" in {s.get("id_source") for s in last_sessions(agent)}


def settled() -> None:
    """Past any save the sentinel's own start may cause (a change made while it
    started counts as new)."""
    time.sleep(sentinel.MAX_WAIT + sentinel.SETTLE + 2 * sentinel.POLL)
    wait_for(lambda: not _saving(), timeout=30, what="no save running")


def test_a_burst_of_twenty_changes_costs_at_most_two_saves(evented: Server) -> None:
    resurrect_save(evented)
    sentinel_pid(evented)
    settled()
    before = event_saves()
    for _ in range(20):  # 20 changes within 2 s
        os.utime(state_dir())
        time.sleep(0.1)
    wait_for(lambda: event_saves() > before, timeout=30, what="an event save", on_fail=events_log)
    settled()  # quiet again: the sentinel saves once more at most for this burst
    assert 1 <= event_saves() - before <= 2, events_log()


def _saving() -> bool:
    return "save.sh" in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_no_event_save_while_restore_types(evented: Server, agent: Agent) -> None:
    resurrect_save(evented)
    sentinel_pid(evented)
    before = event_saves()
    with locked(agent.resurrect_dir / RESTORE_LOCK):
        sentinel.request("test")
        wait_for(
            lambda: "event save waits: restore is typing" in events_log(),
            timeout=30,
            what="the sentinel waiting for restore",
            on_fail=events_log,
        )
        assert event_saves() == before
    wait_for(lambda: event_saves() > before, timeout=30, what="the save after restore")


def test_one_sentinel_per_server_and_it_ends_with_its_server(evented: Server, agent: Agent) -> None:
    resurrect_save(evented)
    pid = sentinel_pid(evented)
    second = agent.run("sentinel")  # returns at once: this server has one
    assert second.returncode == 0
    assert events_log().count(" for server ") == 1
    assert pid != os.getpid()
    evented.kill()
    wait_for(
        lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), timeout=20, what="sentinel exit"
    )
    assert "is gone" in events_log()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_the_option_off_stops_it_and_keeps_it_from_starting(evented: Server) -> None:
    resurrect_save(evented)
    pid = sentinel_pid(evented)
    evented.cmd("set-option", "-g", sentinel.OPTION, "off")
    wait_for(lambda: "is off; stopping" in events_log(), timeout=sentinel.RECHECK + 20, what="stop")
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), timeout=20, what="exit")
    resurrect_save(evented)  # save-finish starts none now
    time.sleep(1)
    lock = sentinel.lock_path(state_dir(), str(server_pid(evented)))
    assert not sentinel.held(lock)


def test_a_store_file_change_saves_only_when_a_session_changed(
    evented: Server, agent: Agent, home: Path
) -> None:
    """Claude appends every prompt to ~/.claude/history.jsonl (a watched file):
    a prompt that changes no session costs no save; a new session does."""
    history = home / ".claude" / "history.jsonl"
    history.parent.mkdir(exist_ok=True)
    history.write_text("{}\n")
    resurrect_save(evented)
    sentinel_pid(evented)
    settled()
    before = event_saves()
    with history.open("a") as fh:
        fh.write('{"display": "a prompt"}\n')
    wait_for(
        lambda: "a store file changed, no session did: not saved" in events_log(),
        timeout=30,
        what="the sentinel's look at the sessions",
        on_fail=events_log,
    )
    assert event_saves() == before
    pane = evented.sessions[0].windows[0].panes[0]
    start_in_pane(pane, f"claude --resume {SID}")  # no hook: only the store shows it
    wait_for(lambda: records("claude"), what="claude started")
    with history.open("a") as fh:
        fh.write('{"display": "the first prompt"}\n')
    wait_for(
        lambda: [s.get("session_id") for s in last_sessions(agent)] == [SID],
        timeout=30,
        what="the new session saved",
        on_fail=events_log,
    )
