"""The stagger holds across processes: restore runs (`restore`, and each
`restore --pending` that a client's attach starts, several at once) each with
a Pacer, taking the restore lock around `wait_for` and `started` as the typist
does. Two starts of one tool are never closer than the stagger; another tool
does not wait for them. Kills and corrupt state files never stop a start.
Then through the real `restore` into real panes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant_resurrect import pacing
from tests.helpers import RUNTIME_SRC, Agent, pane_prompt_ready, records, wait_for
from tests.hostile.conftest import Stats
from tests.hostile.test_restore_guards import IDS, entry, write_sidecar

STAGGER = 0.5

# One restore run starting one session of TOOL, as the typist does: under the
# restore lock, ask how long to wait; if not now, let the lock go, sleep, ask
# again; once 0, record the start. Prints (the stamp stored before its own
# start, its own stamp) as JSON.
RUN = r"""
import json, sys, time
from pathlib import Path
from assistant_resurrect import fileio, pacing
from assistant_resurrect.settings import Settings

tool, lock, stagger = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
stored = Path(sys.argv[4]) / pacing.FILE


def last():
    try:
        return json.loads(stored.read_text())["last_start"].get(tool)
    except (OSError, ValueError):
        return None


pacer = pacing.Pacer.of(Settings({"@assistant-resurrect-stagger": stagger}))
waits = []
while True:
    with fileio.locked(lock):
        wait = pacer.wait_for(tool)
        if wait == 0.0:
            before = last()
            pacer.started(tool)
            print(json.dumps({"before": before, "own": last(), "waits": waits}))
            break
    waits.append(wait)
    time.sleep(wait)
"""


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("TMUX_ASSISTANT_RESURRECT_DIR", str(path))
    return path


def spawn(tool: str, lock: Path, stagger: float = STAGGER) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(RUNTIME_SRC)}
    state = os.environ["TMUX_ASSISTANT_RESURRECT_DIR"]
    return subprocess.Popen(
        [sys.executable, "-c", RUN, tool, str(lock), f"{stagger:g}", state],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    result: dict[str, object] = json.loads(out)
    return result


def test_concurrent_runs_start_one_tool_a_stagger_apart(
    state: Path, tmp_path: Path, stats: Stats
) -> None:
    lock = tmp_path / "restore.lock"
    runs = [spawn("claude", lock) for _ in range(4)] + [spawn("codex", lock)]
    results = [finish(p) for p in runs]
    stats.cases_generated += len(runs)
    claude = sorted(results[:4], key=lambda r: float(r["own"]))  # type: ignore[arg-type]
    # Each start saw the one before it (the file is shared), and came a full
    # stagger after it on the clock the pacer itself reads.
    assert claude[0]["before"] is None
    for prev, cur in zip(claude, claude[1:]):
        assert cur["before"] == prev["own"]
        assert float(cur["own"]) - float(prev["own"]) >= STAGGER  # type: ignore[arg-type]
    assert sum(1 for r in claude if r["waits"]) >= 3  # all but the first waited
    assert results[4]["waits"] == []  # codex waits for no claude
    assert set(json.loads((state / pacing.FILE).read_text())["last_start"]) == {"claude", "codex"}


def test_a_run_killed_while_waiting_does_not_stop_the_others(state: Path, tmp_path: Path) -> None:
    """A `restore --pending` killed (SIGKILL) in its sleep: the next run starts
    after one stagger, from the stamp the last real start left."""
    lock = tmp_path / "restore.lock"
    first = finish(spawn("claude", lock, 30))
    victim = spawn("claude", lock, 30)
    time.sleep(0.5)  # it has taken its first wait_for (30 s to go)
    assert victim.poll() is None
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    doc = json.loads((state / pacing.FILE).read_text())
    assert doc["last_start"]["claude"] == first["own"]  # the killed run started nothing
    assert pacing.Pacer(30).wait_for("claude") > 0.0


def test_a_corrupted_file_between_runs_is_no_history(state: Path, tmp_path: Path) -> None:
    lock = tmp_path / "restore.lock"
    finish(spawn("claude", lock))
    (state / pacing.FILE).write_bytes(b"\x00garbage")
    result = finish(spawn("claude", lock))
    assert result["before"] is None and result["waits"] == []


def panes(server: Any, names: list[str], tmp_path: Path) -> None:
    for name in names:
        pane = server.new_session(name, start_directory=str(tmp_path)).windows[0].panes[0]
        wait_for(lambda p=pane: pane_prompt_ready(p), what=f"prompt in {name}")


def restored_order(agent: Agent) -> list[str]:
    log = (agent.resurrect_dir / "assistant-restore.log").read_text().splitlines()
    return [
        line.split("] restored ")[1].split(" (")[0]
        for line in log
        if "] restored " in line and " in " in line.split("] restored ")[1]
    ]


@pytest.mark.parametrize("stagger", ["2", "0"])
def test_restore_staggers_one_tool_and_not_the_others(
    agent: Agent, server: Any, tmp_path: Path, stagger: str
) -> None:
    """Saved: claude in a, claude in b, codex in c. With a stagger, codex
    starts while the second claude waits its turn; without, in saved order."""
    panes(server, ["a", "b", "c"], tmp_path)
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    server.cmd("set-option", "-g", "@assistant-resurrect-stagger", stagger)
    server.cmd("set-option", "-g", "@assistant-resurrect-check", "0")
    layout = write_sidecar(
        agent,
        [
            entry("a:0.0", IDS[0], tmp_path),
            entry("b:0.0", IDS[1], tmp_path),
            entry("c:0.0", IDS[2], tmp_path, tool="codex"),
        ],
    )
    agent.run("restore", "--layout", str(layout))
    wait_for(lambda: len(records()) == 3, what="all three started")
    order = restored_order(agent)
    if stagger == "0":
        assert order == ["claude in a:0.0", "claude in b:0.0", "codex in c:0.0"]
    else:
        assert order == ["claude in a:0.0", "codex in c:0.0", "claude in b:0.0"]


def test_a_second_restore_waits_for_the_first_ones_start(
    agent: Agent, server: Any, tmp_path: Path, state: Path
) -> None:
    """Two restore processes one after the other (restore, then a `restore
    --pending` for a session attached next): their claude starts, as the
    pacer recorded them, are a stagger apart."""
    panes(server, ["a", "b"], tmp_path)
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    server.cmd("set-option", "-g", "@assistant-resurrect-stagger", "3")
    server.cmd("set-option", "-g", "@assistant-resurrect-check", "0")
    stamps = []
    for address, sid in (("a:0.0", IDS[0]), ("b:0.0", IDS[1])):
        layout = write_sidecar(agent, [entry(address, sid, tmp_path)])
        agent.run("restore", "--layout", str(layout))
        stamps.append(json.loads((state / pacing.FILE).read_text())["last_start"]["claude"])
    wait_for(lambda: len(records("claude")) == 2, what="both started")
    assert stamps[1] - stamps[0] >= 3
