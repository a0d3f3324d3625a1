"""`save` (post-save-layout) and `save-finish` (post-save-all)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from assistant_resurrect import capture, detect, paths, procs, served, store
from assistant_resurrect.assistants.base import Assistant, Context, Found
from assistant_resurrect.errors import AgentError
from assistant_resurrect.log import Log
from assistant_resurrect.session import InvalidEntry, SavedSession
from assistant_resurrect.tmux import Pane, Tmux

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional


def collect(
    tmux: Tmux, panes: list[Pane], log: Log, snap: Optional[procs.Snapshot] = None
) -> list[SavedSession]:
    """A pane listing (from `tmux.list_panes()`, which also read the options) and
    one process snapshot (taken now unless given) -> the sessions to save."""
    if snap is None:
        snap = procs.snapshot()
    ctx = Context(snap=snap, log=log, home=paths.home())
    wanted, refused = tmux.settings.capture_env()
    secrets_ok = capture.allowed(tmux.settings.get("@assistant-resurrect-capture-secret-env"))
    if refused:
        log(
            "not capturing " + ", ".join(refused) + " (invalid names or names that look like "
            "secrets; set @assistant-resurrect-capture-secret-env on to allow the latter)"
        )
    found: list[tuple[Pane, detect.Detected, Found]] = []
    for pane in panes:
        if pane.dead or not pane.pane_pid:
            continue
        det = detect.in_pane(pane.pane_pid, snap, log, pane.address)
        if det is None:
            continue
        proc = snap.procs[det.pid]
        f = Found(
            pid=det.pid,
            launch=det.launch,
            start=proc.start,
            cwd=snap.cwd(det.pid),
            pids=det.pids,
            pane_pid=pane.pane_pid,
        )
        found.append((pane, det, f))
        # IDs named on command lines belong to their pane: claim them first so
        # that no other pane's fallback strategy can return them too.
        arg_id = det.assistant.id_from_args(ctx, f)
        if arg_id and arg_id not in ctx.claimed:
            ctx.claimed[arg_id] = det.pid
            ctx.from_args.add(arg_id)

    # The latest-started assistant first: it can own only what was created after
    # it started, so fallback strategies (databases, transcripts) pick for it
    # before an older process in the same directory could take its session.
    ids: dict[int, tuple[Optional[str], Optional[str]]] = {}
    for pane, det, f in sorted(found, key=lambda item: -item[2].start):
        sid, source = det.assistant.find_session_id(ctx, f)
        ids[det.pid] = (sid, source)
        if sid:
            before = ctx.claimed.get(sid)
            if before is not None and before != det.pid and ids.get(before, (None,))[0] == sid:
                # The process's own record took the ID over from a pane that only
                # names it on its command line (and has switched away since).
                ids[before] = (None, None)
                log(
                    f"pid {before}: session {sid} is on its command line, but pid {det.pid} "
                    f"shows it ({source}); not saved for pid {before}"
                )
            ctx.claimed[sid] = det.pid
        elif source is None:
            kept = restored_id(pane, det.assistant, ctx)
            if kept is not None:
                # Nothing the process shows names a session (a tool that hides
                # its arguments and writes nothing until a message): the one
                # restore typed into this pane is still the one it runs.
                ids[det.pid] = (kept, RESTORED)
                ctx.claimed[kept] = det.pid
                log(
                    f"{det.assistant.name} in {pane.address} (pid {det.pid}): no session ID "
                    f"found; keeping {kept}, which restore typed into this pane"
                )
            else:
                log(f"{det.assistant.name} in {pane.address} (pid {det.pid}): no session ID found")

    sessions: list[SavedSession] = []
    for pane, det, f in found:
        a = det.assistant
        sid, source = ids[det.pid]
        env: dict[str, str] = {}
        if wanted:
            penv = snap.environ(det.pid)
            env, held = capture.keep_values({n: penv[n] for n in wanted if n in penv}, secrets_ok)
            if held:
                log(
                    f"{pane.address}: not capturing {', '.join(held)} (the value looks like a "
                    "credential; set @assistant-resurrect-capture-secret-env on to allow it)"
                )
        model = a.model(det.launch.args)
        if model is None and hasattr(a, "state_model"):
            model = a.state_model(ctx, f)
        program = det.launch.program if det.launch.direct else a.name
        sessions.append(
            SavedSession(
                pane.address,
                a.name,
                sid,
                pane_id=pane.pane_id,
                session_name=pane.session_name,
                window_index=pane.window_index,
                pane_index=pane.pane_index,
                id_source=source,
                cwd=f.cwd,
                pid=det.pid,
                started_at=f.start,
                program=program,
                model=model,
                cli_args=a.cli_args(det.launch.args),
                env=env,
            )
        )
    return sessions


RESTORED = "restored"  # id_source: the ID restore typed into the pane (its marker)


def restored_id(pane: Pane, assistant: Assistant, ctx: Context) -> Optional[str]:
    """The session ID restore typed into `pane` (its marker), when it is a valid
    ID of `assistant` that no other pane's process shows."""
    marker = pane.restored_marker or ""
    if marker.startswith(("new:", "typing:")) or not assistant.valid_session_id(marker):
        return None
    return None if marker in ctx.claimed else marker


