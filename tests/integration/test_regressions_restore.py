"""Regression cases of issue 9 around restore, the Claude hooks and doctor,
each against real tmux servers.

- hooks run by a tmux server started by systemd/launchd (PATH=/usr/bin:/bin,
  no shell profile, tmux not on that PATH) still find tmux and work;
- a Claude state file keyed by the pane shell's PID never matches; one keyed
  by Claude's own PID (Claude under a wrapper or a version-manager shim) does;
- a saved cwd that no longer exists skips that pane only, with its reason;
  cwds with quotes, spaces, `$` and newlines work;
- a sidecar entry naming an unknown tool is logged and skipped;
- doctor reports an assistant in @resurrect-processes and a save interval of 0.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from libtmux import Server

from tests.helpers import RUNTIME_SRC, Agent, records, start_in_pane, wait_for
from tests.integration.test_attach import client, entry, new_pane, write_sidecar
from tests.screens import capture_args, lines_of, only_prompt, screen_lines, shows_prompt

A = "3f1e8a1c-1111-4222-8333-444455556666"
B = "4a2e8a1c-2222-4222-8333-444455556666"
C = "5b3e8a1c-3333-4222-8333-444455556666"


def immediate(server: Server) -> None:
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")


def log_text(agent: Agent) -> str:
    path = agent.resurrect_dir / "assistant-restore.log"
    return path.read_text() if path.exists() else ""


def hook_command() -> str:
    """The Claude SessionStart hook as the stand-ins run it (through /bin/sh)."""
    return (
        f"PYTHONPATH={shlex.quote(str(RUNTIME_SRC))} {shlex.quote(sys.executable)} "
        "-m assistant_resurrect hook claude-session-start"
    )


def with_hook(command: str, sid: str) -> str:
    payload = json.dumps({"session_id": sid, "source": "startup"})
    return (
        f"AR_FAKE_HOOK={shlex.quote(hook_command())} "
        f"AR_FAKE_HOOK_STDIN={shlex.quote(payload)} {command}"
    )


def state_dir() -> Path:
    return Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])


def proc_start(pid: int) -> float:
    sys.path.insert(0, str(RUNTIME_SRC))
    from assistant_resurrect import procs

    proc = procs.read_proc(pid)
    assert proc is not None
    return proc.start


# -- restore: cwds ------------------------------------------------------------


def test_missing_cwd_skips_only_that_pane(server: Server, agent: Agent, tmp_path: Path) -> None:
    odd = tmp_path / 'it\'s a "dir" with $HOME and\nnew line'
    odd.mkdir()
    gone = tmp_path / "gone"
    kept = new_pane(server, "kept")
    lost = new_pane(server, "lost")
    immediate(server)
    write_sidecar(agent, [entry("kept:0.0", A, str(odd)), entry("lost:0.0", B, str(gone))])
    agent.run("restore")
    got = wait_for(records, what="the pane with an existing cwd restored")
    time.sleep(0.5)
    assert len(records()) == 1
    assert got[0]["argv"] == ["--resume", A]
    assert got[0]["cwd"] == str(odd)
    assert got[0]["pane"] == kept.pane_id
    assert only_prompt(screen_lines(lost))
    log = log_text(agent)
    assert f"skip lost:0.0: its directory {str(gone)!r} no longer exists" in log
    assert "restored 1 of 2 saved session(s)" in log


# -- restore: entries from a newer version ---------------------------------------


def test_unknown_tool_is_logged_and_skipped(server: Server, agent: Agent) -> None:
    new_pane(server, "old")
    future = new_pane(server, "future")
    immediate(server)
    newer = dict(entry("future:0.0", "abc123"), tool="hal9000", future_field={"x": 1})
    write_sidecar(agent, [newer, entry("old:0.0", A)])
    agent.run("restore")
    got = wait_for(records, what="the known tool restored")
    time.sleep(0.5)
    assert [r["argv"] for r in records()] == [["--resume", A]]
    assert got[0]["tool"] == "claude"
    assert only_prompt(screen_lines(future))
    assert "skip future:0.0: unknown tool 'hal9000' (saved by a newer version?)" in log_text(agent)


# -- Claude state files: keyed by Claude's own PID ---------------------------------


@pytest.fixture
def wrappers(tmp_path: Path, fake_bin: Path) -> Path:
    """`npx`: runs its arguments as a child (not exec). A version-manager shim
    folder whose `claude` is a script running the real stand-in as a child."""
    folder = tmp_path / "wrappers"
    folder.mkdir()
    npx = folder / "npx"
    npx.write_text('#!/bin/bash\n"$@"\nstatus=$?\nexit $status\n')
    shims = folder / "shims"
    shims.mkdir()
    shim = shims / "claude"
    shim.write_text(f'#!/bin/bash\n{shlex.quote(str(fake_bin / "claude"))} "$@"\nexit $?\n')
    for f in (npx, shim):
        f.chmod(0o755)
    return folder


def test_claude_state_file_keyed_by_claude_pid(
    server: Server, agent: Agent, wrappers: Path
) -> None:
    via_npx = new_pane(server, "npx")
    via_shim = new_pane(server, "shim")
    unhooked = new_pane(server, "nohook")
    # A state file keyed by each pane shell's PID, with the shell's start time:
    # it must never be taken for the Claude below that shell.
    for pane in (via_npx, via_shim, unhooked):
        pid = int(pane.pane_pid)
        (state_dir()).mkdir(mode=0o700, exist_ok=True)
        (state_dir() / f"claude-{pid}.json").write_text(
            json.dumps(
                {"tool": "claude", "pid": pid, "session_id": C, "start_time": proc_start(pid)}
            )
        )
    start_in_pane(via_npx, with_hook(f"{wrappers}/npx claude", A))
    start_in_pane(via_shim, with_hook(f"{wrappers}/shims/claude", B))
    start_in_pane(unhooked, "claude")
    wait_for(lambda: len(records()) == 3, what="three claudes")
    by_pane = {r["pane"]: r["pid"] for r in records()}
    for pane in (via_npx, via_shim):
        wait_for(
            lambda p=pane: (state_dir() / f"claude-{by_pane[p.pane_id]}.json").exists(),
            what="state file keyed by claude's own PID",
        )
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    saved = {s["pane"]: s for s in agent.sidecar(layout)["sessions"]}
    assert saved["npx:0.0"]["session_id"] == A
    assert saved["npx:0.0"]["id_source"] == "state-file"
    assert saved["shim:0.0"]["session_id"] == B
    assert saved["shim:0.0"]["id_source"] == "state-file"
    assert saved["nohook:0.0"]["session_id"] is None  # the shell's file never matches


# -- doctor ---------------------------------------------------------------------


def test_doctor_reports_double_launch_and_interval_zero(server: Server, agent: Agent) -> None:
    new_pane(server, "w")
    out = agent.run("doctor", check=False).stdout
    assert "@resurrect-processes" not in out
    assert "@continuum-save-interval" not in out

    server.cmd("set-option", "-g", "@resurrect-processes", 'ssh "~claude --verbose" vim')
    server.cmd("set-option", "-g", "@continuum-save-interval", "0")
    proc = agent.run("doctor", check=False)
    assert proc.returncode != 0
    problems = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROBLEM")]
    assert any("claude is listed in @resurrect-processes" in p for p in problems), problems
    assert any("@continuum-save-interval is 0" in p for p in problems), problems

    server.cmd("set-option", "-g", "@resurrect-processes", "':all:'")
    out = agent.run("doctor", check=False).stdout
    assert "':all:' in @resurrect-processes" in out

    # A tool's other program names count too: Cursor Agent runs as `agent`.
    server.cmd("set-option", "-g", "@resurrect-processes", "ssh agent '~kilocode' vim")
    problems = [
        ln for ln in agent.run("doctor", check=False).stdout.splitlines() if "PROBLEM" in ln
    ]
    assert any("agent (the program of cursor-agent) is listed" in p for p in problems), problems
    assert any("kilocode (the program of kilo) is listed" in p for p in problems), problems
    assert not any("ssh" in p or "vim" in p for p in problems), problems


# -- the minimal environment of a tmux server started by systemd or launchd ----------


def _can_hide_tmux() -> bool:
    if not sys.platform.startswith("linux") or not shutil.which("unshare"):
        return False
    tmux = shutil.which("tmux")
    if not tmux:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind /dev/null {shlex.quote(tmux)}"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.fixture
def systemd_like_server(tmp_path: Path, home: Path, fake_bin: Path) -> Any:
    """A tmux server started with PATH=/usr/bin:/bin and nothing else from a
    profile, whose tmux binary lives elsewhere (as in /usr/local or Homebrew):
    in its own mount namespace the distribution's tmux is hidden. Panes get the
    stand-ins on PATH from ~/.bashrc, as a user's shell would."""
    system_tmux = shutil.which("tmux")
    assert system_tmux
    own = tmp_path / "opt" / "tmux" / "bin"
    own.mkdir(parents=True)
    shutil.copy2(system_tmux, own / "tmux")
    with open(home / ".bashrc", "a") as fh:
        fh.write(f"export PATH={shlex.quote(str(fake_bin))}:$PATH\n")
    socket = str(tmp_path / "sock")
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "TMUX_ASSISTANT_RESURRECT_DIR": os.environ["TMUX_ASSISTANT_RESURRECT_DIR"],
        "AR_RECORD_DIR": os.environ["AR_RECORD_DIR"],
    }
    start = (
        f"mount --bind /dev/null {shlex.quote(system_tmux)} && exec "
        + shlex.join([str(own / "tmux"), "-S", socket, "-f", "/dev/null"])
        + " new-session -d -s w -x 120 -y 30"
    )
    subprocess.run(
        ["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", start], env=env, check=True
    )
    try:
        yield socket, own / "tmux"
    finally:
        subprocess.run([system_tmux, "-S", socket, "kill-server"], capture_output=True)
        if os.path.exists(socket):
            os.unlink(socket)


