"""Nobody else's code runs (issue 14), cross-user cases with a real second user:
another user's assistant in one of our panes is never saved, and restore runs
only programs that the user or root owns, that nobody else can change, in
folders nobody else can change (trust.check_program). Tests run as root; the
other user is `other_user`; every refused program is a canary."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from assistant_resurrect import detect
from assistant_resurrect.procs import Proc, Snapshot
from tests.helpers import STAND_IN, Agent, pane_prompt_ready, records, start_in_pane, wait_for
from tests.hostile.conftest import OtherUser, Stats, check_canaries
from tests.hostile.strategies import CANARY_DIR
from tests.screens import screen_lines

IDS = [
    "a1111111-2222-4333-8444-555555555555",
    "a2111111-2222-4333-8444-555555555555",
    "a3111111-2222-4333-8444-555555555555",
]
CANARY = f'#!/bin/sh\n: > "{CANARY_DIR}/ran-$$"\n'


def entry(pane: str, session_id: str, cwd: Path, program: str = "claude") -> dict[str, Any]:
    return {
        "pane": pane,
        "tool": "claude",
        "session_id": session_id,
        "cwd": str(cwd),
        "program": program,
        "cli_args": [],
        "env": {},
    }


def write_sidecar(agent: Agent, sessions: list[dict[str, Any]]) -> Path:
    layout = agent.fake_layout()
    layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
        json.dumps({"version": 1, "sessions": sessions})
    )
    return layout


def owned_by(user: OtherUser, path: Path, text: str, mode: int = 0o755) -> Path:
    path.write_text(text)
    path.chmod(mode)
    os.chown(path, user.uid, user.gid)
    return path


def restore_log(agent: Agent) -> str:
    return (agent.resurrect_dir / "assistant-restore.log").read_text()


# -- save: another user's assistant is not a session of ours ------------------


def their_records(rec: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(rec.glob("*.json"))]


@pytest.mark.parametrize("via", ["runuser", "su"])
def test_save_never_records_another_users_assistant(
    via: str, agent: Agent, server: Any, other_user: OtherUser, tmp_path: Path, stats: Stats
) -> None:
    """Root's pane where Bob runs his own copy of claude (runuser / su): nothing is
    saved for it, the save log says why; root's claude in the next pane is saved."""
    user = other_user
    rec = user.home / f"rec-{via}"
    rec.mkdir()
    os.chown(rec, user.uid, user.gid)
    program = owned_by(user, user.home / "claude", STAND_IN.format(python="/usr/bin/python3"))
    inner = f"AR_RECORD_DIR={rec} exec {program} --resume {IDS[0]}"
    if via == "runuser":
        cmd = f"runuser -u {user.name} -- sh -c {shlex.quote(inner)}"
    else:
        cmd = f"su -s /bin/sh -c {shlex.quote(inner)} {user.name}"
    session = server.new_session("x", start_directory=str(tmp_path))
    theirs = session.windows[0].panes[0]
    ours = session.new_window().panes[0]
    start_in_pane(theirs, cmd)
    start_in_pane(ours, f"claude --resume {IDS[1]}")
    (bob,) = wait_for(lambda: their_records(rec), what="Bob's claude")
    wait_for(lambda: records("claude"), what="root's claude")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    stats.cases_generated += 1
    saved = agent.sidecar(layout)["sessions"]
    assert [(s["pane"], s["session_id"]) for s in saved] == [("x:1.0", IDS[1])], saved
    log = (agent.resurrect_dir / "assistant-save.log").read_text()
    assert (
        f"pane x:0.0: claude (pid {bob['pid']}) runs as uid {user.uid}, not as you (uid 0); "
        "not saved"
    ) in log, log
    assert IDS[0] not in json.dumps(agent.sidecar(layout))


def proc(pid: int, ppid: int, uid: int) -> Proc:
    return Proc(pid=pid, ppid=ppid, comm="x", start=1.0, uid=uid)


