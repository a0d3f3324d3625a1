"""The two process backends (/proc and psutil) answer alike, including the
foreground process group the busy-pane guard relies on and the real uid
detection relies on; the environment variable forces one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from assistant_resurrect import procs_linux, procs_psutil
from tests.helpers import RUNTIME_SRC, pane_prompt_ready, wait_for


@pytest.mark.parametrize("name", ["linux", "psutil"])
def test_the_variable_forces_a_backend(name: str) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from assistant_resurrect import procs; print(procs.backend().NAME)",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(RUNTIME_SRC), ASSISTANT_RESURRECT_PROCS=name),
        check=True,
    )
    assert out.stdout.strip() == name


def test_both_backends_describe_a_process_alike() -> None:
    assert procs_linux.available()
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", "marker-arg"],
        env=dict(os.environ, AR_PROBE="x y"),
        cwd="/",
    )
    try:
        wait_for(lambda: "marker-arg" in procs_linux.argv(child.pid), what="the child's exec")
        a, b = procs_linux.read_proc(child.pid), procs_psutil.read_proc(child.pid)
        assert a is not None and b is not None
        assert (a.pid, a.ppid, a.comm) == (b.pid, b.ppid, b.comm)
        assert abs(a.start - b.start) <= 0.05
        assert procs_linux.real_uid(a) == procs_psutil.real_uid(b) == os.getuid()
        assert procs_linux.argv(child.pid) == procs_psutil.argv(child.pid)
        assert procs_linux.argv(child.pid)[-1] == "marker-arg"
        assert procs_linux.cwd(child.pid) == procs_psutil.cwd(child.pid) == "/"
        assert procs_linux.environ(child.pid)["AR_PROBE"] == "x y"
        assert procs_linux.environ(child.pid) == procs_psutil.environ(child.pid)
        linux_pids = {p.pid for p in procs_linux.all_procs()}
        assert child.pid in linux_pids and child.pid in {p.pid for p in procs_psutil.all_procs()}
    finally:
        child.kill()
        child.wait()


def test_both_backends_see_a_terminal_foreground_group(server: object, home: object) -> None:
    """A pane shell running `sleep` in front: its terminal's foreground group is
    the sleep's, by /proc's tpgid and by asking the terminal (psutil backend)."""
    session = server.new_session("fg")  # type: ignore[attr-defined]
    pane = session.windows[0].panes[0]
    wait_for(lambda: pane_prompt_ready(pane), timeout=30, what="the pane's prompt")
    pane.send_keys("sleep 30", enter=True)
    shell = int(pane.pane_pid)

    def groups() -> tuple[int, int] | None:
        a = procs_linux.read_proc(shell)
        b = procs_psutil.read_proc(shell)
        if a is None or b is None:
            return None
        ga, gb = procs_linux.foreground_group(a), procs_psutil.foreground_group(b)
        return (ga, gb) if ga not in (-1, shell) else None

    ga, gb = wait_for(groups, timeout=30, what="sleep in front of the pane shell")
    assert ga == gb


def test_both_backends_read_another_users_real_uid() -> None:
    """A process whose real uid is not ours (set before exec, as su and runuser
    leave it): both backends name that uid; a gone process is -1."""
    if os.getuid() != 0:
        pytest.skip("needs root to start a process as another uid")
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", "uid-probe"],
        user=65534,
        cwd="/",
    )
    try:
        wait_for(lambda: "uid-probe" in procs_linux.argv(child.pid), what="the child's exec")
        a, b = procs_linux.read_proc(child.pid), procs_psutil.read_proc(child.pid)
        assert a is not None and b is not None
        assert procs_linux.real_uid(a) == procs_psutil.real_uid(b) == 65534
    finally:
        child.kill()
        child.wait()
    gone_a, gone_b = procs_linux.read_proc(os.getpid()), procs_psutil.read_proc(os.getpid())
    assert gone_a is not None and gone_b is not None
    gone_a.pid = gone_b.pid = child.pid  # reaped: nothing to read
    assert procs_linux.real_uid(gone_a) == procs_psutil.real_uid(gone_b) == -1