def _say(log: Optional[Log], message: str) -> None:
    """One line on stderr (tmux-resurrect shows a hook's output) and in the log."""
    sys.stderr.write(f"assistant-resurrect: {message}\n")
    if log is not None:
        log(message)


def refuse_untrusted(rdir: Path) -> bool:
    """Save never writes sessions (IDs, paths, captured env) into a resurrect dir
    other users can write: they could read or replace what restore later types.
    One stderr line, nothing written there (not even a log)."""
    reason = store.check_dir(rdir)
    if reason is None:
        return False
    _say(
        None,
        f"{reason}: not saving assistant sessions there (make it yours and private: "
        "chmod 700, or set @resurrect-dir to a private directory)",
    )
    return True


def carried_waiting(
    tmux: Tmux, panes: list[Pane], sessions: list[SavedSession], log: Log
) -> list[SavedSession]:
    """Resumes restore left waiting for a client (attached mode) that still wait:
    their panes run no assistant yet because nothing was typed, so without this
    a save now (continuum's interval, a boot service with nobody attached) would
    drop them and the next restore would lose them. For each waiting entry of
    this very server whose pane still exists and shows no assistant, the saved
    session, at the pane's address as it is now."""
    try:
        names = os.listdir(paths.state_dir_path())
    except OSError:
        return []
    if not any(n.startswith("pending-") and n.endswith(".json") for n in names):
        return []  # the usual case: no import of pending, no tmux call
    from assistant_resurrect import pending

    try:
        server = pending.Server.of(tmux)
        waiting = pending.waiting_of(server, log)
    except AgentError as exc:
        log(f"resumes waiting for a client not checked: {exc}")
        return []
    by_id = {p.pane_id: p for p in panes}
    busy = {s.pane for s in sessions}
    ids = {s.session_id for s in sessions if s.session_id}
    out: list[SavedSession] = []
    for w in waiting.values():
        for pane_id, saved in w.entries:
            pane = by_id.get(pane_id)
            what = f"{saved.tool} session {saved.session_id} waiting for session {w.name!r}"
            if pane is None or pane.dead:
                log(f"{what}: its pane {pane_id} is gone; not saved")
                continue
            if pane.address in busy:
                continue  # an assistant runs there now: this save recorded it
            if saved.session_id in ids or pane.address in {s.pane for s in out}:
                log(f"{what}: already saved for another pane; not saved twice")
                continue
            entry = saved.to_json()
            entry.update(
                pane=pane.address,
                pane_id=pane.pane_id,
                session_name=pane.session_name,
                window_index=pane.window_index,
                pane_index=pane.pane_index,
            )
            try:
                carried = SavedSession.load(entry)
            except InvalidEntry as exc:
                log(f"{what}: not saved ({exc})")
                continue
            log(
                f"{pane.address}: {what} since {w.since or '?'} (nothing typed yet); saved "
                "from the waiting list"
            )
            out.append(carried)
    return out


def server_pid() -> Optional[int]:
    """The pid of the tmux server named in $TMUX (the hook's), or None."""
    inside = served.inside_server()
    return None if inside is None else int(inside[1])


