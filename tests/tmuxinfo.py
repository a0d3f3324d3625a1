"""Which tmux this test run drives (the one on PATH; see AR_TMUX in conftest.py)."""

from __future__ import annotations

import re
import subprocess


def tmux_version() -> str:
    """`tmux -V` of the tmux on PATH, e.g. 'tmux 3.5a'."""
    try:
        out = subprocess.run(["tmux", "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"tmux not runnable ({exc})"
    return (out.stdout or out.stderr).strip()


def tmux_release() -> tuple[int, int]:
    """(major, minor) of the tmux on PATH: 'tmux 3.5a' -> (3, 5); 'tmux next-3.8' -> (3, 8)."""
    found = re.search(r"(\d+)\.(\d+)", tmux_version())
    if not found:
        raise AssertionError(f"cannot read a version from {tmux_version()!r}")
    return int(found.group(1)), int(found.group(2))