@pytest.mark.skipif(not _can_hide_tmux(), reason="needs unshare -m (root or user namespaces)")
def test_hooks_work_in_a_systemd_like_environment(
    systemd_like_server: Any, home: Path, tmp_path: Path
) -> None:
    socket, own_tmux = systemd_like_server
    # The agent under test, by absolute paths only (as the role writes the hooks).
    agent_cmd = shlex.join(
        ["/usr/bin/env", f"PYTHONPATH={RUNTIME_SRC}", sys.executable, "-m", "assistant_resurrect"]
    )

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", socket, *args], capture_output=True, text=True, check=True
        ).stdout

    def prompt() -> bool:
        return shows_prompt(lines_of(tmux(*capture_args("w"))))

    def run_hook(option: str, *extra: str) -> None:
        """Run a resurrect hook the way tmux-resurrect does: from the server, with
        the server's environment (run-shell), arguments appended quoted."""
        value = tmux("show-options", "-gqv", option).strip()
        done = tmp_path / f"done-{option}"
        line = " ".join([value, *map(shlex.quote, extra)])
        tmux("run-shell", f"bash -c {shlex.quote(line)} ; echo $? > {shlex.quote(str(done))}")
        wait_for(done.exists, what=f"{option} finished")
        assert done.read_text().strip() == "0", (option, log_files(home))

    wait_for(prompt, what="prompt")
    assert tmux("show-environment", "-g", "PATH").strip() == "PATH=/usr/bin:/bin"
    # From the server (run-shell), the agent talks to tmux with the server's own binary.
    report = tmp_path / "doctor.txt"
    tmux("run-shell", f"{agent_cmd} doctor > {shlex.quote(str(report))} 2>&1; true")
    wait_for(lambda: "PROBLEM" in report.read_text() if report.exists() else False, what="doctor")
    assert f"at {own_tmux}" in report.read_text()
    tmux("set-option", "-g", "@resurrect-hook-post-save-layout", f"{agent_cmd} save")
    tmux("set-option", "-g", "@resurrect-hook-post-restore-all", f"{agent_cmd} restore")
    tmux("set-option", "-g", "@assistant-resurrect-capture-env", "AR_PROFILE")

    # The Claude hook (inside the pane, PATH from .bashrc, no tmux on it) reads
    # the capture option through tmux and keys its file by Claude's PID.
    hook = f"{agent_cmd} hook claude-session-start"
    payload = json.dumps({"session_id": A, "source": "startup"})
    tmux(
        "send-keys",
        "-t",
        "w",
        "-l",
        f"AR_PROFILE=dev AR_FAKE_HOOK={shlex.quote(hook)} "
        f"AR_FAKE_HOOK_STDIN={shlex.quote(payload)} claude",
    )
    tmux("send-keys", "-t", "w", "Enter")
    claude = wait_for(records, what="claude started")[0]
    state = state_dir() / f"claude-{claude['pid']}.json"
    wait_for(state.exists, what="the SessionStart state file")
    assert json.loads(state.read_text())["env"] == {"AR_PROFILE": "dev"}

    rdir = home / ".tmux" / "resurrect"
    layout = rdir / "tmux_resurrect_20261125T120000.txt"
    layout.write_text("x\n")
    (rdir / "last").symlink_to(layout.name)
    run_hook("@resurrect-hook-post-save-layout", str(layout))
    saved = json.loads((rdir / "assistant_resurrect_20261125T120000.json").read_text())
    assert [(s["tool"], s["session_id"], s["env"]) for s in saved["sessions"]] == [
        ("claude", A, {"AR_PROFILE": "dev"})
    ]

    tmux("send-keys", "-t", "w", "C-c")
    wait_for(lambda: not Path(f"/proc/{claude['pid']}").exists(), what="claude stopped")
    wait_for(prompt, what="prompt back")
    for f in Path(os.environ["AR_RECORD_DIR"]).glob("*.json"):
        f.unlink()
    run_hook("@resurrect-hook-post-restore-all")
    time.sleep(0.5)
    assert records() == []  # attached mode: no client yet
    with client(["-S", socket], "w"):
        got = wait_for(records, what="claude resumed after the attach")
    assert got[0]["argv"] == ["--resume", A]
    assert got[0]["env"].get("AR_PROFILE") == "dev"
    log = (rdir / "assistant-restore.log").read_text()
    assert "a client shows session 'w'" in log, log