def test_an_assistant_started_below_another_users_process_is_not_a_session() -> None:
    """The pane's shell (ours) -> Bob's shell -> a claude of ours again (a setuid
    helper would do that): its arguments were Bob's choice, so it is not saved;
    the same tree with every process ours is."""
    me = os.getuid()
    bob = me + 4242
    argv = {
        10: ["bash"],
        11: ["su", "-", "bob"],
        12: ["sh"],
        13: ["claude", "--resume", IDS[0]],
        14: ["node", "/x/claude"],
    }
    tree = [(10, 1, me), (11, 10, me), (12, 11, bob), (13, 12, me), (14, 13, me)]

    def snap(uids: dict[int, int]) -> Snapshot:
        s = Snapshot(_argv={pid: list(a) for pid, a in argv.items()})
        for pid, ppid, uid in tree:
            s.add(proc(pid, ppid, uids.get(pid, uid)))
        return s

    lines: list[str] = []
    assert detect.in_pane(10, snap({}), lines.append, "w:0.0") is None
    assert lines == [
        f"pane w:0.0: claude (pid 13) was started below pid 12, which runs as uid {bob}, "
        f"not as you (uid {me}); not saved"
    ]
    found = detect.in_pane(10, snap({12: me}), lines.append, "w:0.0")
    assert found is not None and (found.pid, found.pids) == (13, [13, 14])
    lines.clear()
    assert detect.in_pane(10, snap({13: bob}), lines.append, "w:0.0") is None
    assert lines == [
        f"pane w:0.0: claude (pid 13) runs as uid {bob}, not as you (uid {me}); not saved"
    ]
    assert detect.any_assistant(10, snap({13: bob})) == "claude"  # still blocks typing


# -- restore: only trusted programs run ---------------------------------------


