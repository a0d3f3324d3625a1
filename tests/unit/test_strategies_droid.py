"""Factory Droid: one test per session-ID strategy (switched, args, sessions)
in evidence order, detection of the node launcher and the native binary,
helpers that are not sessions, kept arguments and the resume form, a session
with no message saved as a fresh start, two panes in one folder."""

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

from assistant_resurrect import assistants, procs
from assistant_resurrect.assistants.base import FRESH
from assistant_resurrect.assistants.droid import Droid, project_dir_name
from tests.unit.strategy_helpers import Proc, make_proc

D_ARGS = "e1b1f09e-5477-46fb-b628-5653361e4fdf"
D_NEW = "6509cee4-a978-43de-8023-69d66a07ca37"
D_OTHER = "3f0c2a51-9d7e-4b8a-a1c2-5e6f7a8b9c0d"
D_OLD = "0b7d6c5e-1a2b-4c3d-8e9f-a0b1c2d3e4f5"
LAUNCHER = ["node", "/usr/lib/node_modules/@factory/cli/bin/droid"]
NATIVE = ["/usr/lib/node_modules/@factory/cli/node_modules/@factory/cli-linux-x64/bin/droid"]
HOST = "c8e8c260-6547-4a20-8db4-147ad06cc841"


def head(sid: str, cwd: str, title: str = "New Session") -> dict[str, object]:
    """The first line, as droid 0.225.2 writes it (recorded from a real run)."""
    return {
        "type": "session_start",
        "id": sid,
        "title": title,
        "owner": "unknown",
        "version": 2,
        "cwd": cwd,
        "hostId": HOST,
    }


def conversation(sid: str) -> list[dict[str, object]]:
    """What follows the first line once a message had its reply (recorded from
    droid 0.225.2 against tests/realcli/fake_api.py, the tool list shortened)."""
    return [
        {
            "type": "message",
            "id": "2e5f91a3-3fa8-48d5-8b04-36e550e0bf97",
            "timestamp": "2026-12-02T05:21:11.343Z",
            "message": {
                "role": "user",
                "content": [{"type": "text", "text": "hello there"}],
                "userMessageSource": "cli_tui",
                "interactionMode": "auto",
            },
        },
        {
            "type": "message",
            "id": "354f857e-df17-405e-9b94-4f40d1fe9c09",
            "parentId": "2e5f91a3-3fa8-48d5-8b04-36e550e0bf97",
            "timestamp": "2026-12-02T05:21:11.472Z",
            "message": {
                "role": "assistant",
                "content": [{"type": "text", "text": "stub reply"}],
                "modelId": "custom:Stub-0",
            },
        },
        {
            "type": "agent_turn_outcome",
            "turnId": "2e5f91a3-3fa8-48d5-8b04-36e550e0bf97",
            "reason": "completed",
            "resultKind": "text",
        },
    ]


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    monkeypatch.delenv("FACTORY_HOME_OVERRIDE", raising=False)
    yield from make_proc(tmp_path, monkeypatch)


def droid() -> Droid:
    tool = assistants.by_name("droid")
    assert isinstance(tool, Droid)
    return tool


def session(
    p: Proc,
    sid: str,
    cwd: Optional[str] = None,
    talked: bool = True,
    before_start: bool = False,
    folder: Optional[str] = None,
    mtime: Optional[float] = None,
    began: Optional[float] = None,
) -> Path:
    """A session file in the cwd's folder under ~/.factory/sessions; with a
    conversation unless `talked` is off (a pre-created session)."""
    cwd = cwd or str(p.cwd)
    lines = [head(sid, cwd, "stub reply" if talked else "New Session")]
    if talked:
        lines += conversation(sid)
        if began is not None:  # the first message's time
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(began))
            lines[1]["timestamp"] = f"{stamp}.{int(began * 1000) % 1000:03d}Z"
    rel = folder or f".factory/sessions/{project_dir_name(cwd)}"
    path = p.write(f"{rel}/{sid}.jsonl", "".join(json.dumps(x) + "\n" for x in lines), before_start)
    p.write(f"{rel}/{sid}.settings.json", json.dumps({"model": "custom:Stub-0"}), before_start)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_project_folder_name() -> None:
    assert project_dir_name("/tmp/droidproj") == "-tmp-droidproj"  # seen in a real run
    assert project_dir_name("/home/u/my.project/") == "-home-u-my.project"
    assert project_dir_name("//a//b") == "-a-b"


# -- detection -----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        LAUNCHER,
        ["node", "/opt/x/node_modules/.bin/droid", "--auto", "low"],
        NATIVE,
        ["/home/u/.local/bin/droid", "--resume", D_ARGS],
        ["droid", "resume", D_ARGS],
    ],
)
def test_droid_is_detected(argv: list[str]) -> None:
    m = assistants.match(argv)
    assert m is not None and m[0].name == "droid"
    assert m[0].is_session(m[1].args)


