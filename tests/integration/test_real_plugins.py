"""Our hooks under the real tmux-resurrect and tmux-continuum, at the versions
the role pins, cloned from bare repositories made from ../shared/mirrors
(tests/mirrors.py; skipped, saying so, where the bundles are absent).

- tmux-resurrect: before the first save `doctor` names the folder the pinned
  version saves to; its save script (scripts/save.sh) fires our
  post-save-layout hook (the sidecar is written beside the layout, with the
  assistant's session) and its restore script (scripts/restore.sh) brings the
  panes back and fires our post-restore-all hook (the assistant is resumed).
- tmux-continuum: an interval save (@continuum-save-interval 1) fires our
  hooks, and its auto-restore (@continuum-restore on) on a fresh server brings
  everything back and fires our restore hook.

tmux-continuum saves from a `#()` job in status-right, so only when a client
draws the status line: a real client runs in a pseudo-terminal. It stands
down when it counts tmux processes other than the current server and its
clients, any user's (`ps`): each server here has a socket of its own, the
client is the only other tmux process, and a test fails with the processes
it saw when another tmux on this machine made continuum stand down. Every
wait polls for a file or a process, with generous timeouts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import shlex
import struct
import subprocess
import sys
import termios
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import RUNTIME_SRC, records, wait_for
from tests.mirrors import PluginRepos

SID = "3f1e8a1c-5555-4666-8777-888899990000"
WAIT = 60.0  # seconds: generous; every wait polls and returns as soon as it can


@dataclass
class Plugins:
    resurrect: Path
    continuum: Path
    versions: dict[str, str]


@pytest.fixture(scope="module")
def plugins(plugin_mirrors: PluginRepos, tmp_path_factory: pytest.TempPathFactory) -> Plugins:
    if not plugin_mirrors.real:
        pytest.skip(f"the real tmux plugins are not here ({plugin_mirrors.why})")
    dest = tmp_path_factory.mktemp("real-plugins")
    out = {}
    for name in ("tmux-resurrect", "tmux-continuum"):
        out[name] = dest / name
        subprocess.run(
            [
                "git",
                "-c",
                "advice.detachedHead=false",
                "clone",
                "-q",
                "--branch",
                plugin_mirrors.versions[name],
                f"file://{plugin_mirrors.repos[name]}",
                str(out[name]),
            ],
            check=True,
            timeout=120,
        )
    return Plugins(out["tmux-resurrect"], out["tmux-continuum"], plugin_mirrors.versions)


def agent_cmd() -> str:
    return shlex.join(
        ["env", f"PYTHONPATH={RUNTIME_SRC}", sys.executable, "-m", "assistant_resurrect"]
    )


def tmux_conf(path: Path, plugins: Plugins, *, continuum: bool) -> Path:
    """Our hooks (as the role's snippet sets them), then the plugins, as TPM runs them."""
    cmd = agent_cmd()
    lines = [
        "source-file ~/.tmux.conf",  # the suite's settings (tests/conftest.py `home`)
        "set -g @assistant-resurrect-start immediate",
        f"set -g @resurrect-hook-post-save-layout '{cmd} save'",
        f"set -g @resurrect-hook-post-save-all '{cmd} save-finish'",
        f"set -g @resurrect-hook-post-restore-all '{cmd} restore'",
        f"run-shell '{plugins.resurrect / 'resurrect.tmux'}'",
    ]
    if continuum:
        lines[1:1] = [
            "set -g @continuum-restore 'on'",
            "set -g @continuum-save-interval '1'",
            # The last save a minute and more ago: the first status refresh is
            # an interval save, instead of one a minute after the plugin loads.
            "set -g @continuum-save-last-timestamp '1'",
        ]
        lines.append(f"run-shell '{plugins.continuum / 'continuum.tmux'}'")
    path.write_text("\n".join(lines) + "\n")
    return path


class Tmux:
    """A tmux server on a socket of its own, started with ``conf``."""

    def __init__(self, conf: Path) -> None:
        self.socket = f"ar-real-{uuid.uuid4().hex[:10]}"
        self.conf = conf
        self.pids: list[int] = []

    def __call__(self, *args: str, check: bool = True) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        proc = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"tmux {args} -> {proc.returncode}: {proc.stderr}")
        return proc.stdout

    def start(self, *args: str) -> int:
        self("-f", str(self.conf), "new-session", "-d", "-x", "120", "-y", "40", *args)
        pid = int(self("display-message", "-p", "#{pid}").strip())
        self.pids.append(pid)
        return pid

    def kill(self) -> None:
        self("kill-server", check=False)
        for pid in self.pids:
            wait_for(lambda pid=pid: not _alive(pid), timeout=WAIT, what=f"tmux {pid} gone")

    def option(self, name: str) -> str:
        return self("show-options", "-gqv", name).strip()

    def prompt_ready(self, target: str) -> bool:
        lines = self("capture-pane", "-p", "-t", target, check=False).splitlines()
        return any(line.strip() == "$" for line in lines)

    def type_line(self, target: str, line: str) -> None:
        wait_for(lambda: self.prompt_ready(target), timeout=WAIT, what=f"prompt in {target}")
        self("send-keys", "-t", target, "-l", line)
        self("send-keys", "-t", target, "Enter")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def servers(home: Path) -> Iterator[list[Tmux]]:
    made: list[Tmux] = []
    yield made
    for t in made:
        t.kill()


