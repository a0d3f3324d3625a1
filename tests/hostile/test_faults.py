"""Faults: SIGKILL of save at random points, concurrent saves, corrupt or
future sidecars, state files of dead processes and reused PIDs."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant_resurrect import procs
from assistant_resurrect import restore as restore_mod
from assistant_resurrect.assistants.base import Context, Found, Launch
from assistant_resurrect.assistants.claude import Claude
from assistant_resurrect.assistants.opencode import OpenCode
from assistant_resurrect.log import Log
from assistant_resurrect.statefiles import StateFiles
from assistant_resurrect.tmux import Tmux
from tests.helpers import RUNTIME_SRC, Agent, records, start_in_pane, wait_for
from tests.hostile.conftest import Stats, check_canaries
from tests.hostile.strategies import hostile_text
from tests.screens import screen_lines, shows_prompt

CODEX_ID = "0199a213-81c0-7800-8aa1-bbab2a035a53"
CLAUDE_ID = "3f1e8a1c-1111-4222-8333-444455556666"
OPENCODE_ID = "ses_4f2a9c1b7e3d5a8f6b0c2d4e6f"
COMMANDS = {
    "codex": f"codex resume {CODEX_ID}",
    "claude": f"claude --resume {CLAUDE_ID}",
    "opencode": f"opencode -s {OPENCODE_ID}",
}
RANDOM_KILLS = int(os.environ.get("AR_HOSTILE_RANDOM_KILLS", "30"))


def agent_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(RUNTIME_SRC)
    return env


def start_assistants(server: Any) -> dict[str, str]:
    """Session `work` with one stand-in per tool; {tool: pane address}."""
    session = server.new_session("work")
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    panes = {}
    for i, (tool, cmd) in enumerate(COMMANDS.items()):
        win = session.windows[0] if i == 0 else session.new_window()
        start_in_pane(win.panes[0], cmd)
        panes[tool] = f"work:{win.window_index}.0"
    wait_for(lambda: len(records()) == len(COMMANDS), what="the stand-ins to start")
    return panes


def saved(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(s["pane"], s["session_id"]) for s in doc["sessions"] if s.get("session_id")}


def check_sidecar(path: Path, want: set[tuple[str, str]], stats: Stats) -> bytes:
    """The sidecar is whole, parses, and still names every saved session."""
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
    except ValueError:
        stats.sessions_lost += len(want)
        raise AssertionError(f"torn sidecar after a fault: {raw[:200]!r}") from None
    lost = want - saved(doc)
    stats.sessions_lost += len(lost)
    assert not lost, f"sessions lost after a fault: {lost}"
    return raw


# -- SIGKILL of save ----------------------------------------------------------


def test_sigkill_at_random_moments_leaves_the_previous_sidecar_whole(
    agent: Agent, server: Any, stats: Stats
) -> None:
    start_assistants(server)
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    sidecar = layout.with_name("assistant_resurrect_20261125T120000.json")
    want = saved(json.loads(sidecar.read_text()))
    assert len(want) == len(COMMANDS)

    started = time.monotonic()
    agent.run("save", str(layout))
    full = time.monotonic() - started
    rng = random.Random(int(os.environ.get("AR_HOSTILE_SEED", "7")))
    argv = [sys.executable, "-m", "assistant_resurrect", "-L", agent.socket_name, "save"]
    for _ in range(RANDOM_KILLS):
        proc = subprocess.Popen([*argv, str(layout)], env=agent_env())
        time.sleep(rng.uniform(0, full * 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stats.faults_injected += 1
        check_sidecar(sidecar, want, stats)
    # Nothing a kill left behind can be taken for a sidecar, and the next
    # whole save sweeps it away.
    names = [p.name for p in agent.resurrect_dir.iterdir()]
    assert [n for n in names if n.startswith("assistant_resurrect_")] == [sidecar.name]
    planted = agent.resurrect_dir / f".{sidecar.name}.999999.deadbeef.tmp"
    planted.write_text('{"version": 1, "sess')
    agent.run("save", str(layout))
    assert [p.name for p in agent.resurrect_dir.iterdir() if p.name.endswith(".tmp")] == []


KILL_AT_LINE = r"""
import os, signal, sys
target = int(sys.argv[1])
count = 0
def local(frame, event, arg):
    global count
    if event == "line":
        count += 1
        if count == target:
            os.kill(os.getpid(), signal.SIGKILL)
    return local
def tracer(frame, event, arg):
    name = frame.f_code.co_filename
    if name.endswith("assistant_resurrect/fileio.py"):
        return local
    return None