@pytest.mark.parametrize(
    "args",
    [
        ["exec", "--input-format", "stream-jsonrpc", "--output-format", "stream-jsonrpc"],
        ["exec", "analyze this file"],
        ["daemon"],
        ["search", "foo"],
        ["find", "foo"],
        ["update"],
        ["mcp", "list"],
        ["plugin", "list"],
        ["computer", "list"],
        ["doctor"],
        ["help"],
        ["--version"],
        ["-v"],
        ["-h"],
    ],
)
def test_helpers_are_not_sessions(args: list[str]) -> None:
    """The TUI's own engine (`droid exec --input-format stream-jsonrpc ...`,
    its grandchild) and the subcommands of 0.225.2 --help."""
    m = assistants.match([*NATIVE, *args])
    assert m is not None and m[0].name == "droid"
    assert not m[0].is_session(m[1].args)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_launcher_and_its_native_child_are_one_session(tmp_path: Path) -> None:
    """A pane running the node launcher, which runs the native binary, which
    runs the engine (`droid exec ...`): the launcher is the session, the two
    below are its same-tool descendants."""
    from assistant_resurrect import detect

    pkg = tmp_path / "node_modules" / "@factory"
    native = pkg / "cli-linux-x64" / "bin" / "droid"
    native.parent.mkdir(parents=True)
    native.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = exec ]; then sleep 300; exit; fi\n'
        f'"{native}" exec --input-format stream-jsonrpc --output-format stream-jsonrpc &\n'
        "wait\n"
    )
    native.chmod(0o755)
    launcher = pkg / "cli" / "bin" / "droid"
    launcher.parent.mkdir(parents=True)
    launcher.write_text(
        "require('child_process').spawnSync(process.argv[2], process.argv.slice(3),"
        " {stdio: 'inherit'});\n"
    )
    child = subprocess.Popen(
        ["node", str(launcher), str(native), "--auto", "low"], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 15
        det = None
        while time.monotonic() < deadline:
            det = detect.in_pane(child.pid, procs.snapshot())
            if det is not None and len(det.pids) == 3:
                break
            time.sleep(0.1)
        assert det is not None and det.assistant.name == "droid" and det.pid == child.pid
        assert len(det.pids) == 3, det.pids
    finally:
        os.killpg(child.pid, 9)
        child.wait()


# -- arguments -------------------------------------------------------------------


def test_kept_args_and_resume_form() -> None:
    """0.225.2 --help: `-r, --resume [sessionId]  Resume a session`."""
    tool = droid()
    args = [
        "--auto",
        "high",
        "--resume",
        D_ARGS,
        "--last",
        "--append-system-prompt",
        "be brief",
        "--settings",
        "/srv/droid.json",
        "review app.tsx",
    ]
    kept = tool.cli_args(args)
    assert kept == [
        "--auto",
        "high",
        "--append-system-prompt",
        "be brief",
        "--settings",
        "/srv/droid.json",
    ]
    assert tool.resume_argv("droid", kept, D_NEW) == ["droid", *kept, "--resume", D_NEW]
    assert tool.cli_args(["resume", D_ARGS, "--auto", "low"]) == ["--auto", "low"]
    assert tool.cli_args(["--fork", D_OLD, "-r"]) == []
    assert tool.model(args) is None  # the TUI takes no model option
    assert not tool.valid_session_id("latest") and tool.valid_session_id(D_ARGS)


def test_code_loading_options() -> None:
    tool = droid()
    args = ["--settings", "./s.json", "--auto", "low"]
    assert tool.code_paths(args) == [("--settings", "./s.json")]
    assert tool.without_code_options(args) == (["--auto", "low"], ["--settings"])


# -- strategies in evidence order ------------------------------------------------


def test_switched_after_new(proc: Proc) -> None:
    """Started with `--resume X`, then /new and a message: a newer session of
    the cwd than X was written since the start, no other Droid works there."""
    session(proc, D_ARGS, mtime=proc.start + 1)
    session(proc, D_NEW, mtime=proc.start + 2)
    assert proc.find("droid", [*LAUNCHER, "--resume", D_ARGS]) == (D_NEW, "switched")


def test_switched_new_without_a_message_is_a_fresh_start(proc: Proc) -> None:
    session(proc, D_ARGS, before_start=True)
    session(proc, D_NEW, talked=False)  # /new pre-creates the next session
    assert proc.find("droid", [*LAUNCHER, "-r", D_ARGS]) == (None, FRESH)


def test_switched_not_while_another_droid_works_there(proc: Proc, tmp_path: Path) -> None:
    """The newer file may be another live Droid's of the same folder: the
    command line answers."""
    fake = tmp_path / "bin" / "droid"
    fake.parent.mkdir()
    shutil.copy("/bin/sleep", fake)
    other = subprocess.Popen([str(fake), "300"], cwd=proc.cwd)
    try:
        deadline = time.monotonic() + 5
        while procs.snapshot().cwd(other.pid) != str(proc.cwd) and time.monotonic() < deadline:
            time.sleep(0.02)
        session(proc, D_ARGS, mtime=proc.start + 1)
        session(proc, D_NEW, mtime=proc.start + 2)
        assert proc.find("droid", [*LAUNCHER, "--resume", D_ARGS]) == (D_ARGS, "args")
    finally:
        other.kill()
        other.wait()


def test_args_resume_uuid(proc: Proc) -> None:
    session(proc, D_ARGS, before_start=True)  # resuming writes nothing
    assert proc.find("droid", [*LAUNCHER, "--resume", D_ARGS]) == (D_ARGS, "args")
    assert proc.find("droid", [*LAUNCHER, f"--resume={D_ARGS}"]) == (D_ARGS, "args")
    assert proc.find("droid", [*NATIVE, "resume", D_ARGS]) == (D_ARGS, "args")


def test_args_fork_names_no_session(proc: Proc) -> None:
    session(proc, D_OLD, before_start=True)
    assert proc.find("droid", [*LAUNCHER, "--fork", D_OLD]) == (None, None)


def test_sessions_newest_of_the_cwd(proc: Proc) -> None:
    session(proc, D_OLD, before_start=True)  # an earlier process's
    session(proc, D_OTHER, cwd="/elsewhere")  # another folder's
    session(proc, D_NEW)
    assert proc.find("droid", LAUNCHER) == (D_NEW, "sessions")


def test_sessions_header_must_name_the_cwd(proc: Proc) -> None:
    folder = f".factory/sessions/{project_dir_name(str(proc.cwd))}"
    session(proc, D_OTHER, cwd="/elsewhere", folder=folder)
    assert proc.find("droid", LAUNCHER) == (None, None)


def test_sessions_of_the_cwd_option(proc: Proc) -> None:
    """`--cwd <path>`: the session works there (its folder is that path's)."""
    other = proc.cwd.parent / "other"
    other.mkdir()
    session(proc, D_OTHER, cwd=str(other))
    assert proc.find("droid", [*LAUNCHER, "--cwd", "../other"]) == (D_OTHER, "sessions")
    assert proc.find("droid", LAUNCHER) == (None, None)


def test_sessions_factory_home_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`FACTORY_HOME_OVERRIDE` in the process's environment moves `.factory`."""
    monkeypatch.delenv("FACTORY_HOME_OVERRIDE", raising=False)
    alt = tmp_path / "alt"
    gen = make_proc(tmp_path, monkeypatch, extra_env={"FACTORY_HOME_OVERRIDE": str(alt)})
    p = next(gen)
    try:
        folder = alt / ".factory" / "sessions" / project_dir_name(str(p.cwd))
        session(p, D_NEW, folder=os.path.relpath(folder, p.home))
        assert p.find("droid", LAUNCHER) == (D_NEW, "sessions")
        session(p, D_OTHER)  # ~/.factory: not where this process keeps them
        assert p.find("droid", LAUNCHER, claimed={D_NEW: 1}) == (None, None)
    finally:
        gen.close()


def test_a_pre_created_session_is_a_fresh_start(proc: Proc) -> None:
    """Droid creates a session at start-up, before any message: nothing to
    resume yet."""
    session(proc, D_NEW, talked=False)
    assert proc.find("droid", LAUNCHER) == (None, FRESH)
    assert droid().resumable(proc.ctx(), proc.found(LAUNCHER), D_OLD) is None  # no file


def test_sessions_begun_after_another_droid_started_are_its_own(proc: Proc, tmp_path: Path) -> None:
    """Another Droid of the folder started before this one, and its session
    (first message after its start, before ours) got a message since ours
    started: the newest file is most likely that Droid's; ours is taken."""
    fake = tmp_path / "bin" / "droid"
    fake.parent.mkdir()
    shutil.copy("/bin/sleep", fake)
    other = subprocess.Popen([str(fake), "300"], cwd=proc.cwd)
    try:
        deadline = time.monotonic() + 5
        while procs.snapshot().cwd(other.pid) != str(proc.cwd) and time.monotonic() < deadline:
            time.sleep(0.02)
        theirs = procs.snapshot().procs[other.pid].start
        # this test's "process" is the older one: shift the story so that the
        # other Droid started first (its start, then its first message, then ours)
        mine = theirs + 30
        found = proc.found(LAUNCHER)
        found.start = mine
        session(proc, D_OTHER, mtime=mine + 5, began=theirs + 10)  # begun before ours
        session(proc, D_NEW, mtime=mine + 2, began=mine + 1)  # ours
        tool = droid()
        assert tool.find_session_id(proc.ctx(), found) == (D_NEW, "sessions")
        # with ours claimed elsewhere, the other's is all that is left
        assert tool.find_session_id(proc.ctx({D_NEW: 1}), found) == (D_OTHER, "sessions")
    finally:
        other.kill()
        other.wait()


def test_sessions_begun_after_a_later_droid_started_are_its_own(proc: Proc, tmp_path: Path) -> None:
    """Another Droid of the folder started after this one and began its
    session then; its auto-title rewrote that file last (the folder's newest,
    seen in a real run): ours is the one begun before the other started."""
    fake = tmp_path / "bin" / "droid"
    fake.parent.mkdir()
    shutil.copy("/bin/sleep", fake)
    other = subprocess.Popen([str(fake), "300"], cwd=proc.cwd)
    try:
        deadline = time.monotonic() + 5
        while procs.snapshot().cwd(other.pid) != str(proc.cwd) and time.monotonic() < deadline:
            time.sleep(0.02)
        theirs = procs.snapshot().procs[other.pid].start
        found = proc.found(LAUNCHER)
        found.start = mine = theirs - 30  # ours started first
        session(proc, D_NEW, mtime=theirs + 5, began=mine + 2)  # ours
        session(proc, D_OTHER, mtime=theirs + 9, began=theirs + 3)  # theirs, the newest
        tool = droid()
        assert tool.find_session_id(proc.ctx(), found) == (D_NEW, "sessions")
        assert tool.find_session_id(proc.ctx({D_NEW: 1}), found) == (D_OTHER, "sessions")
    finally:
        other.kill()
        other.wait()


def test_a_message_just_before_this_start_is_not_this_ones(proc: Proc, tmp_path: Path) -> None:
    """The other pane's first message came 0.45 s before this Droid started
    (seen in a real run): message timestamps are to the ms, so that session
    began before this one started, and is the other's."""
    fake = tmp_path / "bin" / "droid"
    fake.parent.mkdir()
    shutil.copy("/bin/sleep", fake)
    other = subprocess.Popen([str(fake), "300"], cwd=proc.cwd)
    try:
        deadline = time.monotonic() + 5
        while procs.snapshot().cwd(other.pid) != str(proc.cwd) and time.monotonic() < deadline:
            time.sleep(0.02)
        theirs = procs.snapshot().procs[other.pid].start
        found = proc.found(LAUNCHER)
        found.start = mine = theirs + 4
        session(proc, D_OTHER, mtime=mine + 9, began=mine - 0.45)  # theirs, the newest
        session(proc, D_NEW, mtime=mine + 5, began=mine + 3)  # ours
        assert droid().find_session_id(proc.ctx(), found) == (D_NEW, "sessions")
    finally:
        other.kill()
        other.wait()


def test_two_panes_in_one_folder_never_share_an_id(proc: Proc) -> None:
    session(proc, D_OTHER, mtime=proc.start + 1)
    session(proc, D_NEW, mtime=proc.start + 2)
    assert proc.find("droid", LAUNCHER, claimed={D_NEW: proc.pid + 1}) == (D_OTHER, "sessions")
    assert proc.find("droid", LAUNCHER, claimed={D_NEW: 1, D_OTHER: 2}) == (None, None)


def test_hostile_store_files(proc: Proc) -> None:
    """A FIFO or a symlink in place of a session file is skipped, never read."""
    folder = proc.home / ".factory" / "sessions" / project_dir_name(str(proc.cwd))
    folder.mkdir(parents=True)
    os.mkfifo(folder / f"{D_OTHER}.jsonl")
    target = proc.write("elsewhere.jsonl", json.dumps(head(D_NEW, str(proc.cwd))) + "\n")
    os.symlink(target, folder / f"{D_NEW}.jsonl")
    assert proc.find("droid", LAUNCHER) == (None, None)


def test_watch_files_are_the_newest_project_folders(proc: Proc) -> None:
    session(proc, D_NEW)
    session(proc, D_OTHER, cwd="/elsewhere", before_start=True)
    root = proc.home / ".factory" / "sessions"
    old = root / project_dir_name("/elsewhere")
    os.utime(old, (proc.start - 100, proc.start - 100))
    assert droid().watch_files(str(proc.home)) == [
        str(root / project_dir_name(str(proc.cwd))),
        str(old),
    ]