def other_tmux_processes(mine: set[int]) -> list[str]:
    """What tmux-continuum counts against it: `ps` lines starting with tmux (any
    user's), other than ``mine``."""
    out = subprocess.run(
        ["ps", "-Ao", "command pid"], capture_output=True, text=True, check=True
    ).stdout
    lines = [
        ln for ln in out.splitlines() if ln.startswith("tmux") and not ln.startswith("tmux source")
    ]
    return [ln for ln in lines if int(ln.split()[-1]) not in mine]


def stood_down(why: str, mine: set[int]) -> str:
    others = other_tmux_processes(mine)
    return (
        f"{why}: tmux-continuum stands down while it counts tmux processes other than "
        "this server and its clients (any user's); parallel tmux servers on this "
        "machine make it do so. Seen now:\n" + ("\n".join(others) or "(none any more)")
    )


@contextlib.contextmanager
def attached_client(t: Tmux, session: str) -> Iterator[int]:
    """A real client attached to ``session`` in a pseudo-terminal (120x40); yields its pid."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        ["tmux", "-L", t.socket, "attach-session", "-t", session],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)

    def drain() -> None:  # the client blocks when nobody reads its terminal
        with contextlib.suppress(OSError):
            while os.read(master, 65536):
                pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        wait_for(
            lambda: t("list-clients", "-F", "#{client_pid}", check=False).split(),
            timeout=WAIT,
            what="the client attached",
        )
        yield proc.pid
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=WAIT)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        reader.join(timeout=WAIT)


def layouts(rdir: Path) -> list[Path]:
    return sorted(rdir.glob("tmux_resurrect_*.txt"))


def sidecar_sessions(layout: Path) -> list[dict[str, Any]]:
    side = layout.parent / layout.name.replace("tmux_resurrect_", "assistant_resurrect_")
    side = side.with_suffix(".json")
    try:
        return list(json.loads(side.read_text())["sessions"])
    except (OSError, ValueError, KeyError):
        return []


def saved_with_claude(rdir: Path) -> list[dict[str, Any]]:
    """The sessions of the newest sidecar, once it holds our Claude."""
    for layout in reversed(layouts(rdir)):
        sessions = sidecar_sessions(layout)
        if any(s.get("session_id") == SID for s in sessions):
            return sessions
    return []


def resumed(before: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Claude stand-ins started with `--resume SID` since ``before`` (typed by our restore)."""
    seen = {r["pid"] for r in before}
    return [
        r
        for r in records("claude")
        if r["pid"] not in seen and "--resume" in r["argv"] and SID in r["argv"]
    ]


def start_claude(t: Tmux, target: str) -> None:
    t.type_line(target, f"claude --model sonnet --resume {SID}")
    wait_for(lambda: len(records("claude")) == 1, timeout=WAIT, what="claude started")


def logs(rdir: Path) -> str:
    out = []
    for name in ("assistant-save.log", "assistant-restore.log"):
        p = rdir / name
        out.append(f"--- {name}\n" + (p.read_text() if p.exists() else "(none)"))
    return "\n".join(out)


