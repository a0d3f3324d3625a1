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
  (tools without hooks we may install: Codex's state and log databases;
  Claude's prompt history, where a first message shows). Those change with
  most messages: a change seen only there is saved only when a save would
  record other sessions than the last sidecar holds (`would_change`: one pane
  listing and process walk, no tmux-resurrect save).

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
import os
import time
from pathlib import Path

from assistant_resurrect import paths, saveserver

# (re-exported: the commands and tests use them from here too)
from assistant_resurrect.events import (
    LOG,
    OPTION,
    REQUEST,
    _server,
    _try_lock,
    enabled,
    ensure,
    held,
    lock_path,
    request,
    restore_done,
)

__all__ = [
    "LOG",
    "OPTION",
    "REQUEST",
    "enabled",
    "ensure",
    "held",
    "lock_path",
    "request",
    "restore_done",
    "run",
]

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

    from assistant_resurrect.log import Log
    from assistant_resurrect.saveserver import SaveServer
    from assistant_resurrect.tmux import Tmux


POLL = 0.5
SETTLE = 1.0
MAX_WAIT = 2.5
STARTUP_SLACK = 2.0  # seconds before start within which a change counts as new
RECHECK = 10.0  # seconds between checks of the option and of the save script
SAVE_TIMEOUT = 120.0


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


Sig = tuple[tuple[int, int], ...]


def relisted(files: list[str], last: Sig, new_files: list[str], now: Sig, since_ns: int) -> Sig:
    """The baseline after the watch list changed from `files` to `new_files`
    (`now`: the new list's signature). A path watched before keeps its old
    baseline, so a change since the last look still counts; a newly listed
    path written since `since_ns` (the previous list) counts as changed (a
    tool's first session file appears, then its first message lands in it,
    before the next listing); the state directory keeps its baseline."""
    old = dict(zip(files, last[1:]))
    out = [last[0]]
    for path, st in zip(new_files, now[1:]):
        if path in old:
            out.append(old[path])
        else:
            out.append((0, -1) if st[0] >= since_ns else st)
    return tuple(out)


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


def save_now(
    script: str, socket: str, server_pid: str, log: Log, server: Optional[SaveServer] = None
) -> bool:
    """Run tmux-resurrect's save script quietly against this server; stopped (its
    whole process group) if the server dies meanwhile, so that it never saves a
    new server started on the same socket. Its post-save-layout hook is served
    meanwhile (`server`)."""
    import signal
    import subprocess

    env = dict(os.environ)
    env["TMUX"] = f"{socket},{server_pid},0"
    env.pop("TMUX_PANE", None)
    try:
        proc = subprocess.Popen(
            [script, "quiet"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        log(f"event save failed: {exc}")
        return False
    deadline = time.monotonic() + SAVE_TIMEOUT
    while proc.poll() is None:
        if not _alive(int(server_pid)) or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            log(
                "event save stopped: "
                + ("the server is gone" if not _alive(int(server_pid)) else "too slow")
            )
            return False
        pause(server, 0.1)
    err = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace").strip()
    if proc.returncode != 0:
        lines = err.splitlines()
        log(f"event save: {script} exited {proc.returncode}: {lines[-1] if lines else ''}")
        return False
    return True


def would_change(socket: str) -> bool:
    """Whether a save now would record other sessions than the last sidecar holds
    (which tool in which pane, which session, fresh or not): a tool's store
    file changes with every message, most of which change no session."""
    from assistant_resurrect import store
    from assistant_resurrect.log import Log
    from assistant_resurrect.save import collect
    from assistant_resurrect.tmux import Tmux

    tmux = Tmux(socket_path=socket)
    now = {
        (s.pane, s.tool, s.session_id or None, s.fresh)
        for s in collect(tmux, tmux.list_panes(), Log(None))
    }
    layout = store.last_layout(tmux.settings.resurrect_dir)
    if layout is None:
        return True
    try:
        doc = store.read(store.sidecar_for(layout))
    except Exception:
        return True
    saved = set()
    for e in doc.get("sessions") or []:
        if isinstance(e, dict):
            fresh = not e.get("session_id") and e.get("id_source") == "fresh"
            saved.add((e.get("pane"), e.get("tool"), e.get("session_id") or None, fresh))
    return now != saved


def _alive(pid: int) -> bool:
    """Whether the process runs. A zombie is gone: in a container whose PID 1
    never reaps (`sleep infinity`), a killed tmux server stays one, and a
    sentinel that took it for alive would save the next server's empty layout."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS, the BSDs): kill() said it exists
    return state not in (b"Z", b"X")


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
    listed_at = time.time_ns()
    log(f"sentinel {os.getpid()} for server {server_pid}: watching {len(files) + 1} paths")
    server = saveserver.start(str(state), socket, server_pid, log)
    try:
        return _watch(tmux, state, log, socket, server_pid, home, files, listed_at, started, server)
    finally:
        if server is not None:
            server.close()


def pause(server: Optional[SaveServer], seconds: float) -> None:
    """Sleep, serving the saves the hooks ask for meanwhile (saveserver.py)."""
    if server is None:
        time.sleep(seconds)
    else:
        server.wait(seconds)


def _watch(
    tmux: Tmux,
    state: Path,
    log: Log,
    socket: str,
    server_pid: str,
    home: str,
    files: list[str],
    listed_at: int,
    started: float,
    server: Optional[SaveServer],
) -> int:
    last = signature(state, files)
    first_change = last_change = 0.0
    # A change made while this process started (after the save that started it,
    # before this first look) would be in the baseline: treat a recent one as new.
    hooked = False
    if max(m for m, _ in last) >= (started - STARTUP_SLACK) * 1e9:
        first_change = last_change = time.monotonic()
        hooked = True
    next_check = 0.0
    script = ""
    scripts: list[str] = []
    waited = ""
    saves = 0
    while True:
        pause(server, POLL)
        now = time.monotonic()
        if server is not None and server.outdated:
            log(
                f"sentinel {os.getpid()}: another build of the agent runs the hooks now; "
                "stopping (the next save-finish starts one of that build)"
            )
            return 0
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
            # Files a tool creates later (a new project's log) are watched too.
            new_files = watched(home)
            if new_files != files:
                since = listed_at - STARTUP_SLACK * 1e9
                last = relisted(files, last, new_files, signature(state, new_files), int(since))
                files = new_files
            listed_at = time.time_ns()
            scripts = [script, opts["@resurrect-restore-script-path"]]
        sig = signature(state, files)
        if sig != last:
            if sig[0] != last[0]:
                hooked = True  # a hook, the plugin or `event`: always saved
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
        if not hooked:
            try:
                if not would_change(socket):
                    log("a store file changed, no session did: not saved")
                    continue
            except Exception as exc:
                log(f"cannot tell whether the sessions changed ({exc}); saving")
        hooked = False
        before = time.monotonic()
        if save_now(script, socket, server_pid, log, server):
            saves += 1
            log(f"event save {saves} done in {time.monotonic() - before:.2f} s")
