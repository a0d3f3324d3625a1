"""`save` (post-save-layout) and `save-finish` (post-save-all)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from assistant_resurrect import detect, paths, procs, store
from assistant_resurrect.assistants.base import Context, Found
from assistant_resurrect.log import Log
from assistant_resurrect.session import SavedSession
from assistant_resurrect.tmux import Pane, Tmux

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional


def collect(tmux: Tmux, panes: list[Pane], log: Log) -> list[SavedSession]:
    """A pane listing (from `tmux.list_panes()`, which also read the options) and
    one process snapshot -> the sessions to save."""
    snap = procs.snapshot()
    ctx = Context(snap=snap, log=log, home=paths.home())
    wanted, refused = tmux.settings.capture_env()
    if refused:
        log(
            "not capturing " + ", ".join(refused) + " (invalid names or names that look like "
            "secrets; set @assistant-resurrect-capture-secret-env on to allow the latter)"
        )
    found: list[tuple[Pane, detect.Detected, Found]] = []
    for pane in panes:
        if pane.dead or not pane.pane_pid:
            continue
        det = detect.in_pane(pane.pane_pid, snap)
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
        if arg_id:
            ctx.claimed.setdefault(arg_id, det.pid)

    # The latest-started assistant first: it can own only what was created after
    # it started, so fallback strategies (databases, transcripts) pick for it
    # before an older process in the same directory could take its session.
    ids: dict[int, tuple[Optional[str], Optional[str]]] = {}
    for pane, det, f in sorted(found, key=lambda item: -item[2].start):
        sid, source = det.assistant.find_session_id(ctx, f)
        ids[det.pid] = (sid, source)
        if sid:
            ctx.claimed[sid] = det.pid
        else:
            log(f"{det.assistant.name} in {pane.address} (pid {det.pid}): no session ID found")

    sessions: list[SavedSession] = []
    for pane, det, f in found:
        a = det.assistant
        sid, source = ids[det.pid]
        env: dict[str, str] = {}
        if wanted:
            penv = snap.environ(det.pid)
            env = {n: penv[n] for n in wanted if n in penv}
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


def save(tmux: Tmux, layout_arg: Optional[str]) -> int:
    panes = tmux.list_panes()
    if layout_arg:
        layout = Path(layout_arg)
        rdir = layout.parent
    else:
        rdir = tmux.settings.resurrect_dir
        layout = store.last_layout(rdir) or rdir / (
            store.LAYOUT_PREFIX + time.strftime("%Y%m%dT%H%M%S") + store.LAYOUT_SUFFIX
        )
    os.makedirs(rdir, exist_ok=True)
    log = Log(rdir / "assistant-save.log")
    sessions = collect(tmux, panes, log)
    doc = {
        "version": store.VERSION,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "layout": layout.name,
        "sessions": [s.to_json() for s in sessions],
    }
    path = store.write(rdir, layout, doc)
    with_id = sum(1 for s in sessions if s.session_id)
    log(f"saved {len(sessions)} assistant session(s), {with_id} with an ID, to {path.name}")
    return 0


def save_finish(tmux: Tmux) -> int:
    tmux.list_panes()
    settings = tmux.settings
    rdir = settings.resurrect_dir
    if not rdir.is_dir():
        return 0
    log = Log(rdir / "assistant-save.log")
    store.finish(rdir, log)
    if settings.get("@resurrect-capture-pane-contents") == "on":
        strip_pane_contents(rdir, log)
    return 0


def strip_pane_contents(rdir: Path, log: Log) -> None:
    """Remove assistant panes from pane_contents.tar.gz so that restore does not
    show their stale screens before the assistant is resumed."""
    archive = rdir / "pane_contents.tar.gz"
    layout = store.last_layout(rdir)
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
        atomic_write(archive, gzip.compress(out.getvalue()), mode=0o644)
        log(f"removed {removed} assistant pane(s) from {archive.name}")
