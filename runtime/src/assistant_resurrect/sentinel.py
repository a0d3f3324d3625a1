"""Event saves: a session change is saved within seconds, not at the next
interval save.

One sentinel process per tmux server and user (`assistant-resurrect
sentinel`, started in the background by `save-finish` and by `restore` once
its typing is done; never before a restore on a fresh server, whose empty
save would become `last`). Every POLL seconds it compares a cheap signature:

- the state dir's mtime: every hook and plugin state file written, replaced
  or removed (Claude's SessionStart/SessionEnd hooks, Gemini's hooks, the
  OpenCode plugin) and `assistant-resurrect event` (touches `event-request`)
  change it;
- the mtime and size of the files each assistant lists in `watch_files`
  (tools without hooks we may install: Codex's state and log databases).

After a change it waits until nothing changed for SETTLE seconds, or MAX_WAIT
seconds after the first change of a burst, then runs tmux-resurrect's own save
script (`@resurrect-save-script-path`, `quiet`): the layout file and our
sidecar (written by the post-save-layout hook inside that save) stay a
consistent pair, and new windows and panes are in it. Never two at once: one
sentinel per server (flock), which does not save while one of tmux-resurrect's
save or restore scripts runs as this user (continuum's interval save, a
restore rebuilding the panes, whose post-restore-all hook is our restore) or
while restore types (its lock).

A burst of changes therefore costs one save, two when it straddles a save; a
change is saved after at most POLL + MAX_WAIT seconds plus the save itself.
`@assistant-resurrect-event-save off` turns it off (a running sentinel sees
it within RECHECK seconds). The sentinel exits when its tmux server does.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from pathlib import Path

from assistant_resurrect import paths

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

    from assistant_resurrect.log import Log
    from assistant_resurrect.tmux import Tmux

POLL = 0.5
SETTLE = 1.0
MAX_WAIT = 2.5
STARTUP_SLACK = 2.0  # seconds before start within which a change counts as new
RECHECK = 10.0  # seconds between checks of the option and of the save script
SAVE_TIMEOUT = 120.0
OPTION = "@assistant-resurrect-event-save"
REQUEST = "event-request"
LOG = "assistant-events.log"


def enabled(value: str) -> bool:
    return value.strip().lower() not in ("off", "0", "no", "false")


def lock_path(state: Path, server_pid: str) -> Path:
    return state / f"sentinel-{server_pid}.lock"


def _server(tmux: Tmux) -> tuple[str, str]:
    """(socket path, server pid) of the tmux server `tmux` talks to: from $TMUX
    inside tmux (hooks, no tmux call), else asked."""
    inside = os.environ.get("TMUX", "").split(",")
    if not tmux.socket_args and len(inside) >= 2 and inside[0] and inside[1].isdigit():
        return inside[0], inside[1]
    rec = tmux.query(["display-message", "-p"], ("socket_path", "pid"))
    if len(rec) != 1 or len(rec[0]) != 2 or not rec[0][1].isdigit():
        from assistant_resurrect.errors import TmuxError

        raise TmuxError("tmux did not say its socket and pid")
    return rec[0][0], rec[0][1]


def _try_lock(path: Path) -> Optional[int]:
    """An fd holding an exclusive flock on `path`, or None when another holds it."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    return fd


def held(path: Path) -> bool:
    """Whether another process holds the flock on `path` (False when it does not exist)."""
    if not path.exists():
        return False
    try:
        fd = _try_lock(path)
    except OSError:
        return False
    if fd is None:
        return True
    os.close(fd)
    return False


def ensure(tmux: Tmux, log: Log) -> None:
    """Start this server's sentinel in the background unless it runs or is off."""
    try:
        if not enabled(tmux.settings.get(OPTION)):
            return
        state = paths.state_dir(create=True)
        socket, pid = _server(tmux)
        if held(lock_path(state, pid)):
            return
        from assistant_resurrect.pending import agent_argv

        argv = [*agent_argv(), "-S", socket, "sentinel"]
        _detach(argv)
    except Exception as exc:  # event saves are a bonus: never fail the caller
        log(f"event saves not started: {exc}")


def _detach(argv: list[str]) -> None:
    """Run argv in its own session, stdio on /dev/null, not waited for (a double
    fork: the grandchild is reparented, never left a zombie of the caller)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            exe = argv[0]
            os.execv(exe, argv)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)


def restore_done(tmux: Tmux, log: Log) -> None:
    """After restore's typing: event saves may go on (and start)."""
    ensure(tmux, log)