sys.settrace(tracer)
from assistant_resurrect.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_sigkill_at_every_line_of_the_sidecar_write(
    agent: Agent, server: Any, stats: Stats
) -> None:
    """Kill save at the 1st, 2nd, ... line executed in fileio.py (the lock and
    the atomic write) until
    a run gets through: each kill leaves the old sidecar or the new one, whole."""
    start_assistants(server)
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    sidecar = layout.with_name("assistant_resurrect_20261125T120000.json")
    doc = json.loads(sidecar.read_text())
    want = saved(doc)
    doc["timestamp"] = "old"
    old = json.dumps(doc).encode()
    kills = 0
    for line in range(1, 400):
        sidecar.write_bytes(old)
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                KILL_AT_LINE,
                str(line),
                "-L",
                agent.socket_name,
                "save",
                str(layout),
            ],
            env=agent_env(),
            capture_output=True,
            timeout=60,
        )
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        kills += 1
        stats.faults_injected += 1
        raw = check_sidecar(sidecar, want, stats)
        assert raw == old or json.loads(raw)["timestamp"] != "old"
    else:
        raise AssertionError("save never completed under the tracer")
    print(f"{kills} kill points in fileio.py")
    assert kills >= 10, f"only {kills} kill points: is the tracer still looking at the writer?"
    assert json.loads(sidecar.read_bytes())["timestamp"] != "old"


# -- concurrency --------------------------------------------------------------


