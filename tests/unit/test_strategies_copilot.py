"""GitHub Copilot CLI: one test per session-ID strategy (inuse-lock, args,
session-state, opened) in evidence order, sessions without a message saved as
fresh starts, helpers that are not sessions, kept arguments, the resume form,
code-loading options and hostile store files.

The fixtures are files Copilot CLI 1.0.102 wrote (offline, BYOK against
tests/realcli/fake_api.py): a session's workspace.yaml (plain and with a
quoted cwd), its events.jsonl (the system prompt trimmed) and
open-sessions-state.json."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

from assistant_resurrect import assistants
from assistant_resurrect.assistants.base import FRESH, Assistant, Found, parse_launch
from tests.unit.strategy_helpers import Proc, make_proc

FIXTURES = Path(__file__).parent / "fixtures" / "copilot"
REAL_ID = "ea187dca-cc7e-424a-a247-5da3df9784d2"  # the ID in the fixtures
REAL_CWD = "/tmp/ar16-copilot-work/proj"
C_ARGS = "7607a433-a71d-4cb7-ace3-bad103be0317"
C_NEW = "1dec7dbd-8a0f-467b-ab81-68f9e04ef4a6"
C_OLD = "13ff9751-0000-4000-8000-000000000000"
C_OTHER = "5ab5ab5a-0000-4000-8000-000000000000"
LAUNCHER = ["node", "/usr/lib/node_modules/@github/copilot/npm-loader.js"]
NATIVE = ["/usr/lib/node_modules/@github/copilot-linux-x64/copilot"]


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    monkeypatch.delenv("COPILOT_HOME", raising=False)
    yield from make_proc(tmp_path, monkeypatch)


def copilot() -> Assistant:
    tool = assistants.by_name("copilot")
    assert tool is not None
    return tool


def yaml_quote(value: str) -> str:
    """As Copilot writes a cwd YAML would misread plain (see workspace-quoted.yaml)."""
    if any(c in value for c in ":#'\"") or value != value.strip():
        return "'" + value.replace("'", "''") + "'"
    return value


def session(
    p: Proc,
    sid: str,
    cwd: Optional[Path] = None,
    events: bool = True,
    before_start: bool = False,
) -> Path:
    """A session folder as Copilot writes it: workspace.yaml at once,
    events.jsonl from the first message on (both from the real fixtures)."""
    where = str(cwd or p.cwd)
    yaml = (FIXTURES / "workspace.yaml").read_text()
    yaml = yaml.replace(REAL_ID, sid).replace(f"cwd: {REAL_CWD}", f"cwd: {yaml_quote(where)}")
    folder = p.home / ".copilot" / "session-state" / sid
    p.write(f".copilot/session-state/{sid}/workspace.yaml", yaml, before_start)
    if events:
        text = (FIXTURES / "events.jsonl").read_text().replace(REAL_ID, sid)
        p.write(f".copilot/session-state/{sid}/events.jsonl", text.replace(REAL_CWD, where))
        if before_start:
            old = p.start - 120
            os.utime(folder / "events.jsonl", (old, old))
    if before_start:
        old = p.start - 120
        os.utime(folder, (old, old))
    return folder


def lock(folder: Path, pid: int, content: Optional[str] = None, at: Optional[float] = None) -> Path:
    """`inuse.<pid>.lock` as Copilot writes it (the pid as text)."""
    path = folder / f"inuse.{pid}.lock"
    path.write_text(str(pid) if content is None else content)
    (folder / f"inuse.{pid}.hold").write_text("")
    if at is not None:
        os.utime(path, (at, at))
    return path


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


def opened(p: Proc, entries: dict[str, float]) -> None:
    data = json.loads((FIXTURES / "open-sessions-state.json").read_text())
    template = next(iter(data.values()))
    out = {
        sid: {**template, "openedAt": iso(at), "refreshedAt": iso(at)}
        for sid, at in entries.items()
    }
    p.write(".copilot/open-sessions-state.json", json.dumps(out, indent=2))


# -- detection -----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        LAUNCHER,
        ["node", "/home/u/.npm-global/bin/copilot"],
        NATIVE,
        ["/home/u/.local/bin/copilot", "--model", "gpt-5.4"],
    ],
)
def test_the_launcher_and_the_native_binary_are_copilot(argv: list[str]) -> None:
    found = assistants.match(argv)
    assert found is not None and found[0].name == "copilot"


def test_gh_copilot_is_not_copilot_cli() -> None:
    found = assistants.match(["gh", "copilot", "suggest"])
    assert found is None or found[0].name != "copilot"


@pytest.mark.parametrize(
    ("args", "session"),
    [
        ([], True),
        (["--model", "gpt-5.4", "--resume", C_ARGS], True),
        (["--continue"], True),
        (["-i", "fix the bug"], True),
        (["--allow-tool", "write", "shell", "--yolo"], True),
        (["-p", "hi", "--allow-all-tools"], False),
        (["--prompt=hi"], False),
        (["mcp", "list"], False),
        (["login"], False),
        (["sessions", "import", "x.jsonl"], False),
        (["plugin", "install", "x"], False),
        (["--acp"], False),
        (["--connect", C_ARGS], False),
        (["--version"], False),
        (["help", "environment"], False),
    ],
)
def test_helpers_and_one_shot_runs_are_not_sessions(args: list[str], session: bool) -> None:
    found = assistants.match([*LAUNCHER, *args])
    assert found is not None and found[0] is copilot()
    assert copilot().is_session(found[1].args) is session


def test_kept_args_model_and_resume_form() -> None:
    """--help 1.0.102: `-r, --resume [<value>]`; `copilot --resume <id>` resumed
    the real session (and named the ID in its error for an empty one)."""
    tool = copilot()
    args = [
        "--model",
        "gpt-5.4",
        "--resume",
        C_ARGS,
        "--allow-tool",
        "write",
        "shell(git:*)",
        "-i",
        "first prompt",
        "--name",
        "my feature",
        "--continue",
        "--session-id",
        C_NEW,
        "--mode",
        "plan",
    ]
    kept = tool.cli_args(args)
    assert kept == ["--model", "gpt-5.4", "--allow-tool", "write", "shell(git:*)", "--mode", "plan"]
    assert tool.cli_args(["--resume=" + C_ARGS, "-r", C_NEW, "--yolo"]) == ["--yolo"]
    assert tool.model(["--model", "gpt-5.4"]) == "gpt-5.4"
    assert tool.model(["--model=claude-sonnet-4.5"]) == "claude-sonnet-4.5"
    assert tool.model(["-m", "x"]) is None  # Copilot has no -m
    assert tool.resume_argv("copilot", kept, C_NEW) == ["copilot", *kept, "--resume", C_NEW]
    assert tool.fresh_argv("copilot", kept) == ["copilot", *kept]


def test_code_loading_options() -> None:
    tool = copilot()
    args = [
        "--additional-mcp-config",
        '{"mcpServers": {}}',
        "--additional-mcp-config=@~/mcp.json",
        "--plugin-dir",
        "plugins/x",
        "--add-dir",
        "/srv/other",
        "--extension-sdk-path",
        "/opt/sdk",
        "--enable-mcp-server",
        "srv",
        "--bash-env",
        "--model",
        "gpt-5.4",
    ]
    assert tool.code_paths(args) == [
        ("--additional-mcp-config", "~/mcp.json"),
        ("--plugin-dir", "plugins/x"),
        ("--add-dir", "/srv/other"),
        ("--extension-sdk-path", "/opt/sdk"),
    ]
    rest, dropped = tool.without_code_options(args)
    assert rest == ["--model", "gpt-5.4"]
    assert dropped == [
        "--additional-mcp-config",
        "--plugin-dir",
        "--add-dir",
        "--extension-sdk-path",
        "--enable-mcp-server",
        "--bash-env",
    ]


# -- strategies ------------------------------------------------------------------


def test_inuse_lock_outranks_args_and_the_store(proc: Proc) -> None:
    """`copilot --resume A`, then `/clear`: the lock moved to the new session."""
    session(proc, C_ARGS)
    other = session(proc, C_OTHER)  # written later: the store alone would say this
    new = session(proc, C_NEW)
    lock(new, proc.pid)
    os.utime(other / "events.jsonl")
    assert proc.find("copilot", [*LAUNCHER, "--resume", C_ARGS]) == (C_NEW, "inuse-lock")
    # another pane's command line naming C_NEW does not keep it from its holder
    ctx = proc.ctx(claimed={C_NEW: 1})
    ctx.from_args.add(C_NEW)
    assert copilot().find_session_id(ctx, proc.found(LAUNCHER)) == (C_NEW, "inuse-lock")


def test_inuse_lock_of_the_native_child(proc: Proc) -> None:
    new = session(proc, C_NEW)
    lock(new, proc.pid)
    launch = parse_launch(LAUNCHER)
    assert launch is not None
    found = Found(pid=1, launch=launch, start=proc.start, cwd="/", pids=[1, proc.pid])
    assert copilot().find_session_id(proc.ctx(), found) == (C_NEW, "inuse-lock")


def test_stale_or_foreign_locks_are_ignored(proc: Proc) -> None:
    """A lock from an earlier process of a reused pid, or one naming another
    pid, is no evidence: the launch arguments answer."""
    stale = session(proc, C_NEW)
    lock(stale, proc.pid, at=proc.start - 300)
    odd = session(proc, C_OTHER, cwd=proc.cwd / "elsewhere")
    lock(odd, proc.pid, content="999999")
    assert proc.find("copilot", [*LAUNCHER, "--resume", C_ARGS]) == (C_ARGS, "args")
    assert any("earlier process" in line for line in proc.log_lines)


LOG_LAST = "ea187dca-cc7e-424a-a247-5da3df9784d2"  # the last one process.log registered


def process_log(
    p: Proc, rel: str = ".copilot/logs", ms: Optional[int] = None, text: str = ""
) -> Path:
    """The real log of a Copilot that started in 34993b87, switched to ea187dca,
    back, /clear (76016e2e), then tabbed to ea187dca, named for this process."""
    ms = int(p.start * 1000) + 300 if ms is None else ms
    return p.write(
        f"{rel}/process-{ms}-{p.pid}.log", text or (FIXTURES / "process.log").read_text()
    )


def test_process_log_outranks_locks_and_args(proc: Proc) -> None:
    """Switching tabs leaves every lock where it was; only the log tells."""
    session(proc, LOG_LAST, before_start=True)
    new = session(proc, C_NEW)
    lock(new, proc.pid)
    process_log(proc)
    argv = [*LAUNCHER, "--resume", "34993b87-e4ed-4989-9a6d-ad522bed615f"]
    assert proc.find("copilot", argv) == (LOG_LAST, "process-log")


def test_process_log_of_an_earlier_process_or_after_unregistering(proc: Proc) -> None:
    session(proc, C_ARGS, before_start=True)
    old = process_log(proc, ms=int(proc.start * 1000) - 60_000)  # a reused pid
    assert proc.find("copilot", [*LAUNCHER, "--resume", C_ARGS]) == (C_ARGS, "args")
    old.unlink()
    text = (FIXTURES / "process.log").read_text()
    text += f"2026-12-02T02:29:00.000Z [INFO] Unregistering foreground session: {LOG_LAST}\n"
    process_log(proc, text=text)
    assert proc.find("copilot", [*LAUNCHER, "--resume", C_ARGS]) == (C_ARGS, "args")


def test_process_log_under_log_dir(proc: Proc) -> None:
    session(proc, LOG_LAST, before_start=True)
    rel = proc.cwd.relative_to(proc.home.parent)
    process_log(proc, rel=f"../{rel}/mylogs")  # written under the cwd
    argv = [*LAUNCHER, "--log-dir", "mylogs"]
    assert proc.find("copilot", argv) == (LOG_LAST, "process-log")
    assert proc.find("copilot", [*LAUNCHER]) == (None, None)  # not in ~/.copilot/logs


@pytest.mark.parametrize(
    "args",
    [
        ["--resume", C_ARGS],
        ["--resume=" + C_ARGS],
        ["-r", C_ARGS],
        ["--model", "gpt-5.4", "--session-id", C_ARGS],
        ["--resume", C_ARGS[:8]],  # an ID prefix naming one session folder
    ],
)
def test_args(proc: Proc, args: list[str]) -> None:
    session(proc, C_ARGS, before_start=True)
    session(proc, C_OLD, before_start=True)
    assert proc.find("copilot", [*LAUNCHER, *args]) == (C_ARGS, "args")


def test_an_ambiguous_prefix_or_a_name_is_left_to_the_store(proc: Proc) -> None:
    session(proc, "7607a433-0000-4000-8000-000000000000", before_start=True)
    session(proc, C_ARGS, before_start=True)
    assert proc.find("copilot", [*LAUNCHER, "--resume", "7607a433"]) == (None, None)
    assert proc.find("copilot", [*LAUNCHER, "--resume", "my feature"]) == (None, None)


def test_session_state_of_the_cwd_written_since_the_start(proc: Proc) -> None:
    session(proc, C_OLD, before_start=True)
    session(proc, C_OTHER, cwd=proc.cwd.parent)
    session(proc, C_NEW)
    assert proc.find("copilot", [*LAUNCHER]) == (C_NEW, "session-state")
    # `--resume <name>` names no ID: the folder it wrote to does
    assert proc.find("copilot", [*LAUNCHER, "--resume", "my feature"]) == (C_NEW, "session-state")


def test_session_state_after_dash_c(proc: Proc) -> None:
    """`copilot -C sub`: the launcher stays in the cwd, Copilot works in sub."""
    sub = proc.cwd / "sub"
    sub.mkdir()
    session(proc, C_OTHER)
    session(proc, C_NEW, cwd=sub)
    os.utime(proc.home / f".copilot/session-state/{C_OTHER}/events.jsonl", (0, proc.start - 100))
    assert proc.find("copilot", [*LAUNCHER, "-C", "sub"]) == (C_NEW, "session-state")


def test_session_state_with_a_quoted_cwd(proc: Proc) -> None:
    """The real workspace.yaml of a folder named `we: ird #x 'q'`."""
    weird = proc.cwd.parent / "we: ird #x 'q'"
    weird.mkdir()
    yaml = (FIXTURES / "workspace-quoted.yaml").read_text()
    assert "cwd: '/tmp/ar16-copilot-work/we: ird #x ''q'''" in yaml
    yaml = yaml.replace("/tmp/ar16-copilot-work", str(proc.cwd.parent))
    sid = "8774f403-893b-4b45-9f26-9e10c78b2176"
    proc.write(f".copilot/session-state/{sid}/workspace.yaml", yaml)
    proc.write(
        f".copilot/session-state/{sid}/events.jsonl", (FIXTURES / "events.jsonl").read_text()
    )
    assert proc.find("copilot", [*LAUNCHER], cwd=weird) == (sid, "session-state")


def test_two_panes_in_one_cwd_never_get_one_id(proc: Proc) -> None:
    session(proc, C_OLD)
    session(proc, C_NEW)
    first = proc.find("copilot", [*LAUNCHER])
    assert first == (C_NEW, "session-state")
    assert proc.find("copilot", [*LAUNCHER], claimed={C_NEW: 1}) == (C_OLD, "session-state")
    assert proc.find("copilot", [*LAUNCHER], claimed={C_NEW: 1, C_OLD: 2}) == (None, None)


def test_a_session_another_live_copilot_holds_is_not_taken(proc: Proc) -> None:
    """Its lock names a live process (this test's) that wrote it after starting."""
    session(proc, C_OLD)
    held = session(proc, C_NEW)
    lock(held, os.getpid())
    assert proc.find("copilot", [*LAUNCHER]) == (C_OLD, "session-state")
    opened(proc, {C_NEW: time.time()})
    assert proc.find("copilot", [*LAUNCHER], claimed={C_OLD: 1}) == (None, None)


def test_opened_before_any_message(proc: Proc) -> None:
    """`copilot --continue` (or `--resume <name>`, the picker) before a message:
    the session's files are untouched, only the open-sessions map names it."""
    session(proc, C_OLD, before_start=True)
    session(proc, C_NEW, before_start=True)
    session(proc, C_OTHER, cwd=proc.cwd.parent, before_start=True)
    opened(proc, {C_OLD: proc.start - 60, C_NEW: time.time(), C_OTHER: time.time() + 1})
    assert proc.find("copilot", [*LAUNCHER, "--continue"]) == (C_NEW, "opened")


def test_opened_outranks_a_folder_written_since_the_start(proc: Proc) -> None:
    """A new session, then the picker to an older one (no message there yet):
    the new one's files are newer, the open-sessions map says what was opened last."""
    session(proc, C_NEW)
    session(proc, C_OLD, before_start=True)
    opened(proc, {C_NEW: proc.start + 0.5, C_OLD: time.time() + 5})
    assert proc.find("copilot", [*LAUNCHER]) == (C_OLD, "opened")


def test_switched_in_the_picker_after_resuming(proc: Proc) -> None:
    """`copilot --resume A`, `/resume` to B, no message yet (1.0.102 added B to
    the map and left A's entry as it was)."""
    session(proc, C_ARGS, before_start=True)
    session(proc, C_NEW, before_start=True)
    session(proc, C_OTHER, cwd=proc.cwd.parent, before_start=True)
    opened(proc, {C_ARGS: proc.start + 0.5, C_NEW: proc.start + 20, C_OTHER: proc.start + 30})
    argv = [*LAUNCHER, "--resume", C_ARGS]
    assert proc.find("copilot", argv) == (C_NEW, "switched")
    assert any("session picker" in line for line in proc.log_lines)
    # B held by another pane, or A not opened by this process: A as named
    assert proc.find("copilot", argv, claimed={C_NEW: 1}) == (C_ARGS, "args")
    opened(proc, {C_ARGS: proc.start - 60, C_NEW: proc.start + 20})
    assert proc.find("copilot", argv) == (C_ARGS, "args")
    # switched back to A: its entry is the newest again
    opened(proc, {C_ARGS: proc.start + 40, C_NEW: proc.start + 20})
    assert proc.find("copilot", argv) == (C_ARGS, "args")


def test_a_new_session_without_a_message_is_a_fresh_start(proc: Proc) -> None:
    """Copilot 1.0.102 answered `--resume <id>` of such a folder with "No
    session, task, or name matched"."""
    new = session(proc, C_NEW, events=False)
    lock(new, proc.pid)
    assert proc.find("copilot", [*LAUNCHER]) == (None, FRESH)
    (new / "events.jsonl").write_text("")  # an empty events file did not resume either
    assert proc.find("copilot", [*LAUNCHER]) == (None, FRESH)
    (new / "events.jsonl").write_text((FIXTURES / "events.jsonl").read_text().splitlines()[0])
    assert proc.find("copilot", [*LAUNCHER]) == (C_NEW, "inuse-lock")


@pytest.fixture
def proc_alt_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    """A stand-in Copilot whose own environment sets COPILOT_HOME."""
    monkeypatch.delenv("COPILOT_HOME", raising=False)
    yield from make_proc(tmp_path, monkeypatch, {"COPILOT_HOME": str(tmp_path / "alt")})


def test_copilot_home(proc_alt_home: Proc, tmp_path: Path) -> None:
    """COPILOT_HOME, read from the process's environment, moves the store."""
    p = proc_alt_home
    folder = tmp_path / "alt" / "session-state" / C_NEW
    folder.mkdir(parents=True)
    yaml = (FIXTURES / "workspace.yaml").read_text().replace(REAL_ID, C_NEW)
    (folder / "workspace.yaml").write_text(yaml.replace(REAL_CWD, str(p.cwd)))
    session(p, C_OLD)  # under ~/.copilot: not this process's store
    assert p.find("copilot", [*LAUNCHER]) == (None, FRESH)
    (folder / "events.jsonl").write_text((FIXTURES / "events.jsonl").read_text())
    assert p.find("copilot", [*LAUNCHER]) == (C_NEW, "session-state")


# -- hostile store files -----------------------------------------------------------


def test_fifos_huge_and_bad_files_give_no_id_and_no_crash(proc: Proc) -> None:
    state = proc.home / ".copilot" / "session-state"
    a = state / C_NEW
    a.mkdir(parents=True)
    os.mkfifo(a / "workspace.yaml")
    os.mkfifo(a / "events.jsonl")
    os.mkfifo(a / f"inuse.{proc.pid}.lock")
    b = state / C_OTHER
    b.mkdir()
    with open(b / "workspace.yaml", "wb") as fh:
        fh.write(b"cwd: " + str(proc.cwd).encode() + b"x" * (1 << 20) + b"\n")
    (b / "events.jsonl").write_bytes(b"\xff\x00not json\n")
    (state / "not-a-session").mkdir()
    target = proc.home / "elsewhere"
    target.mkdir()
    (target / "workspace.yaml").write_text(f"id: {C_OLD}\ncwd: {proc.cwd}\n")
    (state / C_OLD).symlink_to(target)
    logs = proc.home / ".copilot" / "logs"
    logs.mkdir(parents=True)
    os.mkfifo(logs / f"process-{int(proc.start * 1000) + 5}-{proc.pid}.log")
    proc.write(".copilot/open-sessions-state.json", "{not json")
    assert proc.find("copilot", [*LAUNCHER, "--continue"]) == (None, None)
    os.unlink(proc.home / ".copilot/open-sessions-state.json")
    os.mkfifo(proc.home / ".copilot/open-sessions-state.json")
    assert proc.find("copilot", [*LAUNCHER, "--continue"]) == (None, None)
    # the ID an argument names is still found; whether it resumes stays unknown
    assert proc.find("copilot", [*LAUNCHER, "--resume", C_NEW]) == (C_NEW, "args")


def test_a_yaml_id_other_than_the_folder_is_ignored(proc: Proc) -> None:
    folder = session(proc, C_NEW)
    text = (folder / "workspace.yaml").read_text().replace(f"id: {C_NEW}", f"id: {C_OTHER}")
    (folder / "workspace.yaml").write_text(text)
    assert proc.find("copilot", [*LAUNCHER]) == (None, None)


def test_watch_files(tmp_path: Path) -> None:
    """The open-sessions map, the index's WAL and the newest process logs."""
    logs = tmp_path / ".copilot" / "logs"
    logs.mkdir(parents=True)
    for i in range(10):
        path = logs / f"process-17961780{i:05d}-{100 + i}.log"
        path.write_text("x")
        os.utime(path, (1000 + i, 1000 + i))
    (logs / ".copilot-log.lock").write_text("")
    watched = copilot().watch_files(str(tmp_path))
    assert watched[:2] == [
        str(tmp_path / ".copilot" / "open-sessions-state.json"),
        str(tmp_path / ".copilot" / "session-store.db-wal"),
    ]
    assert watched[2:] == [
        str(logs / f"process-17961780{i:05d}-{100 + i}.log") for i in range(9, 1, -1)
    ]