def test_resurrect_save_and_restore_scripts_fire_our_hooks(
    home: Path, plugins: Plugins, servers: list[Tmux], tmp_path: Path
) -> None:
    # A home where tmux-resurrect has never saved.
    (home / ".tmux" / "resurrect").rmdir()
    rdir = home / ".tmux" / "resurrect"  # where the pinned v4.0.0 saves
    conf = tmux_conf(tmp_path / "tmux.conf", plugins, continuum=False)
    t = Tmux(conf)
    servers.append(t)
    work = tmp_path / "proj"
    work.mkdir()
    t.start("-s", "work", "-n", "claude", "-c", str(work))
    t("new-window", "-t", "work", "-n", "plain", "-c", str(work))

    doctor = subprocess.run(
        [sys.executable, "-m", "assistant_resurrect", "-L", t.socket, "doctor"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(RUNTIME_SRC)},
        timeout=60,
    )
    assert f"resurrect dir {rdir} (not created yet" in doctor.stdout + doctor.stderr, (
        doctor.stdout + doctor.stderr
    )
    assert ".local/share/tmux/resurrect" not in doctor.stdout + doctor.stderr

    start_claude(t, "work:claude")
    save = t.option("@resurrect-save-script-path")
    assert save == str(plugins.resurrect / "scripts" / "save.sh")
    t("run-shell", save)
    (layout,) = layouts(rdir)  # the folder doctor named
    assert (rdir / "last").resolve() == layout
    sessions = wait_for(
        lambda: saved_with_claude(rdir),
        timeout=WAIT,
        what="the sidecar",
        on_fail=lambda: logs(rdir),
    )
    assert [s["tool"] for s in sessions] == ["claude"]
    before = records("claude")
    t.kill()

    # A fresh server: the real restore script brings the panes back, and our
    # post-restore-all hook resumes Claude in its own pane.
    t2 = Tmux(conf)
    servers.append(t2)
    t2.start()
    t2("run-shell", t2.option("@resurrect-restore-script-path"))
    windows = t2("list-windows", "-a", "-F", "#{session_name}:#{window_name}").split()
    assert "work:claude" in windows and "work:plain" in windows, windows
    got = wait_for(
        lambda: resumed(before),
        timeout=WAIT,
        what="claude resumed by our restore hook",
        on_fail=lambda: logs(rdir),
    )
    assert got[0]["cwd"] == str(work)
    panes = t2("list-panes", "-t", "work:claude", "-F", "#{pane_id}").split()
    assert got[0]["pane"] in panes


def test_continuum_interval_save_and_auto_restore_fire_our_hooks(
    home: Path, plugins: Plugins, servers: list[Tmux], tmp_path: Path
) -> None:
    rdir = home / ".tmux" / "resurrect"
    conf = tmux_conf(tmp_path / "tmux.conf", plugins, continuum=True)
    t = Tmux(conf)
    servers.append(t)
    work = tmp_path / "proj"
    work.mkdir()
    pid = t.start("-s", "work", "-n", "claude", "-c", str(work))
    status = t.option("status-right")
    if "continuum_save.sh" not in status:
        pytest.fail(stood_down("tmux-continuum did not set up its interval save", {pid}))
    assert t.option("@continuum-save-interval") == "1"
    start_claude(t, "work:claude")
    assert layouts(rdir) == []

    with attached_client(t, "work") as client:
        sessions = wait_for(
            lambda: saved_with_claude(rdir),
            timeout=WAIT,
            what="continuum's interval save (our post-save-layout hook's sidecar)",
            on_fail=lambda: stood_down("no interval save", {pid, client}) + "\n" + logs(rdir),
        )
    assert [s["tool"] for s in sessions] == ["claude"]
    wait_for(lambda: (rdir / "last").exists(), timeout=WAIT, what="the last link")
    before = records("claude")
    t.kill()

    # A fresh server: continuum restores by itself and our hook resumes Claude.
    others = other_tmux_processes(set())
    if others:
        pytest.fail(stood_down("before the fresh server started", set()))
    t2 = Tmux(conf)
    servers.append(t2)
    pid2 = t2.start()
    got = wait_for(
        lambda: resumed(before),
        timeout=WAIT,
        what="claude resumed after continuum's auto-restore",
        on_fail=lambda: stood_down("no auto-restore", {pid2}) + "\n" + logs(rdir),
    )
    panes = t2("list-panes", "-t", "work:claude", "-F", "#{pane_id}").split()
    assert got[0]["pane"] in panes
    assert got[0]["cwd"] == str(work)
