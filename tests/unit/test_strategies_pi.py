"""Pi coding agent: one test per session-ID strategy (args, sessions) in
evidence order, the command line Pi rewrites (`process.title`), helpers and
one-shot runs that are not sessions, kept arguments and the resume form,
two panes in one folder, hostile store files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

from assistant_resurrect import assistants, detect, procs
from assistant_resurrect.assistants.base import FRESH, parse_launch
from assistant_resurrect.assistants.pi import Pi, _session_dir_name
from tests.unit.strategy_helpers import Proc, make_proc

FIXTURE = Path(__file__).parent / "fixtures" / "pi" / "session.jsonl"
# The ID in the fixture (written by pi 0.73.1 against tests/realcli/fake_api.py).
P_REAL = "01a2348b-b21b-73b9-8235-4b06bae02d48"
P_ARGS = "01a2348c-93c5-7712-83d3-277be312fc80"
P_NEW = "01a23490-0000-7000-8000-000000000001"
P_OTHER = "01a23490-0000-7000-8000-000000000002"
P_OLD = "01a23480-0000-7000-8000-000000000003"
PI = ["node", "/usr/lib/node_modules/@mariozechner/pi-coding-agent/dist/cli.js"]
# What /proc/<pid>/cmdline of a running pi reads: `process.title = "pi"`
# overwrote the argument area with the title and NULs.
PI_TITLED = ["pi", *[""] * 40]


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    for name in ("PI_CODING_AGENT_DIR", "PI_CODING_AGENT_SESSION_DIR"):
        monkeypatch.delenv(name, raising=False)
    yield from make_proc(tmp_path, monkeypatch)


def pi() -> Pi:
    tool = assistants.by_name("pi")
    assert isinstance(tool, Pi)
    return tool


def session(
    p: Proc,
    sid: str,
    cwd: Optional[str] = None,
    before_start: bool = False,
    folder: Optional[str] = None,
) -> Path:
    """A session file as pi 0.73.1 writes it (the recorded fixture with its
    header's ID and cwd replaced), in the cwd's default session folder."""
    cwd = cwd or str(p.cwd)
    lines = FIXTURE.read_text().splitlines()
    head = json.loads(lines[0])
    head.update(id=sid, cwd=cwd)
    rel = folder or f".pi/agent/sessions/{_session_dir_name(cwd)}"
    name = f"2026-12-02T02-18-20-060Z_{sid}.jsonl"
    return p.write(f"{rel}/{name}", "\n".join([json.dumps(head), *lines[1:]]) + "\n", before_start)


def test_the_recorded_fixture_is_a_pi_session() -> None:
    head = json.loads(FIXTURE.read_text().splitlines()[0])
    assert head["type"] == "session" and head["id"] == P_REAL and head["version"] == 3
    assert pi().valid_session_id(P_REAL)


def test_session_folder_name() -> None:
    assert _session_dir_name("/tmp/piwork/proj") == "--tmp-piwork-proj--"
    assert _session_dir_name("/a/my.project:x") == "--a-my.project-x--"


# -- detection -----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        PI,
        PI_TITLED,
        ["pi", "--model", "x"],
        ["/home/u/.npm-global/bin/pi"],
        ["node", "/home/u/.local/lib/node_modules/@mariozechner/pi-coding-agent/dist/cli.js"],
    ],
)
def test_pi_is_detected(argv: list[str]) -> None:
    m = assistants.match(argv)
    assert m is not None and m[0].name == "pi"


@pytest.mark.parametrize(
    "argv",
    [
        ["omp"],
        ["/usr/local/bin/omp", "--model", "x"],
        ["node", "/usr/lib/node_modules/@oh-my-pi/pi-coding-agent/dist/cli.js"],
        ["bun", "/usr/lib/node_modules/@oh-my-pi/pi-coding-agent/src/cli.ts"],
        ["pip", "install", "x"],
    ],
)
def test_oh_my_pi_and_others_are_not_pi(argv: list[str]) -> None:
    m = assistants.match(argv)
    assert m is None or m[0].name != "pi"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_running_pi_with_its_title_set_is_detected(tmp_path: Path) -> None:
    """A real node process running a script that does what pi's cli.js does
    first (`process.title = "pi"`): its command line reads just `pi`."""
    script = tmp_path / "node_modules" / "@mariozechner" / "pi-coding-agent" / "dist" / "cli.js"
    script.parent.mkdir(parents=True)
    script.write_text('process.title = "pi";\nsetInterval(() => {}, 1000);\n')
    child = subprocess.Popen(["node", str(script), "--model", "stub", "--session", P_ARGS])
    try:
        deadline = time.monotonic() + 10
        argv = procs.backend().argv(child.pid)
        while argv[:1] != ["pi"] and time.monotonic() < deadline:
            time.sleep(0.05)
            argv = procs.backend().argv(child.pid)
        assert argv[:1] == ["pi"]
        # the pane's process itself, as in a pane started with `pi ...`
        det = detect.in_pane(child.pid, procs.snapshot())
        assert det is not None and det.assistant.name == "pi" and det.pid == child.pid
        tool, launch = det.assistant, det.launch
        assert tool.cli_args(launch.args) == []  # the arguments are gone
        assert tool.resume_argv(launch.program, [], P_NEW) == ["pi", "--session", P_NEW]
    finally:
        child.kill()
        child.wait()


# -- helpers and one-shot runs -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "is_session"),
    [
        ([], True),
        ([""] * 20, True),
        (["--model", "sonnet", "--continue"], True),
        (["--mode", "text"], True),
        (["Read package.json", "What deps?"], True),
        (["-p", "hi"], False),
        (["--print", "hi"], False),
        (["--mode", "rpc"], False),
        (["--mode", "json", "hi"], False),
        (["--export", "s.jsonl"], False),
        (["--list-models"], False),
        (["--version"], False),
        (["install", "npm:foo"], False),
        (["update"], False),
        (["list"], False),
        (["config"], False),
    ],
)
def test_helpers_are_not_sessions(args: list[str], is_session: bool) -> None:
    m = assistants.match([*PI, *args])
    assert m is not None and m[0].name == "pi"
    assert m[0].is_session(m[1].args) is is_session


def test_kept_args_model_and_resume_form() -> None:
    tool = pi()
    args = [
        "--provider",
        "fake",
        "--model",
        "stub-model",
        "--session",
        P_ARGS,
        "-c",
        "--thinking",
        "low",
        "--session-dir",
        "/srv/pi",
        "@notes.md",
        "first prompt",
    ]
    kept = tool.cli_args(args)
    assert kept == [
        "--provider",
        "fake",
        "--model",
        "stub-model",
        "--thinking",
        "low",
        "--session-dir",
        "/srv/pi",
    ]
    assert tool.model(args) == "stub-model"
    # 0.73.1 --help: `--session <path|id>  Use specific session file or partial UUID`
    assert tool.resume_argv("pi", kept, P_NEW) == ["pi", *kept, "--session", P_NEW]
    assert tool.cli_args(["--fork", P_OLD, "-r"]) == []
    assert tool.fresh_argv("pi", ["--no-session"]) == ["pi", "--no-session"]


def test_code_loading_options() -> None:
    tool = pi()
    args = ["-e", "./ext.ts", "--extension", "/x/e.js", "--skill", "skills/a", "--model", "m"]
    assert tool.code_paths(args) == [
        ("-e", "./ext.ts"),
        ("--extension", "/x/e.js"),
        ("--skill", "skills/a"),
    ]
    assert tool.without_code_options(args) == (["--model", "m"], ["-e", "--extension", "--skill"])


# -- strategies in evidence order --------------------------------------------------


def test_args_session_uuid(proc: Proc) -> None:
    session(proc, P_NEW)  # written since the start: the args outrank it
    assert proc.find("pi", [*PI, "--model", "m", "--session", P_ARGS]) == (P_ARGS, "args")


def test_args_session_prefix_and_file(proc: Proc) -> None:
    session(proc, P_ARGS, before_start=True)
    session(proc, P_OLD, before_start=True)
    assert proc.find("pi", [*PI, "--session", P_ARGS[:10]]) == (P_ARGS, "args")
    assert proc.find("pi", [*PI, "--session", "01a2"]) == (None, None)  # two match
    path = session(proc, P_OTHER, before_start=True, folder="elsewhere")
    assert proc.find("pi", [*PI, "--session", str(path)]) == (P_OTHER, "args")


def test_no_session_is_a_fresh_start(proc: Proc) -> None:
    assert proc.find("pi", [*PI, "--no-session"]) == (None, FRESH)


def test_sessions_newest_of_the_cwd(proc: Proc) -> None:
    session(proc, P_OLD, before_start=True)  # an earlier process's
    session(proc, P_OTHER, cwd="/elsewhere")  # another folder's
    session(proc, P_NEW)
    assert proc.find("pi", PI_TITLED) == (P_NEW, "sessions")


def test_sessions_header_must_name_the_cwd(proc: Proc) -> None:
    """A file in the cwd's folder whose header names another cwd (a shared
    session dir) is not this process's."""
    session(
        proc,
        P_OTHER,
        cwd="/elsewhere",
        folder=f".pi/agent/sessions/{_session_dir_name(str(proc.cwd))}",
    )
    assert proc.find("pi", PI_TITLED) == (None, None)


