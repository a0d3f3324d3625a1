"""Qwen Code: one test per session-ID strategy (registry, runtime-status,
args, chats) in evidence order, sessions without a conversation saved as fresh
starts, one-shot runs and helpers that are not sessions, kept arguments, the
resume form, and hostile store files.

The records are the ones Qwen Code 0.24.4 wrote (tests/unit/fixtures/qwen/,
recorded offline against a loopback OpenAI-compatible stub), rewritten for the
stand-in process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

from assistant_resurrect import assistants
from assistant_resurrect.assistants.base import FRESH
from tests.unit.strategy_helpers import Proc, make_proc

FIXTURES = Path(__file__).parent / "fixtures" / "qwen"
Q_ARGS = "7607a433-a71d-4cb7-ace3-bad103be0317"
Q_REG = "432b1903-6ea4-4c81-bd8a-cfd99076dc43"
Q_NEW = "5e578a6b-1d50-4faf-bbbe-bea9b744651b"
Q_OLD = "8b265035-2170-432d-beb6-dd3b70587528"
QWEN = ["node", "/usr/lib/node_modules/@qwen-code/qwen-code/cli-entry.js"]
QWEN_ENV = ("QWEN_HOME", "QWEN_RUNTIME_DIR")


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    for name in QWEN_ENV:
        monkeypatch.delenv(name, raising=False)
    yield from make_proc(tmp_path, monkeypatch)


def qwen() -> Any:
    tool = assistants.by_name("qwen")
    assert tool is not None, "qwen is not registered"
    return tool


def token(pid: int) -> str:
    """The start token Qwen records: `<boot_id>:<starttime field of /proc/PID/stat>`."""
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    stat = Path(f"/proc/{pid}/stat").read_text()
    return f"{boot}:{stat[stat.rindex(')') + 1 :].split()[19]}"


def chats(p: Proc, cwd: Optional[Path] = None, base: str = ".qwen") -> str:
    """The project chats folder, relative to HOME (`base` may be absolute)."""
    project = re.sub(r"[^a-zA-Z0-9]", "-", str(cwd or p.cwd))
    return f"{base}/projects/{project}/chats"


def transcript(
    p: Proc, sid: str, before_start: bool = False, cwd: Optional[Path] = None, base: str = ".qwen"
) -> Path:
    """A conversation file as Qwen writes it at the first message (the recorded
    one, its session ID and cwd replaced)."""
    lines = []
    for line in (FIXTURES / "session.jsonl").read_text().splitlines():
        rec = json.loads(line)
        rec["sessionId"] = sid
        rec["cwd"] = str(cwd or p.cwd)
        lines.append(json.dumps(rec))
    return p.write(f"{chats(p, cwd, base)}/{sid}.jsonl", "\n".join(lines) + "\n", before_start)


def runtime_status(
    p: Proc, sid: str, pid: int = 0, started: float = 0.0, base: str = ".qwen"
) -> Path:
    rec = json.loads((FIXTURES / "runtime.json").read_text())
    rec.update(
        pid=pid or p.pid, session_id=sid, work_dir=str(p.cwd), started_at=started or time.time()
    )
    return p.write(f"{chats(p, base=base)}/{sid}.runtime.json", json.dumps(rec, indent=2))


def registry(
    p: Proc, sid: str, pid: int = 0, proc_start: Optional[str] = None, base: str = ".qwen"
) -> Path:
    rec = json.loads((FIXTURES / "registry.json").read_text())
    pid = pid or p.pid
    rec.update(
        pid=pid,
        procStart=token(pid) if proc_start is None else proc_start,
        sessionId=sid,
        cwd=str(p.cwd),
        startedAt=int(time.time() * 1000),
    )
    return p.write(f"{base}/sessions/{pid}.json", json.dumps(rec, indent=2))


@pytest.fixture
def other(proc: Proc) -> Iterator[int]:
    """A second live process (another pane's Qwen) in the same folder."""
    child = subprocess.Popen(["sleep", "300"], cwd=proc.cwd)
    try:
        deadline = time.monotonic() + 5
        while not Path(f"/proc/{child.pid}/stat").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        yield child.pid
    finally:
        child.kill()
        child.wait()


# -- strategies, in evidence order --------------------------------------------------


def test_registry_record_outranks_the_launch_arguments(proc: Proc) -> None:
    """`qwen --resume A`, then `/clear` and a message: the live-session registry
    names the new session."""
    transcript(proc, Q_ARGS, before_start=True)
    transcript(proc, Q_REG)
    registry(proc, Q_REG)
    assert proc.find("qwen", [*QWEN, "--resume", Q_ARGS]) == (Q_REG, "registry")


def test_registry_record_of_a_reused_pid_is_ignored(proc: Proc) -> None:
    transcript(proc, Q_ARGS, before_start=True)
    registry(proc, Q_REG, proc_start="7ffadd4c-da2b-4eb0-94e1-5b78de7dba92:1")
    assert proc.find("qwen", [*QWEN, "--resume", Q_ARGS]) == (Q_ARGS, "args")
    assert any("earlier process" in line for line in proc.log_lines)


def test_registry_under_qwen_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`QWEN_HOME` (the process's own environment) moves the whole store."""
    for name in QWEN_ENV:
        monkeypatch.delenv(name, raising=False)
    qhome = tmp_path / "qhome"
    for p in make_proc(tmp_path, monkeypatch, {"QWEN_HOME": str(qhome)}):
        registry(p, Q_REG, base=str(qhome))
        transcript(p, Q_REG, base=str(qhome))
        registry(p, Q_NEW)  # the default place is not this process's
        assert p.find("qwen", [*QWEN]) == (Q_REG, "registry")


def test_runtime_status_without_a_registry_record(proc: Proc) -> None:
    """No registry record (its folder unwritable, say): the sidecar Qwen
    writes next to the transcripts names this PID's current session."""
    transcript(proc, Q_ARGS, before_start=True)
    transcript(proc, Q_REG)
    runtime_status(proc, Q_OLD, started=proc.start - 600)  # an earlier process's, same PID
    runtime_status(proc, Q_NEW, pid=1)  # another process's
    runtime_status(proc, Q_REG)
    assert proc.find("qwen", [*QWEN, "--resume", Q_ARGS]) == (Q_REG, "runtime-status")


def test_runtime_status_under_qwen_runtime_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in QWEN_ENV:
        monkeypatch.delenv(name, raising=False)
    runtime = tmp_path / "runtime"
    for p in make_proc(tmp_path, monkeypatch, {"QWEN_RUNTIME_DIR": str(runtime)}):
        runtime_status(p, Q_REG, base=str(runtime))
        transcript(p, Q_REG, base=str(runtime))
        assert p.find("qwen", [*QWEN]) == (Q_REG, "runtime-status")


def test_runtime_status_under_the_runtime_output_dir_setting(proc: Proc) -> None:
    proc.write(".qwen/settings.json", json.dumps({"advanced": {"runtimeOutputDir": "~/rt"}}))
    runtime_status(proc, Q_REG, base="rt")
    transcript(proc, Q_REG, base="rt")
    assert proc.find("qwen", [*QWEN]) == (Q_REG, "runtime-status")


def test_args_resume_or_session_id(proc: Proc) -> None:
    transcript(proc, Q_ARGS, before_start=True)
    assert proc.find("qwen", [*QWEN, "-m", "qwen3-coder", "--resume", Q_ARGS]) == (Q_ARGS, "args")
    assert proc.find("qwen", [*QWEN, "-r", Q_ARGS]) == (Q_ARGS, "args")
    assert proc.find("qwen", [*QWEN, f"--session-id={Q_ARGS}"]) == (Q_ARGS, "args")
    # `--resume` alone opens the picker: nothing to read from the command line
    assert proc.find("qwen", [*QWEN, "--resume"]) == (None, None)


def test_chats_of_the_cwd_project(proc: Proc) -> None:
    transcript(proc, Q_OLD, before_start=True)
    transcript(proc, Q_ARGS, cwd=proc.cwd.parent)  # another folder's project
    proc.write(f"{chats(proc)}/{Q_NEW}-agent-explore.jsonl", json.dumps({"sessionId": Q_NEW}))
    proc.write(f"{chats(proc)}/{Q_OLD}.ledger.jsonl", json.dumps({"sessionId": Q_OLD}))
    transcript(proc, Q_REG)
    assert proc.find("qwen", [*QWEN]) == (Q_REG, "chats")
    # `--continue` names no ID: the conversation it appended to does
    assert proc.find("qwen", [*QWEN, "--continue"]) == (Q_REG, "chats")


def test_two_panes_in_one_folder_never_share_an_id(proc: Proc, other: int) -> None:
    """The newest transcript belongs to the other pane: once it is saved for
    that pane, or the other live Qwen's registry record names it, this pane
    gets the one it wrote."""
    transcript(proc, Q_REG)
    time.sleep(0.02)
    transcript(proc, Q_NEW)
    assert proc.find("qwen", [*QWEN], claimed={Q_NEW: other}) == (Q_REG, "chats")
    registry(proc, Q_NEW, pid=other)
    assert proc.find("qwen", [*QWEN]) == (Q_REG, "chats")


# -- no conversation yet: a fresh start ------------------------------------------------


def test_cleared_without_a_message_is_a_fresh_start(proc: Proc) -> None:
    """`/clear`: the registry and the sidecar name the new session, which has
    no transcript until a message (`qwen --resume` then says "No saved
    session found")."""
    transcript(proc, Q_ARGS, before_start=True)
    runtime_status(proc, Q_NEW)
    registry(proc, Q_NEW)
    assert proc.find("qwen", [*QWEN, "--resume", Q_ARGS]) == (None, FRESH)


def test_an_empty_transcript_is_a_fresh_start(proc: Proc) -> None:
    registry(proc, Q_NEW)
    proc.write(f"{chats(proc)}/{Q_NEW}.jsonl", "")
    assert proc.find("qwen", [*QWEN]) == (None, FRESH)


def test_no_project_folder_is_not_taken_for_no_conversation(proc: Proc) -> None:
    """A project folder we cannot see (a runtime folder set in a workspace
    setting): the session is kept, `qwen --resume` judges."""
    registry(proc, Q_REG)
    assert proc.find("qwen", [*QWEN]) == (Q_REG, "registry")


# -- hostile store files ---------------------------------------------------------------


def test_hostile_store_files_give_no_id_and_no_crash(proc: Proc) -> None:
    sessions = proc.home / ".qwen" / "sessions"
    sessions.mkdir(parents=True)
    os.mkfifo(sessions / f"{proc.pid}.json")
    folder = proc.home / chats(proc)
    folder.mkdir(parents=True)
    os.mkfifo(folder / f"{Q_REG}.jsonl")
    os.mkfifo(folder / f"{Q_REG}.runtime.json")
    (folder / f"{Q_NEW}.runtime.json").write_text("{not json")
    (folder / f"{Q_NEW}.jsonl").write_text("[1, 2]\n")
    (folder / f"{Q_OLD}.jsonl").write_bytes(b'{"sessionId": "' + b"x" * (2 << 20) + b'"}\n')
    os.symlink("/etc/passwd", folder / f"{Q_ARGS}.jsonl")
    assert proc.find("qwen", [*QWEN]) == (None, None)
    assert any("not a regular file" in line for line in proc.log_lines)


def test_a_fifo_transcript_of_the_registry_session_is_not_judged(proc: Proc) -> None:
    registry(proc, Q_REG)
    folder = proc.home / chats(proc)
    folder.mkdir(parents=True)
    os.mkfifo(folder / f"{Q_REG}.jsonl")
    assert proc.find("qwen", [*QWEN]) == (Q_REG, "registry")


# -- arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "session"),
    [
        ([], True),
        (["-m", "qwen3-coder", "--resume", Q_ARGS], True),
        (["-c", "-y"], True),
        (["-i", "explain this"], True),
        (["--allowed-tools", "read_file", "edit", "-y"], True),
        (["explain", "this"], False),  # a positional prompt runs one-shot
        (["-y", "--", "a prompt"], False),
        (["-p", "hi"], False),
        (["mcp", "list"], False),
        (["sessions", "list"], False),
        (["hook"], False),
        (["serve"], False),
        (["--acp"], False),
        (["--input-format", "stream-json"], False),
        (["-v"], False),
    ],
)
def test_one_shot_runs_and_helpers_are_not_sessions(args: list[str], session: bool) -> None:
    found = assistants.match([*QWEN, *args])
    assert found is not None and found[0] is qwen()
    assert qwen().is_session(found[1].args) is session


def test_kept_args_and_resume_form() -> None:
    args = [
        "-m",
        "qwen3-coder",
        "--resume",
        Q_ARGS,
        "-y",
        "--allowed-tools",
        "read_file",
        "edit",
        "-c",
        "--fork-session",
        "-i",
        "first prompt",
        "--worktree",
        "my-feature",
    ]
    kept = qwen().cli_args(args)
    assert kept == ["-m", "qwen3-coder", "-y", "--allowed-tools", "read_file", "edit"]
    assert qwen().model(args) == "qwen3-coder"
    # 0.24.4 --help: "-r, --resume  Resume a specific session by its ID."
    assert qwen().resume_argv("qwen", kept, Q_NEW) == ["qwen", *kept, "--resume", Q_NEW]
    assert qwen().fresh_argv("qwen", kept) == ["qwen", *kept]


def test_code_loading_options() -> None:
    q = qwen()
    assert q.code_paths(["--mcp-config", "mcp.json", "-y"]) == [("--mcp-config", "mcp.json")]
    assert q.code_paths(["--mcp-config", '{"mcpServers": {}}']) == []
    assert q.code_paths(["--input-file=/tmp/in.jsonl"]) == [("--input-file", "/tmp/in.jsonl")]
    kept, dropped = q.without_code_options(["-e", "a", "b", "-m", "x", "--experimental-lsp"])
    assert kept == ["-m", "x"] and dropped == ["-e", "--experimental-lsp"]


# -- detection: never Gemini's processes, nor Gemini Qwen's ---------------------------------


@pytest.mark.parametrize(
    ("argv", "tool"),
    [
        (["node", "/usr/local/bin/qwen", "-y"], "qwen"),
        (["node", "/opt/q/node_modules/.bin/qwen"], "qwen"),
        (
            ["/usr/bin/node", "--expose-gc", "/usr/lib/node_modules/@qwen-code/qwen-code/cli.js"],
            "qwen",
        ),
        (
            [
                "node",
                "/root/.qwen/updates/npm/0123456789abcdef/versions/0.25.0/node_modules/"
                "@qwen-code/qwen-code/cli.js",
            ],
            "qwen",
        ),
        (["node", "/usr/local/bin/gemini"], "gemini"),
        (
            [
                "node",
                "--max-old-space-size=8192",
                "/usr/lib/node_modules/@google/gemini-cli/dist/index.js",
            ],
            "gemini",
        ),
    ],
)
def test_detection_keeps_qwen_and_gemini_apart(argv: list[str], tool: str) -> None:
    found = assistants.match(argv)
    assert found is not None and found[0].name == tool


def test_watch_files(proc: Proc) -> None:
    log = proc.write(".qwen/tmp/" + "0" * 64 + "/logs.json", "[]")
    watched = qwen().watch_files(str(proc.home))
    assert str(proc.home / ".qwen" / "sessions") in watched
    assert str(log) in watched


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_records_another_user_wrote_are_ignored(proc: Proc) -> None:
    """A registry record or sidecar owned by someone else (a shared QWEN_HOME)
    names no session of this user's, however well it names the process."""
    transcript(proc, Q_ARGS, before_start=True)
    transcript(proc, Q_REG)
    os.chown(registry(proc, Q_REG), 65534, 65534)
    os.chown(runtime_status(proc, Q_REG), 65534, 65534)
    assert proc.find("qwen", [*QWEN, "--resume", Q_ARGS]) == (Q_ARGS, "args")
    assert any("not to this user" in line for line in proc.log_lines)