def log_files(home: Path) -> str:
    rdir = home / ".tmux" / "resurrect"
    return "\n".join(p.read_text() for p in rdir.glob("*.log"))


@pytest.mark.skipif(not Path("/proc/self/exe").exists(), reason="needs /proc")
def test_hooks_use_the_running_server_binary_after_an_upgrade(tmp_path: Path, home: Path) -> None:
    """A package upgrade replaced the tmux file while the server runs: hooks
    talk to it with the running image (/proc/PID/exe), which speaks its protocol."""
    system_tmux = shutil.which("tmux")
    assert system_tmux
    old = tmp_path / "old-tmux"
    shutil.copy2(system_tmux, old)
    socket = str(tmp_path / "sock")
    subprocess.run([str(old), "-S", socket, "-f", "/dev/null", "new-session", "-d"], check=True)
    try:
        old.unlink()  # the upgrade
        pid = subprocess.run(
            [system_tmux, "-S", socket, "display-message", "-p", "#{pid}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        report = tmp_path / "doctor.txt"
        agent = shlex.join(
            [
                "/usr/bin/env",
                f"PYTHONPATH={RUNTIME_SRC}",
                sys.executable,
                "-m",
                "assistant_resurrect",
            ]
        )
        subprocess.run(
            [system_tmux, "-S", socket, "run-shell", f"{agent} doctor > {report} 2>&1; true"],
            check=True,
        )
        wait_for(lambda: report.exists() and "ok:" in report.read_text(), what="doctor ran")
        assert f"at /proc/{pid}/exe" in report.read_text()
    finally:
        subprocess.run([system_tmux, "-S", socket, "kill-server"], capture_output=True)
