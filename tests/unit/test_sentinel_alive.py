"""The sentinel's liveness check of its tmux server: a zombie is gone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from assistant_resurrect import sentinel
from tests.helpers import wait_for


def test_a_running_process_is_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert sentinel._alive(child.pid)
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_an_unreaped_server_is_gone() -> None:
    """A container whose PID 1 never reaps leaves a killed server a zombie:
    kill(pid, 0) still succeeds on it, the sentinel must stop anyway."""
    child = subprocess.Popen(["true"])

    # Not reaped: wait until it is a zombie, without waitpid().
    def zombie() -> bool:
        with open(f"/proc/{child.pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"

    wait_for(zombie, timeout=30, what="the child to exit")
    os.kill(child.pid, 0)  # the kernel still has it
    try:
        assert not sentinel._alive(child.pid)
    finally:
        child.wait()
    assert not sentinel._alive(child.pid)
