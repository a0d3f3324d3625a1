"""Oh My Pi (omp): one test per session-ID strategy (terminal, args, sessions)
in evidence order, detection (Bun runs it; not Pi, and Pi is not omp),
helpers and one-shot runs that are not sessions, kept arguments and the
resume form, two panes in one folder, hostile store files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

from assistant_resurrect import assistants, detect, procs
from assistant_resurrect.assistants.base import FRESH, Found, parse_launch
from assistant_resurrect.assistants.omp import OhMyPi, session_dir_name
from tests.unit.strategy_helpers import Proc, make_proc

FIXTURES = Path(__file__).parent / "fixtures" / "omp"
FIXTURE = FIXTURES / "session.jsonl"
# The ID in the fixture (written by omp 18.2.3 against tests/realcli/fake_api.py).
O_REAL = "01a2349a-f72b-72ba-aa0d-c9938a9b9453"
O_ARGS = "01a2349c-93c5-7712-83d3-277be312fc80"
O_NEW = "01a234a0-0000-7000-8000-000000000001"
O_OTHER = "01a234a0-0000-7000-8000-000000000002"
O_OLD = "01a23480-0000-7000-8000-000000000003"
# What /proc/<pid>/cmdline of a running omp reads: Bun runs the shebang
# script (`#!/usr/bin/env bun`) and leaves the arguments as they were.
OMP = ["bun", "/usr/local/lib/node_modules/.bin/omp"]
ENV = (
    "PI_CODING_AGENT_DIR",
    "PI_CODING_AGENT_SESSION_DIR",
    "PI_CONFIG_DIR",
    "OMP_PROFILE",
    "PI_PROFILE",
    "XDG_STATE_HOME",
    "TMUX_PANE",
    "ZELLIJ_PANE_ID",
)


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    yield from make_proc(tmp_path, monkeypatch)


def omp() -> OhMyPi:
    tool = assistants.by_name("omp")
    assert isinstance(tool, OhMyPi)
    return tool


def folder_of(p: Proc, cwd: Optional[str] = None) -> str:
    return f".omp/agent/sessions/{session_dir_name(cwd or str(p.cwd), str(p.home))}"


def session(
    p: Proc,
    sid: str,
    cwd: Optional[str] = None,
    before_start: bool = False,
    folder: Optional[str] = None,
) -> Path:
    """A session file as omp 18.2.3 writes it (the recorded fixture with its
    header's ID and cwd replaced), in the cwd's default session folder."""
    cwd = cwd or str(p.cwd)
    title, head_line, *rest = FIXTURE.read_text().splitlines()
    head = json.loads(head_line)
    head.update(id=sid, cwd=cwd)
    name = f"2026-12-02T02-35-00-779Z_{sid}.jsonl"
    text = "\n".join([title, json.dumps(head), *rest]) + "\n"
    return p.write(f"{folder or folder_of(p, cwd)}/{name}", text, before_start)


class Tty:
    """A real process with a pseudo-terminal as its stdin, as in a tmux pane."""

    def __init__(self, p: Proc, cwd: Optional[Path] = None) -> None:
        self.master, slave = os.openpty()
        self.name = os.ttyname(slave)  # /dev/pts/N
        self.child = subprocess.Popen(
            ["sleep", "300"], stdin=slave, cwd=cwd or p.cwd, env={"HOME": str(p.home)}
        )
        os.close(slave)
        deadline = time.monotonic() + 5
        info = procs.read_proc(self.child.pid)
        while info is None and time.monotonic() < deadline:
            time.sleep(0.01)
            info = procs.read_proc(self.child.pid)
        assert info is not None
        self.start = info.start
        self.cwd = str(cwd or p.cwd)
        time.sleep(0.05)

    @property
    def record(self) -> str:
        """omp's name for the terminal's record (`pts-3`)."""
        return self.name[len("/dev/") :].replace("/", "-")

    def found(self, argv: list[str]) -> Found:
        launch = parse_launch(argv)
        assert launch is not None
        pid = self.child.pid
        return Found(pid=pid, launch=launch, start=self.start, cwd=self.cwd, pids=[pid])

    def close(self) -> None:
        self.child.kill()
        self.child.wait()
        os.close(self.master)


@pytest.fixture
def tty(proc: Proc) -> Iterator[Tty]:
    t = Tty(proc)
    yield t
    t.close()


def breadcrumb(p: Proc, t: Tty, session_file: str, fresh: bool = False, cwd: str = "") -> Path:
    """The terminal record as omp 18.2.3 writes it (see fixtures/omp/terminal-breadcrumb)."""
    extras = "fresh\n" if fresh else ""
    text = f"{cwd or t.cwd}\n{session_file}\n{extras}cwdstat 65024 2621889\n"
    return p.write(f".omp/agent/terminal-sessions/{t.record}", text)


def test_the_recorded_fixtures_are_omp_files() -> None:
    title, head_line = FIXTURE.read_text().splitlines()[:2]
    assert json.loads(title)["type"] == "title"  # the header is not the first line
    head = json.loads(head_line)
    assert head["type"] == "session" and head["id"] == O_REAL and head["version"] == 3
    record = (FIXTURES / "terminal-breadcrumb").read_text().splitlines()
    assert record[1].endswith(f"_{O_REAL}.jsonl") and record[0] == head["cwd"]


def test_session_folder_name(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "src" / "my.project:x").mkdir(parents=True)
    assert session_dir_name(str(home), str(home)) == "-"
    assert session_dir_name(str(home / "src" / "my.project:x"), str(home)) == "-src-my.project-x"
    # the recording: HOME=/tmp/omphome, cwd /tmp/omphome/work/proj
    assert session_dir_name("/tmp/omphome/work/proj", "/tmp/omphome") == "-work-proj"
    assert session_dir_name("/tmp/a/b", "/home/u", "/tmp") == "-tmp-a-b"
    assert session_dir_name("/tmp", "/home/u", "/tmp") == "-tmp"
    assert session_dir_name("/srv/a.b/c", "/home/u", "/tmp") == "--srv-a.b-c--"
    assert session_dir_name("/home/user2", "/home/u", "/tmp") == "--home-user2--"


# -- detection -----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        OMP,
        [*OMP, "--model", "x"],
        ["omp"],  # a compiled binary
        ["/usr/bin/env", "bun", "/home/u/.bun/bin/omp"],
        ["bun", "/usr/lib/node_modules/@oh-my-pi/pi-coding-agent/dist/cli.js"],
        ["bun", "/home/u/src/node_modules/@oh-my-pi/pi-coding-agent/src/cli.ts"],
    ],
)
def test_omp_is_detected_and_not_pi(argv: list[str]) -> None:
    m = assistants.match(argv)
    assert m is not None and m[0].name == "omp"


@pytest.mark.parametrize(
    "argv",
    [
        ["pi"],
        ["pi", *[""] * 40],  # a running Pi's titled command line
        ["node", "/usr/lib/node_modules/@mariozechner/pi-coding-agent/dist/cli.js"],
        ["/home/u/.npm-global/bin/pi", "--model", "x"],
        ["bun", "/x/ompx"],
        ["pip", "install", "omp"],
    ],
)
def test_pi_and_others_are_not_omp(argv: list[str]) -> None:
    m = assistants.match(argv)
    assert m is None or m[0].name != "omp"


def test_a_running_bun_omp_is_detected(tmp_path: Path) -> None:
    """A real process with omp's command line (`bun <...>/omp --model ...`):
    a program named `bun` running a script named `omp` with the arguments."""
    bindir = tmp_path / "node_modules" / ".bin"
    bindir.mkdir(parents=True)
    (bindir / "bun").symlink_to(sys.executable)
    script = bindir / "omp"
    script.write_text("import time\ntime.sleep(300)\n")
    child = subprocess.Popen(
        [str(bindir / "bun"), str(script), "--model", "stub", "--resume", O_ARGS]
    )
    try:
        deadline = time.monotonic() + 10
        argv = procs.backend().argv(child.pid)
        while argv[-1:] != [O_ARGS] and time.monotonic() < deadline:
            time.sleep(0.05)
            argv = procs.backend().argv(child.pid)
        det = detect.in_pane(child.pid, procs.snapshot())
        assert det is not None and det.assistant.name == "omp" and det.pid == child.pid
        tool, launch = det.assistant, det.launch
        kept = tool.cli_args(launch.args)
        assert kept == ["--model", "stub"]
        assert tool.resume_argv(launch.program, kept, O_NEW) == [
            str(script),
            "--model",
            "stub",
            "--resume",
            O_NEW,
        ]
    finally:
        child.kill()
        child.wait()


# -- helpers and one-shot runs -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "is_session"),
    [
        ([], True),
        (["--model", "sonnet", "--continue"], True),
        (["-r"], True),  # the picker
        (["--mode", "text"], True),
        (["Read package.json", "What deps?"], True),
        (["-p", "hi"], False),
        (["--print", "hi"], False),
        (["--mode", "rpc"], False),
        (["--mode", "rpc-ui"], False),
        (["--mode=json", "hi"], False),
        (["--export", "s.jsonl"], False),
        (["--profile", "work", "--alias", "omp-work"], False),
        (["--version"], False),
        (["acp"], False),
        (["commit"], False),
        (["config", "get", "x"], False),
        (["plugin", "list"], False),
        (["update"], False),
        (["join", "abc"], False),
        (["__omp_worker_lsp_mux"], False),  # omp's own worker subprocess
    ],
)
def test_helpers_are_not_sessions(args: list[str], is_session: bool) -> None:
    m = assistants.match([*OMP, *args])
    assert m is not None and m[0].name == "omp"
    assert m[0].is_session(m[1].args) is is_session


def test_kept_args_model_and_resume_form() -> None:
    tool = omp()
    args = [
        "--model",
        "anthropic/claude-sonnet-4-5",
        "-r",
        O_ARGS,
        "-c",
        "--thinking",
        "low",
        "--session-dir",
        "/srv/omp",
        "--fork",
        O_OLD,
        "--from-claude",
        "@notes.md",
        "first prompt",
    ]
    kept = tool.cli_args(args)
    assert kept == [
        "--model",
        "anthropic/claude-sonnet-4-5",
        "--thinking",
        "low",
        "--session-dir",
        "/srv/omp",
    ]
    assert tool.model(args) == "anthropic/claude-sonnet-4-5"
    # 18.2.3 --help: `-r, --resume=<value>  Resume a session (by ID prefix, path, ...)`
    assert tool.resume_argv("omp", kept, O_NEW) == ["omp", *kept, "--resume", O_NEW]
    assert tool.cli_args(["--session", O_OLD, "--resume=" + O_OLD, "--no-title"]) == ["--no-title"]
    assert tool.fresh_argv("omp", ["--no-session"]) == ["omp", "--no-session"]


def test_code_loading_options() -> None:
    tool = omp()
    args = [
        *("-e", "./ext.ts", "--hook", "/x/h.ts", "--plugin-dir", "plugins"),
        *("--config", "extra.yml", "--profile", "work", "--model", "m"),
    ]
    assert tool.code_paths(args) == [
        ("-e", "./ext.ts"),
        ("--hook", "/x/h.ts"),
        ("--plugin-dir", "plugins"),
        ("--config", "extra.yml"),
    ]
    kept, dropped = tool.without_code_options(args)
    assert kept == ["--model", "m"]
    assert dropped == ["-e", "--hook", "--plugin-dir", "--config", "--profile"]


# -- 1. terminal: the record of the process's own terminal ---------------------------


def test_terminal_record_outranks_args_and_sessions(proc: Proc, tty: Tty) -> None:
    """After `/resume` or `/new` omp rewrites its terminal's record; the
    command line still names the session it started with."""
    path = session(proc, O_NEW, before_start=True)
    session(proc, O_OTHER)  # written since the start: the newest of the folder
    breadcrumb(proc, tty, str(path))
    found = tty.found([*OMP, "--resume", O_ARGS])
    assert omp().find_session_id(proc.ctx(), found) == (O_NEW, "terminal")
    # the ID another pane's command line named: this process's own record wins
    ctx = proc.ctx({O_NEW: 1})
    ctx.from_args.add(O_NEW)
    assert omp().find_session_id(ctx, found) == (O_NEW, "terminal")


def test_terminal_record_of_a_session_not_written_yet_is_fresh(proc: Proc, tty: Tty) -> None:
    """A new session's file appears with its first reply; until then the
    record says `fresh`: nothing to resume."""
    session(proc, O_OLD)  # another session of the folder, written since
    missing = proc.home / folder_of(proc) / f"2026-12-02T02-40-00-000Z_{O_NEW}.jsonl"
    breadcrumb(proc, tty, str(missing), fresh=True)
    assert omp().find_session_id(proc.ctx(), tty.found(OMP)) == (None, FRESH)
    # not `fresh`: a record whose file was deleted says nothing
    breadcrumb(proc, tty, str(missing))
    assert omp().find_session_id(proc.ctx(), tty.found(OMP)) == (O_OLD, "sessions")


def test_terminal_record_from_an_earlier_process_is_ignored(proc: Proc, tty: Tty) -> None:
    path = session(proc, O_OLD, before_start=True)
    record = breadcrumb(proc, tty, str(path))
    old = tty.start - 120
    os.utime(record, (old, old))
    assert omp().find_session_id(proc.ctx(), tty.found(OMP)) == (None, None)


def test_terminal_record_of_another_folder_is_ignored(proc: Proc, tty: Tty) -> None:
    path = session(proc, O_OTHER, cwd="/elsewhere")
    breadcrumb(proc, tty, str(path), cwd="/elsewhere")
    assert omp().find_session_id(proc.ctx(), tty.found(OMP)) == (None, None)


def test_terminal_record_by_tmux_pane_without_a_tty(proc: Proc) -> None:
    """stdin not a terminal: omp names the record after $TMUX_PANE."""
    child = subprocess.Popen(
        ["sleep", "300"],
        stdin=subprocess.DEVNULL,
        cwd=proc.cwd,
        env={"HOME": str(proc.home), "TMUX_PANE": "%7"},
    )
    try:
        deadline = time.monotonic() + 5
        info = procs.read_proc(child.pid)
        while (info is None or not procs.snapshot().environ(child.pid)) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.01)
            info = procs.read_proc(child.pid)
        assert info is not None
        time.sleep(0.05)
        path = session(proc, O_NEW, before_start=True)
        proc.write(".omp/agent/terminal-sessions/tmux-%7", f"{proc.cwd}\n{path}\n")
        launch = parse_launch(OMP)
        assert launch is not None
        found = Found(pid=child.pid, launch=launch, start=info.start, cwd=str(proc.cwd))
        assert omp().find_session_id(proc.ctx(), found) == (O_NEW, "terminal")
    finally:
        child.kill()
        child.wait()


def test_two_panes_in_one_cwd_keep_their_own_sessions(proc: Proc, tty: Tty) -> None:
    """Two omps in one folder, each on its own terminal: each record names
    that pane's session, whichever file was written last."""
    other = Tty(proc)
    try:
        mine = session(proc, O_NEW)
        theirs = session(proc, O_OTHER)
        later = time.time() + 5
        os.utime(theirs, (later, later))
        breadcrumb(proc, tty, str(mine))
        breadcrumb(proc, other, str(theirs))
        assert omp().find_session_id(proc.ctx(), tty.found(OMP)) == (O_NEW, "terminal")
        assert omp().find_session_id(proc.ctx(), other.found(OMP)) == (O_OTHER, "terminal")
    finally:
        other.close()


# -- 2. args -----------------------------------------------------------------------


def test_args_resume_uuid(proc: Proc) -> None:
    session(proc, O_NEW)  # written since the start: the args outrank it
    assert proc.find("omp", [*OMP, "--model", "m", "--resume", O_ARGS]) == (O_ARGS, "args")
    assert proc.find("omp", [*OMP, f"--resume={O_ARGS}"]) == (O_ARGS, "args")
    assert proc.find("omp", [*OMP, "--session", O_ARGS]) == (O_ARGS, "args")


def test_args_resume_prefix_and_file(proc: Proc) -> None:
    session(proc, O_ARGS, before_start=True)
    session(proc, O_OLD, before_start=True)
    assert proc.find("omp", [*OMP, "-r", O_ARGS[:10]]) == (O_ARGS, "args")
    assert proc.find("omp", [*OMP, "-r", "01a2"]) == (None, None)  # two match
    path = session(proc, O_OTHER, before_start=True, folder="elsewhere")
    assert proc.find("omp", [*OMP, "--resume", str(path)]) == (O_OTHER, "args")


def test_no_session_is_a_fresh_start(proc: Proc) -> None:
    assert proc.find("omp", [*OMP, "--no-session"]) == (None, FRESH)


def test_the_picker_names_no_session(proc: Proc) -> None:
    session(proc, O_OLD, before_start=True)
    assert proc.find("omp", [*OMP, "-r", "--model", "m"]) == (None, None)


# -- 3. sessions ---------------------------------------------------------------------


def test_sessions_newest_of_the_cwd(proc: Proc) -> None:
    session(proc, O_OLD, before_start=True)  # an earlier process's
    session(proc, O_OTHER, cwd="/elsewhere")  # another folder's
    session(proc, O_NEW)
    assert proc.find("omp", OMP) == (O_NEW, "sessions")


def test_sessions_header_must_name_the_cwd(proc: Proc) -> None:
    session(proc, O_OTHER, cwd="/elsewhere", folder=folder_of(proc))
    assert proc.find("omp", OMP) == (None, None)


def test_sessions_in_the_agent_dir_session_dir_and_profile(
    proc: Proc, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = omp()
    ctx = proc.ctx()
    name = session_dir_name(str(proc.cwd), str(proc.home))
    assert tool.session_dir(ctx, proc.found(OMP)) == str(proc.home / folder_of(proc))
    found = proc.found([*OMP, "--session-dir", "/srv/s"])
    assert tool.session_dir(ctx, found) == "/srv/s"
    found = proc.found([*OMP, "--profile", "work"])
    assert tool.session_dir(ctx, found) == str(
        proc.home / ".omp" / "profiles" / "work" / "agent" / "sessions" / name
    )
    session(proc, O_NEW, folder=f".omp/profiles/work/agent/sessions/{name}")
    assert proc.find("omp", [*OMP, "--profile", "work"]) == (O_NEW, "sessions")
    assert proc.find("omp", OMP) == (None, None)


def test_sessions_under_pi_coding_agent_dir_and_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    agent = tmp_path / "agentdir"
    gen = make_proc(tmp_path, monkeypatch, {"PI_CODING_AGENT_DIR": str(agent)})
    p = next(gen)
    try:
        session(p, O_NEW)  # under ~/.omp/agent: not where this omp keeps them
        assert p.find("omp", OMP) == (None, None)
        name = session_dir_name(str(p.cwd), str(p.home))
        session(p, O_OTHER, folder=f"../agentdir/sessions/{name}")
        assert p.find("omp", OMP) == (O_OTHER, "sessions")
    finally:
        gen.close()
    xdg = tmp_path / "xdg"
    gen = make_proc(tmp_path / "2", monkeypatch, {"XDG_DATA_HOME": str(xdg)})
    p = next(gen)
    try:
        session(p, O_NEW)  # no $XDG_DATA_HOME/omp yet: ~/.omp/agent/sessions
        assert p.find("omp", OMP) == (O_NEW, "sessions")
        (xdg / "omp").mkdir(parents=True)  # once it exists, omp keeps them there
        assert p.find("omp", OMP) == (None, None)
    finally:
        gen.close()


# -- hostile store files -------------------------------------------------------------


def test_hostile_session_files_give_no_id(proc: Proc) -> None:
    folder = proc.home / folder_of(proc)
    folder.mkdir(parents=True)
    os.mkfifo(folder / f"2026-12-02T02-18-20-060Z_{O_NEW}.jsonl")  # would hang a read
    (folder / f"x_{O_OLD}.jsonl").write_text("{not json\n")
    (folder / "y.jsonl").write_text('["session"]\n')
    (folder / "z.jsonl").write_text(json.dumps({"type": "session", "id": 7, "cwd": str(proc.cwd)}))
    (folder / "bad-id.jsonl").write_text(
        json.dumps({"type": "session", "id": "../../etc", "cwd": str(proc.cwd)}) + "\n"
    )
    with open(folder / "huge.jsonl", "wb") as fh:  # one endless first line
        fh.write(b'{"type":"title","pad":"' + b" " * (3 << 20) + b'"}\n')
    os.symlink(FIXTURE, folder / f"link_{O_REAL}.jsonl")  # a symlink is not followed
    assert proc.find("omp", OMP) == (None, None)
    assert proc.find("omp", [*OMP, "-r", str(folder / "missing.jsonl")]) == (None, None)
    os.mkfifo(proc.cwd / "s.jsonl")
    assert proc.find("omp", [*OMP, "--resume", "s.jsonl"]) == (None, None)


@pytest.mark.parametrize("kind", ["fifo", "huge", "garbage", "symlink", "relative", "bad-id"])
def test_hostile_terminal_records_give_no_id(proc: Proc, tty: Tty, kind: str) -> None:
    path = session(proc, O_OLD, before_start=True)
    record = proc.home / ".omp" / "agent" / "terminal-sessions" / tty.record
    record.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(record)
    elif kind == "huge":
        record.write_text(f"{tty.cwd}\n{path}\n" + "x" * (1 << 20))
    elif kind == "garbage":
        record.write_bytes(b"\xff\x00\n\x01")
    elif kind == "symlink":
        real = proc.write("elsewhere/record", f"{tty.cwd}\n{path}\n")
        record.symlink_to(real)
    elif kind == "relative":
        record.write_text(f"{tty.cwd}\n{os.path.relpath(path, proc.cwd)}\n")
    else:  # the name's ID is not the file's header's
        wrong = path.with_name(f"2026-12-02T02-35-00-779Z_{O_NEW}.jsonl")
        path.rename(wrong)
        record.write_text(f"{tty.cwd}\n{wrong}\n")
    assert omp().find_session_id(proc.ctx(), tty.found(OMP)) == (None, None)


def test_watch_files_are_the_records_and_session_folders(proc: Proc) -> None:
    """The records and session folders, and the two databases' WAL files that
    omp writes with each prompt and reply, listed before they exist (an omp
    started after the sentinel listed its files: its new record and folder
    are counted as unchanged when they first show in the list)."""
    session(proc, O_NEW)
    session(proc, O_OTHER, cwd="/elsewhere")
    proc.write(".omp/agent/terminal-sessions/pts-3", "x\ny\n")
    watched = omp().watch_files(str(proc.home))
    agent = proc.home / ".omp" / "agent"
    assert not (agent / "history.db-wal").exists()
    assert sorted(watched) == sorted(
        [
            str(agent / "history.db-wal"),
            str(agent / "agent.db-wal"),
            str(agent / "terminal-sessions"),
            str(agent / "sessions"),
            str(agent / "terminal-sessions" / "pts-3"),
            str(agent / "sessions" / session_dir_name(str(proc.cwd), str(proc.home))),
            str(agent / "sessions" / "--elsewhere--"),
        ]
    )