def restore_two(
    agent: Agent, server: Any, tmp_path: Path, program: str, fake_bin: Path, **window: Any
) -> tuple[Any, list[str]]:
    """Pane x:0.0 saved with `program`, pane x:1.0 with the trusted stand-in (the
    counter-check: restore does run what it may). Returns the first pane and
    its screen before restore."""
    session = server.new_session("x", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    first = session.windows[0].panes[0]
    if window:
        first = session.new_window(**window).panes[0]
        session.windows[0].kill()
    second = session.new_window().panes[0]
    for p in (first, second):
        wait_for(lambda p=p: pane_prompt_ready(p), what="prompt")
    screen = screen_lines(first)
    addr = f"x:{first.window_index}.0"
    layout = write_sidecar(
        agent,
        [
            entry(addr, IDS[0], tmp_path, program),
            entry(f"x:{second.window_index}.0", IDS[1], tmp_path, str(fake_bin / "claude")),
        ],
    )
    agent.run("restore", "--layout", str(layout))
    wait_for(lambda: records("claude"), what="the trusted claude in the second pane")
    time.sleep(0.5)
    return first, screen


def test_restore_refuses_another_users_program(
    agent: Agent, server: Any, other_user: OtherUser, fake_bin: Path, tmp_path: Path, stats: Stats
) -> None:
    program = owned_by(other_user, other_user.home / "claude", CANARY)
    pane, screen = restore_two(agent, server, tmp_path, str(program), fake_bin)
    stats.cases_generated += 1
    assert screen_lines(pane) == screen
    (rec,) = records("claude")
    assert rec["argv"] == ["--resume", IDS[1]]
    log = restore_log(agent)
    assert (
        f"skip x:0.0: its saved program {program} is owned by uid {other_user.uid}, "
        "not by you (uid 0); not run"
    ) in log, log
    check_canaries(stats)


def test_restore_refuses_a_program_others_can_change(
    agent: Agent, server: Any, other_user: OtherUser, fake_bin: Path, tmp_path: Path, stats: Stats
) -> None:
    """Root's own program, but writable by everyone; root's program in a folder
    writable by everyone; in a folder writable by Bob's group; a link, ours, in
    a trusted folder, to a program in a folder writable by everyone."""
    cases = {}
    loose = owned_by_root(tmp_path / "loose" / "claude", 0o777)
    cases["loose"] = (loose, f"program {loose} is writable by everyone (mode 0777)")
    open_dir = tmp_path / "open"
    prog = owned_by_root(open_dir / "claude", 0o755)
    open_dir.chmod(0o777)
    cases["open"] = (prog, f"program {prog}: its folder {open_dir} is writable by everyone")
    group_dir = tmp_path / "group"
    gprog = owned_by_root(group_dir / "claude", 0o755)
    os.chown(group_dir, 0, other_user.gid)
    group_dir.chmod(0o775)
    cases["group"] = (
        gprog,
        f"program {gprog}: its folder {group_dir} is writable by group {other_user.gid}",
    )
    link_dir = tmp_path / "links"
    link_dir.mkdir()
    (link_dir / "claude").symlink_to(prog)
    cases["link"] = (link_dir / "claude", f"program {prog}: its folder {open_dir}")
    server.new_session("keep")  # the server outlives each case's session
    for name, (path, why) in cases.items():
        for f in Path(os.environ["AR_RECORD_DIR"]).iterdir():
            f.unlink()
        (agent.resurrect_dir / "assistant-restore.log").unlink(missing_ok=True)
        pane, screen = restore_two(agent, server, tmp_path, str(path), fake_bin)
        stats.cases_generated += 1
        assert screen_lines(pane) == screen, name
        assert [r["argv"] for r in records("claude")] == [["--resume", IDS[1]]], name
        log = restore_log(agent)
        assert f"skip x:0.0: its saved {why}" in log, (name, log)
        check_canaries(stats)
        server.cmd("kill-session", "-t", "x")


def owned_by_root(path: Path, mode: int) -> Path:
    path.parent.mkdir(exist_ok=True)
    path.write_text(CANARY)
    path.chmod(mode)
    return path


def test_restore_refuses_a_bare_name_that_the_panes_path_finds_in_an_open_folder(
    agent: Agent, server: Any, fake_bin: Path, tmp_path: Path, stats: Stats
) -> None:
    """`claude` saved as a bare name: the pane shell's PATH finds it first in a
    folder everyone can write to, so the shell would run what anyone put there."""
    open_dir = tmp_path / "open"
    owned_by_root(open_dir / "claude", 0o755)
    open_dir.chmod(0o777)
    path = f"{open_dir}:{os.environ['PATH']}"
    shell = f"env PATH={path} PS1='$ ' bash --noprofile --norc"
    pane, screen = restore_two(
        agent,
        server,
        tmp_path,
        "claude",
        fake_bin,
        window_shell=shell,
        start_directory=str(tmp_path),
    )
    stats.cases_generated += 1
    assert screen_lines(pane) == screen
    assert [r["argv"] for r in records("claude")] == [["--resume", IDS[1]]]
    log = restore_log(agent)
    assert (
        f"its saved program 'claude' is {open_dir}/claude on PATH, and program "
        f"{open_dir}/claude: its folder {open_dir} is writable by everyone"
    ) in log, log
    check_canaries(stats)


def test_a_bare_name_found_on_no_path_is_typed_for_the_shell_with_a_log_line(
    agent: Agent, server: Any, tmp_path: Path
) -> None:
    """Neither the pane shell's PATH nor restore's has `claude`: the shell resolves
    it (a folder added by the user's rc files); restore says so once."""
    shell = "env PATH=/usr/bin:/bin PS1='$ ' bash --noprofile --norc"
    session = server.new_session("x", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    pane = session.new_window(window_shell=shell, start_directory=str(tmp_path)).panes[0]
    wait_for(lambda: pane_prompt_ready(pane), what="prompt")
    layout = write_sidecar(agent, [entry(f"x:{pane.window_index}.0", IDS[0], tmp_path)])
    # restore's PATH lacks `claude` but keeps the tmux under test (AR_TMUX): a
    # client of another tmux release would not speak this server's protocol.
    tmux_dir = os.path.dirname(shutil.which("tmux") or "/usr/bin/tmux")
    agent.run("restore", "--layout", str(layout), env={"PATH": f"{tmux_dir}:/usr/bin:/bin"})
    log = wait_for(
        lambda: (lambda t: t if "restored claude" in t else None)(restore_log(agent)),
        what="the typed line",
    )
    addr = f"x:{pane.window_index}.0"
    assert log.count(f"{addr}: claude is on neither the pane shell's PATH nor restore's") == 1