def save(tmux: Tmux, layout_arg: Optional[str]) -> int:
    # The process table is read, and every tmux server's panes searched, while
    # tmux prints the pane listing (the hook started it before importing this
    # module): the /proc reads no longer wait for tmux. A pane that appears
    # between the two has no process in the snapshot and is not searched, like
    # one created after the listing.
    snap = procs.snapshot()
    detect.prefetch(snap)
    detect.warm(snap, server_pid())
    panes = tmux.list_panes()
    if layout_arg:
        layout = Path(layout_arg)
        rdir = layout.parent
    else:
        rdir = tmux.settings.resurrect_dir
        layout = store.last_layout(rdir) or rdir / (
            store.LAYOUT_PREFIX + time.strftime("%Y%m%dT%H%M%S") + store.LAYOUT_SUFFIX
        )
    try:
        os.makedirs(rdir, exist_ok=True)
    except OSError as exc:
        _say(None, f"cannot create the resurrect dir {rdir}: {exc.strerror}; nothing saved")
        return 1
    if refuse_untrusted(rdir):
        return 1
    log = Log(rdir / "assistant-save.log")
    if not layout_arg:
        store.last_layout(rdir, log)  # logs a `last` that leads outside rdir
    sessions = collect(tmux, panes, log, snap)
    sessions += carried_waiting(tmux, panes, sessions, log)
    doc = {
        "version": store.VERSION,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "layout": layout.name,
        "sessions": [s.to_json() for s in sessions],
    }
    try:
        path = store.write(rdir, layout, doc)
    except (AgentError, OSError) as exc:
        why = str(exc) if isinstance(exc, AgentError) else exc.strerror or str(exc)
        kept = store.sidecars(rdir)
        _say(
            log,
            f"cannot write {store.sidecar_for(layout).name} ({why}); nothing written, "
            + (
                f"the sidecars there are kept as they were (newest: {kept[-1].name})"
                if kept
                else "no earlier sidecar exists"
            )
            + f"; {len(sessions)} assistant session(s) not saved this time",
        )
        return 1
    with_id = sum(1 for s in sessions if s.session_id)
    log(f"saved {len(sessions)} assistant session(s), {with_id} with an ID, to {path.name}")
    return 0


def save_finish(tmux: Tmux) -> int:
    tmux.list_panes()
    settings = tmux.settings
    rdir = settings.resurrect_dir
    if not rdir.is_dir():
        return 0
    if refuse_untrusted(rdir):
        return 1
    log = Log(rdir / "assistant-save.log")
    try:
        store.finish(rdir, log)
    except (AgentError, OSError) as exc:
        why = str(exc) if isinstance(exc, AgentError) else exc.strerror or str(exc)
        _say(log, f"save-finish stopped ({why}); sidecars are left as they are")
        return 1
    if settings.get("@resurrect-capture-pane-contents") == "on":
        strip_pane_contents(rdir, log)
    from assistant_resurrect import events

    events.ensure(tmux, log)
    return 0


def strip_pane_contents(rdir: Path, log: Log) -> None:
    """Remove assistant panes from pane_contents.tar.gz so that restore does not
    show their stale screens before the assistant is resumed."""
    archive = rdir / "pane_contents.tar.gz"
    layout = store.last_layout(rdir, log)
    if not archive.is_file() or layout is None:
        return
    sidecar = store.sidecar_for(layout)
    try:
        doc = store.read(sidecar)
    except Exception as exc:
        log(f"pane contents left as they are: {exc}")
        return
    drop = {
        f"pane-{s['pane']}"
        for s in doc.get("sessions", [])
        if isinstance(s, dict) and isinstance(s.get("pane"), str) and s["pane"]
    }
    if not drop:
        return
    import gzip
    import io
    import tarfile

    from assistant_resurrect.fileio import atomic_write

    out = io.BytesIO()
    removed = 0
    try:
        with tarfile.open(archive, "r:gz") as src, tarfile.open(fileobj=out, mode="w") as dst:
            for member in src.getmembers():
                if os.path.basename(member.name) in drop:
                    removed += 1
                    continue
                data = src.extractfile(member) if member.isfile() else None
                dst.addfile(member, data)
    except (OSError, tarfile.TarError, EOFError) as exc:
        log(f"pane contents archive unreadable ({exc}); left as it is")
        return
    if removed:
        try:
            atomic_write(archive, gzip.compress(out.getvalue()), mode=0o644)
        except OSError as exc:
            log(f"pane contents left as they are: cannot write {archive.name} ({exc.strerror})")
            return
        log(f"removed {removed} assistant pane(s) from {archive.name}")