def request(reason: str = "") -> int:
    """`assistant-resurrect event`: ask the sentinel for a save now."""
    try:
        state = paths.state_dir(create=True)
        path = state / REQUEST
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, f"{time.time():.3f} {reason}\n".encode())
        finally:
            os.close(fd)
        os.utime(state)  # a rewrite in place does not change the folder's mtime
    except Exception as exc:
        sys.stderr.write(f"assistant-resurrect: event not recorded: {exc}\n")
        return 1
    return 0


def _stat(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (0, -1)
    return (st.st_mtime_ns, st.st_size)


def watched(home: str) -> list[str]:
    from assistant_resurrect import assistants

    out: list[str] = []
    for tool in assistants.ASSISTANTS:
        with contextlib.suppress(Exception):
            out.extend(p for p in tool.watch_files(home) if p not in out)
    return out


def signature(state: Path, files: list[str]) -> tuple[tuple[int, int], ...]:
    return (_stat(str(state)), *(_stat(p) for p in files))


def _running(scripts: list[str]) -> bool:
    """One of tmux-resurrect's scripts runs as this user (continuum's interval
    save, or a restore rebuilding the panes)."""
    me = os.getuid()
    needles = {s.encode() for s in scripts if s}
    try:
        names = os.listdir("/proc")
    except OSError:
        return False
    for name in names:
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != me:
                continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if needles.intersection(argv[:3]):
            return True
    return False


def busy(tmux: Tmux, scripts: list[str]) -> Optional[str]:
    """Why a save must wait now, or None."""
    from assistant_resurrect.store import RESTORE_LOCK

    if held(tmux.settings.resurrect_dir / RESTORE_LOCK):
        return "restore is typing"
    if _running(scripts):
        return "a tmux-resurrect save or restore is running"
    return None


def save_now(script: str, socket: str, server_pid: str, log: Log) -> bool:
    """Run tmux-resurrect's save script quietly against this server."""
    import subprocess

    env = dict(os.environ)
    env["TMUX"] = f"{socket},{server_pid},0"
    env.pop("TMUX_PANE", None)
    try:
        done = subprocess.run(
            [script, "quiet"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=SAVE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"event save failed: {exc}")
        return False
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip().splitlines()
        log(f"event save: {script} exited {done.returncode}: {err[-1] if err else ''}")
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run(tmux: Tmux) -> int:
    """The `sentinel` command (see the module docstring)."""
    from assistant_resurrect.log import Log

    started = time.time()
    state = paths.state_dir(create=True)
    log = Log(state / LOG)
    socket, server_pid = _server(tmux)
    fd = _try_lock(lock_path(state, server_pid))
    if fd is None:
        return 0  # this server has its sentinel
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    home = os.path.expanduser("~")
    files = watched(home)
    log(f"sentinel {os.getpid()} for server {server_pid}: watching {len(files) + 1} paths")
    last = signature(state, files)
    first_change = last_change = 0.0
    # A change made while this process started (after the save that started it,
    # before this first look) would be in the baseline: treat a recent one as new.
    if max(m for m, _ in last) >= (started - STARTUP_SLACK) * 1e9:
        first_change = last_change = time.monotonic()
    next_check = 0.0
    script = ""
    scripts: list[str] = []
    waited = ""
    saves = 0
    while True:
        time.sleep(POLL)
        now = time.monotonic()
        if not _alive(int(server_pid)):
            log(f"sentinel {os.getpid()}: server {server_pid} is gone; {saves} event save(s)")
            return 0
        if now >= next_check:
            next_check = now + RECHECK
            try:
                opts = tmux.options_of(
                    [OPTION, "@resurrect-save-script-path", "@resurrect-restore-script-path"]
                )
            except Exception:
                continue  # the server is going away, or busy: next round
            if not enabled(opts[OPTION]):
                log(f"sentinel {os.getpid()}: {OPTION} is off; stopping")
                return 0
            script = opts["@resurrect-save-script-path"]
            scripts = [script, opts["@resurrect-restore-script-path"]]
        sig = signature(state, files)
        if sig != last:
            last = sig
            if not first_change:
                first_change = now
            last_change = now
        if not first_change:
            continue
        if now - last_change < SETTLE and now - first_change < MAX_WAIT:
            continue
        if not script or not os.path.isfile(script):
            log("event save skipped: @resurrect-save-script-path names no save script")
            first_change = 0.0
            continue
        why = busy(tmux, scripts)
        if why:
            if why != waited:
                log(f"event save waits: {why}")
                waited = why
            continue  # the change stays pending until it is done
        first_change = 0.0
        waited = ""
        before = time.monotonic()
        if save_now(script, socket, server_pid, log):
            saves += 1
            log(f"event save {saves} done in {time.monotonic() - before:.2f} s")