def test_a_session_without_a_reply_has_no_file(proc: Proc) -> None:
    """Pi writes a session's file with its first model reply: a Pi started
    (or resumed) without a message since leaves nothing newer than its start."""
    session(proc, P_OLD, before_start=True)
    assert proc.find("pi", PI_TITLED) == (None, None)


def test_sessions_in_the_environment_and_settings_dirs(
    proc: Proc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = pi()
    found = proc.found(PI_TITLED)
    ctx = proc.ctx()
    # settings.json `sessionDir` (a flat folder, every cwd's sessions)
    proc.write(".pi/agent/settings.json", json.dumps({"sessionDir": "~/flat"}))
    session(proc, P_NEW, folder="flat")
    assert tool.session_dir(ctx, found) == str(proc.home / "flat")
    assert proc.find("pi", PI_TITLED) == (P_NEW, "sessions")
    # the project's settings override the global ones
    (proc.cwd / ".pi").mkdir()
    (proc.cwd / ".pi" / "settings.json").write_text(json.dumps({"sessionDir": "local"}))
    assert tool.session_dir(ctx, found) == str(proc.cwd / "local")
    # --session-dir, when the command line shows it
    assert tool.session_dir(ctx, proc.found([*PI, "--session-dir", "/srv/s"])) == "/srv/s"


def test_sessions_under_pi_coding_agent_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = tmp_path / "agentdir"
    for name in ("PI_CODING_AGENT_DIR", "PI_CODING_AGENT_SESSION_DIR"):
        monkeypatch.delenv(name, raising=False)
    gen = make_proc(tmp_path, monkeypatch, {"PI_CODING_AGENT_DIR": str(agent)})
    p = next(gen)
    try:
        session(p, P_NEW)  # under ~/.pi/agent: not where this Pi keeps them
        assert p.find("pi", PI_TITLED) == (None, None)
        session(p, P_OTHER, folder=f"../agentdir/sessions/{_session_dir_name(str(p.cwd))}")
        assert p.find("pi", PI_TITLED) == (P_OTHER, "sessions")
    finally:
        gen.close()


def test_two_panes_in_one_cwd_never_get_one_id(proc: Proc) -> None:
    session(proc, P_OTHER)
    session(proc, P_NEW)
    os.utime(
        proc.home / f".pi/agent/sessions/{_session_dir_name(str(proc.cwd))}/"
        f"2026-12-02T02-18-20-060Z_{P_NEW}.jsonl",
        (time.time() + 5, time.time() + 5),
    )
    assert proc.find("pi", PI_TITLED) == (P_NEW, "sessions")
    # the other pane saved P_NEW already: this one gets the other session
    assert proc.find("pi", PI_TITLED, claimed={P_NEW: 1}) == (P_OTHER, "sessions")
    assert proc.find("pi", PI_TITLED, claimed={P_NEW: 1, P_OTHER: 2}) == (None, None)
    # an ID another pane's command line names is not this pane's either
    assert proc.find("pi", [*PI, "--session", P_NEW], claimed={P_NEW: 1}) == (
        P_OTHER,
        "sessions",
    )


def test_a_session_resumed_and_appended_to_since_the_start(proc: Proc) -> None:
    """`pi -c`, `/resume` or `--session` and a message: Pi appends to a file
    it created before this process started (its header is older)."""
    path = session(proc, P_OLD)
    head, *rest = path.read_text().splitlines()
    old = json.loads(head)
    old["timestamp"] = "2020-01-01T00:00:00.000Z"
    path.write_text("\n".join([json.dumps(old), *rest]) + "\n")
    assert proc.find("pi", PI_TITLED) == (P_OLD, "sessions")


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def _titled_pi(cwd: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    """A real node process that, like pi's cli.js, sets its title to `pi`."""
    script = tmp_path / "pi-stand-in" / "@mariozechner" / "pi-coding-agent" / "dist" / "cli.js"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text('process.title = "pi";\nsetInterval(() => {}, 1000);\n')
    child = subprocess.Popen(["node", str(script)], cwd=cwd)
    deadline = time.monotonic() + 10
    while procs.backend().argv(child.pid)[:1] != ["pi"] and time.monotonic() < deadline:
        time.sleep(0.05)
    return child


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_two_panes_in_one_cwd_keep_their_own_sessions(proc: Proc, tmp_path: Path) -> None:
    """Pi A started, created its session and went on talking; Pi B started
    later in the same folder and has one message: B's save (the latest-started
    first) takes B's session, not A's newer-written one."""
    other = _titled_pi(proc.cwd, tmp_path)
    try:
        a_start = procs.read_proc(other.pid).start  # type: ignore[union-attr]
        b_start = a_start + 30  # Pi B: this pane's process, started later
        a_file = session(proc, P_OTHER)
        b_file = session(proc, P_NEW)
        for path, created, written in ((a_file, a_start + 2, 60), (b_file, b_start + 2, 40)):
            head, *rest = path.read_text().splitlines()
            data = json.loads(head)
            data["timestamp"] = _iso(created)
            path.write_text("\n".join([json.dumps(data), *rest]) + "\n")
            os.utime(path, (b_start + written, b_start + written))
        tool = pi()
        found = proc.found(PI_TITLED)
        found.start = b_start
        assert tool.find_session_id(proc.ctx(), found) == (P_NEW, "sessions")
        # A's session is left to A, also when nothing else is left (B with no
        # message of its own yet must not take A's from A)
        assert tool.find_session_id(proc.ctx({P_NEW: 1}), found) == (None, None)
        other.kill()
        other.wait()
        # no other Pi there: the newest written session is this one's (a /resume)
        assert tool.find_session_id(proc.ctx(), found) == (P_OTHER, "sessions")
    finally:
        other.kill()
        other.wait()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_two_pis_restore_started_on_old_sessions_leave_them(proc: Proc, tmp_path: Path) -> None:
    """Restore started Pi A (`--session P_OTHER`) and, a moment later, Pi B
    (`--session P_NEW`) in one folder, on sessions made long before; a
    message in A makes its file the newest. B (the latest-started, saved
    first) must not take A's session (the real CLI did: A's pane was then
    skipped and B's resumed A's session); neither file says whose it is, so
    neither is named here (the ID restore typed into each pane answers)."""
    other = _titled_pi(proc.cwd, tmp_path)
    try:
        a_start = procs.read_proc(other.pid).start  # type: ignore[union-attr]
        b_start = a_start + 0.5  # this pane's Pi
        a_file = session(proc, P_OTHER)
        b_file = session(proc, P_NEW)
        for path, written in ((a_file, 20), (b_file, -60)):
            head, *rest = path.read_text().splitlines()
            data = json.loads(head)
            data["timestamp"] = _iso(a_start - 3600)  # made an hour before
            path.write_text("\n".join([json.dumps(data), *rest]) + "\n")
            os.utime(path, (b_start + written, b_start + written))
        tool = pi()
        found = proc.found(PI_TITLED)
        found.start = b_start
        assert tool.find_session_id(proc.ctx(), found) == (None, None)
        other.kill()
        other.wait()
        # alone in the folder: the session it appended to is its own (`-c`)
        assert tool.find_session_id(proc.ctx(), found) == (P_OTHER, "sessions")
    finally:
        other.kill()
        other.wait()


# -- hostile store files -------------------------------------------------------------


def test_hostile_session_files_give_no_id(proc: Proc) -> None:
    folder = proc.home / ".pi" / "agent" / "sessions" / _session_dir_name(str(proc.cwd))
    folder.mkdir(parents=True)
    os.mkfifo(folder / f"2026-12-02T02-18-20-060Z_{P_NEW}.jsonl")  # would hang a read
    (folder / f"x_{P_OLD}.jsonl").write_text("{not json\n")
    (folder / "y.jsonl").write_text('["session"]\n')
    (folder / "z.jsonl").write_text(json.dumps({"type": "session", "id": 7, "cwd": str(proc.cwd)}))
    (folder / "bad-id.jsonl").write_text(
        json.dumps({"type": "session", "id": "../../etc", "cwd": str(proc.cwd)}) + "\n"
    )
    with open(folder / "huge.jsonl", "wb") as fh:  # one endless first line
        fh.write(b'{"type":"session","id":"' + b"a" * (3 << 20) + b'"}\n')
    os.symlink(FIXTURE, folder / f"link_{P_REAL}.jsonl")  # a symlink is not followed
    proc.write(".pi/agent/settings.json", "{broken")
    assert proc.find("pi", PI_TITLED) == (None, None)
    assert proc.find("pi", [*PI, "--session", str(folder / "missing.jsonl")]) == (None, None)
    os.mkfifo(proc.cwd / "s.jsonl")
    assert proc.find("pi", [*PI, "--session", "s.jsonl"]) == (None, None)


def test_a_fifo_settings_file_is_skipped(proc: Proc) -> None:
    (proc.home / ".pi" / "agent").mkdir(parents=True)
    os.mkfifo(proc.home / ".pi" / "agent" / "settings.json")
    session(proc, P_NEW)
    assert proc.find("pi", PI_TITLED) == (P_NEW, "sessions")


def test_watch_files_are_the_session_folders(proc: Proc) -> None:
    session(proc, P_NEW)
    session(proc, P_OTHER, cwd="/elsewhere")
    watched = pi().watch_files(str(proc.home))
    root = proc.home / ".pi" / "agent" / "sessions"
    assert sorted(watched) == sorted(
        [str(root / _session_dir_name(str(proc.cwd))), str(root / "--elsewhere--")]
    )


def test_parse_launch_of_the_titled_command_line() -> None:
    launch = parse_launch(PI_TITLED)
    assert launch is not None and launch.direct and launch.program == "pi"