def test_concurrent_saves_serialize_without_a_torn_file(
    agent: Agent, server: Any, stats: Stats
) -> None:
    start_assistants(server)
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    sidecar = layout.with_name("assistant_resurrect_20261125T120000.json")
    want = saved(json.loads(sidecar.read_text()))
    other = agent.resurrect_dir / "tmux_resurrect_20261125T110000.txt"
    other.write_text("state\n")

    torn: list[bytes] = []
    reads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            raw = sidecar.read_bytes()
            reads += 1
            try:
                json.loads(raw)
            except ValueError:
                torn.append(raw)

    thread = threading.Thread(target=reader)
    thread.start()
    argv = [sys.executable, "-m", "assistant_resurrect", "-L", agent.socket_name]
    try:
        procs_ = [
            subprocess.Popen(
                [*argv, "save", str(layout if i % 3 else other)],
                env=agent_env(),
                stderr=subprocess.PIPE,
            )
            for i in range(12)
        ]
        procs_.append(subprocess.Popen([*argv, "save-finish"], env=agent_env()))
        codes = [p.wait(timeout=60) for p in procs_]
    finally:
        stop.set()
        thread.join()
    stats.faults_injected += len(procs_)
    assert codes == [0] * len(procs_)
    assert not torn, f"{len(torn)} torn reads of {reads}"
    assert reads > 0
    check_sidecar(sidecar, want, stats)
    check_sidecar(other.with_name("assistant_resurrect_20261125T110000.json"), want, stats)
    leftovers = [p.name for p in agent.resurrect_dir.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers


# -- corrupt sidecars ---------------------------------------------------------


def corrupt_variants(valid: bytes) -> dict[str, bytes]:
    doc = json.loads(valid)
    variants = {
        "empty": b"",
        "whitespace": b"  \n\t\n",
        "not json": b"{sessions: oops",
        "binary": bytes(range(256)),
        "nul bytes": b"\x00" * 64,
        "array": b"[]",
        "string": b'"sessions"',
        "future version": json.dumps({**doc, "version": 2}).encode(),
        "far future version": json.dumps({**doc, "version": 10**9}).encode(),
        "version as string": json.dumps({**doc, "version": "1"}).encode(),
        "version true": json.dumps({**doc, "version": True}).encode(),
        "no version": json.dumps({k: v for k, v in doc.items() if k != "version"}).encode(),
        "sessions not a list": json.dumps({**doc, "sessions": {"0": doc["sessions"][0]}}).encode(),
        "deeply nested": b"[" * 100000 + b"]" * 100000,
    }
    for cut in (1, 2, len(valid) // 3, len(valid) // 2, len(valid) - 3):
        variants[f"truncated at {cut}"] = valid[:cut]
    return variants


def test_a_corrupt_or_future_sidecar_stops_restore_and_touches_no_pane(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    session = server.new_session("work", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    pane = session.windows[0].panes[0]
    wait_for(lambda: shows_prompt(screen_lines(pane)), what="prompt")
    layout = agent.fake_layout()
    sidecar = layout.with_name("assistant_resurrect_20261125T120000.json")
    entry = {
        "pane": "work:0.0",
        "tool": "claude",
        "session_id": CLAUDE_ID,
        "cwd": str(tmp_path),
        "program": "claude",
        "cli_args": [],
        "env": {},
    }
    valid = json.dumps({"version": 1, "sessions": [entry]}, indent=2).encode()
    # The same sidecar, whole, is restored: the test would see a typed command.
    sidecar.write_bytes(valid)
    agent.run("restore", "--layout", str(layout), "--dry-run")
    screen = screen_lines(pane)
    for name, raw in corrupt_variants(valid).items():
        sidecar.write_bytes(raw)
        proc = agent.run("restore", "--layout", str(layout), check=False)
        stats.faults_injected += 1
        assert proc.returncode != 0, f"{name}: restore went on: {proc.stdout}{proc.stderr}"
        err = proc.stderr.strip()
        assert err.count("\n") == 0, f"{name}: not one clear line: {err}"
        assert sidecar.name in err and "no pane was touched" in err.lower(), f"{name}: {err}"
        assert "unexpectedly" not in err and "Traceback" not in err, f"{name}: {err}"
        assert screen_lines(pane) == screen, f"{name}: something was typed"
        assert not server.cmd(
            "show-options", "-pqv", "-t", pane.pane_id, "@assistant-resurrect-restored"
        ).stdout
    assert records() == []
    # The check above can fail: the whole sidecar does get typed.
    sidecar.write_bytes(valid)
    agent.run("restore", "--layout", str(layout))
    wait_for(lambda: records("claude"), what="the valid sidecar's command")


# -- state files: dead processes, reused PIDs ----------------------------------


@pytest.fixture
def live_proc(tmp_path: Path) -> Any:
    """A live process standing in for an assistant: (Proc, Snapshot)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        snap = procs.snapshot()
        wait_for(lambda: child.pid in snap.procs or snap.procs.update(procs.snapshot().procs))
        yield snap.procs[child.pid], snap
    finally:
        child.kill()
        child.wait()


def context(snap: procs.Snapshot, state_dir: Path) -> Context:
    ctx = Context(snap=snap, log=Log(None), home=str(state_dir))
    ctx._state = StateFiles(state_dir, Log(None))
    return ctx


START_TIMES = {
    "right": lambda start: start,
    "reused pid (older)": lambda start: start - 3600.0,
    "reused pid (a tick off)": lambda start: start - 0.2,
    "newer": lambda start: start + 50.0,
    "missing": None,
    "garbage": lambda start: "yesterday",
    "wrong, as a string": lambda start: str(start - 3600.0),
}
STAMPS = {
    "fresh": lambda start: start + 1.0,
    "before the process": lambda start: start - 3600.0,
    "missing": None,
    "a string": lambda start: "2026-11-25T12:00:00Z",
}


def write_state(path: Path, pid: int, start: float, st_kind: str, ts_kind: str) -> None:
    entry: dict[str, Any] = {"pid": pid, "session_id": OPENCODE_ID, "timestamp": "x"}
    st_fn, ts_fn = START_TIMES[st_kind], STAMPS[ts_kind]
    if st_fn is not None:
        entry["start_time"] = st_fn(start)
    if ts_fn is not None:
        entry["timestamp_epoch"] = ts_fn(start)
    path.write_text(json.dumps(entry))


def fresh(st_kind: str, ts_kind: str) -> bool:
    """Only a matching start time, or (without one) a timestamp taken after the
    process started, proves the file belongs to the live process."""
    if st_kind == "right":
        return ts_kind != "before the process"
    return st_kind == "missing" and ts_kind == "fresh"


@pytest.mark.parametrize("ts_kind", sorted(STAMPS))
@pytest.mark.parametrize("st_kind", sorted(START_TIMES))
def test_opencode_state_files_of_other_processes_never_match(
    st_kind: str, ts_kind: str, live_proc: Any, tmp_path: Path, stats: Stats
) -> None:
    proc, snap = live_proc
    stats.cases_generated += 1
    write_state(tmp_path / f"opencode-{proc.pid}.json", proc.pid, proc.start, st_kind, ts_kind)
    found = Found(
        pid=proc.pid,
        launch=Launch("opencode", "opencode", [], True),
        start=proc.start,
        cwd=None,
        pids=[proc.pid],
    )
    got, _ = OpenCode().find_session_id(context(snap, tmp_path), found)
    assert (got == OPENCODE_ID) == fresh(st_kind, ts_kind), (st_kind, ts_kind, got)


@pytest.mark.parametrize("st_kind", sorted(START_TIMES))
def test_claude_state_files_of_other_processes_never_match(
    st_kind: str, live_proc: Any, tmp_path: Path, stats: Stats
) -> None:
    proc, snap = live_proc
    stats.cases_generated += 1
    write_state(tmp_path / f"claude-{proc.pid}.json", proc.pid, proc.start, st_kind, "fresh")
    # Claude's state files carry the same ID format as the hook payload.
    entry = json.loads((tmp_path / f"claude-{proc.pid}.json").read_text())
    entry["session_id"] = CLAUDE_ID
    (tmp_path / f"claude-{proc.pid}.json").write_text(json.dumps(entry))
    found = Found(
        pid=proc.pid,
        launch=Launch("claude", "claude", [], True),
        start=proc.start,
        cwd=None,
        pids=[proc.pid],
    )
    got, _ = Claude().find_session_id(context(snap, tmp_path), found)
    assert (got == CLAUDE_ID) == (st_kind == "right"), (st_kind, got)


def test_a_state_file_of_a_dead_process_is_not_used_by_save(
    agent: Agent, server: Any, stats: Stats
) -> None:
    """Real processes: a stand-in claude (no ID on its command line) whose PID
    has a state file written for an earlier process gets no session ID; the
    same file with the right start time does (so the check can fail)."""
    session = server.new_session("work")
    start_in_pane(session.windows[0].panes[0], "claude")
    (rec,) = wait_for(lambda: records("claude"), what="claude to start")
    pid = rec["pid"]
    proc = procs.read_proc(pid)
    assert proc is not None
    state = Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])
    state.mkdir(mode=0o700, exist_ok=True)
    layout = agent.fake_layout()
    for start, expect in ((proc.start - 7200, None), (proc.start, CLAUDE_ID)):
        (state / f"claude-{pid}.json").write_text(
            json.dumps(
                {
                    "tool": "claude",
                    "pid": pid,
                    "session_id": CLAUDE_ID,
                    "start_time": start,
                    "timestamp": "x",
                }
            )
        )
        stats.cases_generated += 1
        agent.run("save", str(layout))
        (entry,) = agent.sidecar(layout)["sessions"]
        assert entry["session_id"] == expect
    log = (agent.resurrect_dir / "assistant-save.log").read_text()
    assert "from an earlier process" in log


# -- garbage entries in a valid sidecar ----------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | hostile_text(long=False),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(hostile_text(long=False), children, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = ["pane", "tool", "session_id", "cwd", "program", "cli_args", "env", "pane_id"]


def garbage_entry() -> st.SearchStrategy[Any]:
    """Entries with the right keys and wrong values, or anything at all."""
    good = {
        "pane": st.just("work:0.0"),
        "tool": st.sampled_from(["claude", "codex", "opencode", "gemini"]),
        "session_id": st.just("3f1e8a1c-1111-4222-8333-444455556666"),
    }
    return st.one_of(
        JSON,
        st.fixed_dictionaries(
            {},
            optional={f: (JSON | good[f]) if f in good else JSON for f in FIELDS},
        ),
    )


@settings(
    max_examples=int(os.environ.get("AR_HOSTILE_GARBAGE_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(entries=st.lists(garbage_entry(), max_size=6))
def test_garbage_entries_are_skipped_one_by_one(
    entries: list[Any], agent: Agent, server: Any, canary_bin: Path, tmp_path: Path, stats: Stats
) -> None:
    """A sidecar whose entries hold anything: restore (dry run, in-process) never
    crashes, plans the one good entry, and skips each bad one with a reason."""
    if not server.sessions:
        server.new_session("work", start_directory=str(tmp_path))
    layout = agent.fake_layout()
    good = {
        "pane": "work:0.0",
        "tool": "codex",
        "session_id": CODEX_ID,
        "cwd": str(tmp_path),
        "program": "codex",
        "cli_args": ["--model", "o3"],
        "env": {},
    }
    layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
        json.dumps({"version": 1, "sessions": [*entries, good]})
    )
    lines: list[str] = []
    tmux = Tmux(socket_name=agent.socket_name)
    code = restore_mod.restore(tmux, str(layout), True, out=lines.append, note=lines.append)
    stats.cases_generated += len(entries) + 1
    assert code == 0
    typed = [line for line in lines if not line.startswith("skip ")]
    assert any(line.endswith(f"codex --model o3 resume {CODEX_ID}") for line in typed), lines
    assert len(lines) >= len(entries) + 1, lines
    check_canaries(stats)
