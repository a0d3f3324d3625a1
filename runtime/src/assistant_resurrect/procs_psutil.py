"""The process backend for macOS, the BSDs and any system without /proc: psutil.

Forced on Linux with ASSISTANT_RESURRECT_PROCS=psutil (CI runs the
integration suite that way once, so this backend is tested where it cannot
otherwise run).
"""

from __future__ import annotations

import psutil

from assistant_resurrect.records import Proc

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Optional

NAME = "psutil"


def available() -> bool:
    return True


def read_proc(pid: int) -> Optional[Proc]:
    try:
        p = psutil.Process(pid)
        return Proc(pid=pid, ppid=p.ppid(), comm=p.name(), start=round(p.create_time(), 2))
    except psutil.Error:
        return None


def all_procs() -> Iterator[Proc]:
    for p in psutil.process_iter(["pid", "ppid", "name", "create_time"]):
        info = p.info
        yield Proc(
            pid=info["pid"],
            ppid=info["ppid"] or 0,
            comm=info["name"] or "",
            start=round(info["create_time"] or 0.0, 2),
        )


def argv(pid: int) -> list[str]:
    try:
        return list(psutil.Process(pid).cmdline())
    except psutil.Error:
        return []


def cwd(pid: int) -> Optional[str]:
    try:
        return str(psutil.Process(pid).cwd())
    except psutil.Error:
        return None


def environ(pid: int) -> dict[str, str]:
    try:
        return dict(psutil.Process(pid).environ())
    except psutil.Error:
        return {}


def real_uid(proc: Proc) -> int:
    """The real uid of `proc` (-1 when it is gone), asked once and kept."""
    if proc.uid == -1:
        try:
            proc.uid = int(psutil.Process(proc.pid).uids().real)
        except psutil.Error:
            return -1
    return proc.uid


def foreground_group(proc: Proc) -> int:
    """The foreground process group of `proc`'s terminal (-1 unknown). psutil has
    no such field and a terminal answers TIOCGPGRP only to processes it controls,
    so ask ps(1) (procps, macOS and the BSDs all have `-o tpgid`); only restore's
    guard asks, never the save hook."""
    if proc.tpgid != -1:
        return proc.tpgid
    from assistant_resurrect.spawn import finish, start, which

    ps = which("ps") or which("ps", "/bin:/usr/bin")
    if ps is None:
        return -1
    try:
        code, out, _ = finish(start([ps, "-o", "tpgid=", "-p", str(proc.pid)]))
    except OSError:
        return -1
    text = out.decode("ascii", "replace").strip()
    if code != 0 or not text.lstrip("-").isdigit():
        return -1
    proc.tpgid = int(text)
    return proc.tpgid
