"""The sidecar: which assistant ran in which pane, one file per resurrect layout.

`tmux_resurrect_<ts>.txt` (tmux-resurrect's layout) gets
`assistant_resurrect_<ts>.json` beside it. The format is versioned
(`"version": 1`) and documented in the README. The upstream bash plugin's
`assistant-sessions.json` is still read (never written).

What restore reads must be the user's own (trust.py, the checks sudo makes):
the resurrect dir owned by the user and writable by nobody else, each sidecar
a regular file of the user's that nobody else can write, and `last` a layout
inside that dir. A sidecar that is missing, empty, unreadable or untrusted is
replaced by the newest good older one (logged); a corrupt or newer-format one
stops the restore.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from assistant_resurrect import trust
from assistant_resurrect.errors import SidecarError, SidecarUnusable
from assistant_resurrect.fileio import (
    LOCK_TIMEOUT,
    NotRegularFile,
    atomic_write,
    locked,
    read_regular,
)

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

    Log = Callable[[str], None]  # a log.Log, or any sink of one-line messages

VERSION = 1
# Held by restore while it types (typist.py); event saves wait for it (sentinel.py).
RESTORE_LOCK = ".assistant-resurrect-restore.lock"
LAYOUT_PREFIX = "tmux_resurrect_"
LAYOUT_SUFFIX = ".txt"
SIDECAR_PREFIX = "assistant_resurrect_"
SIDECAR_SUFFIX = ".json"
LEGACY_NAME = "assistant-sessions.json"
LOCK_NAME = ".assistant-resurrect.lock"


def stamp_of_layout(layout: Path) -> str:
    name = layout.name
    if name.startswith(LAYOUT_PREFIX) and name.endswith(LAYOUT_SUFFIX):
        return name[len(LAYOUT_PREFIX) : -len(LAYOUT_SUFFIX)]
    return name


def sidecar_for(layout: Path) -> Path:
    return layout.with_name(f"{SIDECAR_PREFIX}{stamp_of_layout(layout)}{SIDECAR_SUFFIX}")


def layout_for(sidecar: Path) -> Path:
    stamp = sidecar.name[len(SIDECAR_PREFIX) : -len(SIDECAR_SUFFIX)]
    return sidecar.with_name(f"{LAYOUT_PREFIX}{stamp}{LAYOUT_SUFFIX}")


def is_layout_name(name: str) -> bool:
    return name.startswith(LAYOUT_PREFIX) and name.endswith(LAYOUT_SUFFIX)


def last_layout(rdir: Path, log: Optional[Log] = None) -> Optional[Path]:
    """The layout tmux-resurrect's `last` link points to: a layout file name in
    rdir itself. A link leading anywhere else (`../../other/...`, a file not
    named like a layout) is ignored, with a log line."""
    link = rdir / "last"
    try:
        target = os.readlink(link)
    except OSError:
        return None
    path = Path(target) if os.path.isabs(target) else rdir / target
    reason = None
    if not is_layout_name(path.name):
        reason = "not a tmux-resurrect layout file name"
    elif os.path.realpath(path.parent) != os.path.realpath(rdir):
        reason = "outside the resurrect dir"
    if reason is not None:
        if log is not None:
            log(f"ignoring {link}: it points to {target!r}, {reason}")
        return None
    return rdir / path.name


def _named(rdir: Path, prefix: str, suffix: str) -> list[Path]:
    """Files of rdir named prefix...suffix, sorted (oldest stamp first)."""
    try:
        names = os.listdir(rdir)
    except OSError:
        return []
    return sorted(rdir / n for n in names if n.startswith(prefix) and n.endswith(suffix))


def sidecars(rdir: Path) -> list[Path]:
    """Every versioned sidecar in rdir, oldest first."""
    return _named(rdir, SIDECAR_PREFIX, SIDECAR_SUFFIX)


def layouts(rdir: Path) -> list[Path]:
    """Every tmux-resurrect layout file in rdir, oldest first."""
    return _named(rdir, LAYOUT_PREFIX, LAYOUT_SUFFIX)


def encode(doc: dict[str, Any]) -> bytes:
    """The sidecar's bytes: ASCII JSON, one top-level key per line and one
    session per line. Written with json's C encoder (no `indent`, which
    falls back to the pure-Python one: ~8 ms of a 100-session save)."""
    dumps = json.dumps
    lines = []
    for key, value in doc.items():
        if isinstance(value, list) and value:
            rows = ",\n".join("    " + dumps(v, ensure_ascii=True) for v in value)
            lines.append(f"  {dumps(key)}: [\n{rows}\n  ]")
        else:
            lines.append(f"  {dumps(key)}: {dumps(value, ensure_ascii=True)}")
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode("ascii")


def write(rdir: Path, layout: Path, doc: dict[str, Any]) -> Path:
    """Write the sidecar of `layout` atomically, under the directory's lock (a
    bounded wait: LockTimeout). A failed write (OSError: ENOSPC, EROFS, EACCES)
    leaves every sidecar as it was and no partial file."""
    os.makedirs(rdir, exist_ok=True)
    path = sidecar_for(layout)
    with locked(rdir / LOCK_NAME, LOCK_TIMEOUT):
        atomic_write(path, encode(doc))
        remove_stale_temps(rdir)
    return path


def remove_stale_temps(rdir: Path) -> None:
    """Temp files of sidecar writes that were killed before their rename. Every
    sidecar write holds the lock, so under it no such file is in use."""
    try:
        names = os.listdir(rdir)
    except OSError:
        return
    for name in names:
        if name.startswith("." + SIDECAR_PREFIX) and name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                os.unlink(rdir / name)


def check_dir(directory: Path) -> Optional[str]:
    """Why the resurrect dir is not trusted (trust.check_dir), or None."""
    return trust.check_dir(str(directory), what="resurrect dir")


def read_raw(path: Path) -> bytes:
    """The bytes of a sidecar the user can trust: a regular file (never a FIFO
    or a symlink; opened without blocking), owned by the user, writable by
    nobody else. SidecarUnusable otherwise."""
    uid = os.getuid()
    reason = trust.check_file(str(path), uid, what="sidecar")
    if reason is not None:
        if not os.path.lexists(path):
            raise SidecarUnusable(f"sidecar {path} does not exist")
        raise SidecarUnusable(f"{reason}; not trusted, not read")
    try:
        raw, st = read_regular(path)
    except NotRegularFile as exc:
        raise SidecarUnusable(f"sidecar {exc}; not read") from None
    except FileNotFoundError:
        raise SidecarUnusable(f"sidecar {path} does not exist") from None
    except OSError as exc:
        raise SidecarUnusable(f"cannot read sidecar {path}: {exc.strerror}") from None
    # Checked again on what was opened: the path may have been swapped meanwhile.
    if st.st_uid != uid or trust.writable_by_others(st, uid) is not None:
        raise SidecarUnusable(f"sidecar {path} changed owner or mode while read; not trusted")
    return raw


def read(path: Path) -> dict[str, Any]:
    """A trusted sidecar (read_raw), validated; legacy files are converted.
    SidecarUnusable when missing, empty, unreadable or untrusted; SidecarError
    when corrupt or of a newer format."""
    raw = read_raw(path)
    if not raw.strip():
        raise SidecarUnusable(f"sidecar {path} is empty")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise SidecarError(
            f"sidecar {path} is not valid JSON ({exc}); no pane was touched. Remove or fix it"
        ) from None
    if not isinstance(doc, dict):
        raise SidecarError(f"sidecar {path} is not a JSON object; no pane was touched")
    if path.name == LEGACY_NAME and "version" not in doc and isinstance(doc.get("sessions"), list):
        return from_legacy(doc)
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SidecarError(f'sidecar {path} has no valid "version"; no pane was touched')
    if version > VERSION:
        raise SidecarError(
            f"sidecar {path} has format version {version}, newer than this agent reads "
            f"({VERSION}); upgrade assistant-resurrect. No pane was touched"
        )
    if version < 1 or not isinstance(doc.get("sessions"), list):
        raise SidecarError(f'sidecar {path} has no "sessions" list; no pane was touched')
    return doc


def from_legacy(doc: dict[str, Any]) -> dict[str, Any]:
    """The upstream bash plugin's assistant-sessions.json, as a version 1 document."""
    import shlex

    sessions = []
    for old in doc.get("sessions", []):
        if not isinstance(old, dict):
            continue
        raw_args = old.get("cli_args") or ""
        try:
            cli_args = shlex.split(raw_args) if isinstance(raw_args, str) else list(raw_args)
        except ValueError:
            cli_args = None  # restore skips it with a reason
        env = {
            k: v
            for k, v in (old.get("env") or {}).items()
            if isinstance(k, str) and isinstance(v, str) and k not in ("tmux_pane", "shell")
        }
        pane = str(old.get("pane") or "")
        pid = old.get("pid")
        sessions.append(
            {
                "pane": pane,
                "pane_id": (old.get("env") or {}).get("tmux_pane"),
                "tool": old.get("tool"),
                "session_id": old.get("session_id") or None,
                "id_source": "legacy",
                "cwd": old.get("cwd"),
                "pid": int(str(pid)) if str(pid).isdigit() else None,
                "program": old.get("tool"),
                "model": old.get("model") or None,
                "cli_args": cli_args,
                "env": env,
            }
        )
    return {
        "version": VERSION,
        "timestamp": doc.get("timestamp"),
        "legacy": True,
        "sessions": sessions,
    }


def pending_for(rdir: Path, layout: Path) -> list[Path]:
    """Sidecars written for saves that tmux-resurrect dropped because their layout
    equalled `layout` (its file was removed and `last` kept pointing at `layout`):
    sidecars without a layout file, newer than `layout` and than every layout."""
    all_layouts = layouts(rdir)
    if all_layouts and all_layouts[-1] != layout:
        return []
    stamp = stamp_of_layout(layout)
    return [
        s
        for s in sidecars(rdir)
        if s.name[len(SIDECAR_PREFIX) : -len(SIDECAR_SUFFIX)] > stamp and not layout_for(s).exists()
    ]


def _stamp(sidecar: Path) -> str:
    return sidecar.name[len(SIDECAR_PREFIX) : -len(SIDECAR_SUFFIX)]


def for_restore(rdir: Path, layout: Optional[Path], log: Log) -> tuple[Optional[Path], dict]:
    """The sidecar matching the restored layout (default: `last`), else the newest
    good older one, else the legacy file. (None, empty doc) when nothing was
    saved. SidecarError (one line; nothing restored) when the directory is not
    trusted, or the wanted sidecar is corrupt or from a newer version."""
    empty: dict[str, Any] = {"version": VERSION, "sessions": []}
    directory = layout.parent if layout is not None else rdir
    if not os.path.lexists(directory):
        return None, empty
    reason = check_dir(directory)
    if reason is not None:
        raise SidecarError(
            f"{reason}: its sidecars are not trusted, nothing restored (make it yours "
            "and private: chmod 700, or set @resurrect-dir to a private directory)"
        )
    layout = layout or last_layout(rdir, log)
    if layout is not None:
        newer = pending_for(directory, layout)
        wanted = newer[-1] if newer else sidecar_for(layout)
        try:
            return wanted, deduplicate(read(wanted), wanted.name, log)
        except SidecarUnusable as exc:
            why = exc
        older = [s for s in sidecars(directory) if _stamp(s) < _stamp(wanted)]
        for path in reversed(older):
            try:
                doc = read(path)
            except SidecarError as exc:
                log(f"older sidecar {path.name} is not usable either: {exc}")
                continue
            saved_at = doc.get("timestamp") if isinstance(doc.get("timestamp"), str) else None
            what = f"is not usable ({why})" if os.path.lexists(wanted) else "is missing"
            log(
                f"sidecar for layout {layout.name} {what}; restoring from {path.name} "
                f"saved at {saved_at or _stamp(path)}"
            )
            return path, deduplicate(doc, path.name, log)
        if os.path.lexists(wanted):  # empty, unreadable or untrusted; nothing older
            raise SidecarError(
                f"{why}; no pane was touched. Remove it to restore from an older save, "
                "or save again"
            )
        log(f"no assistant sidecar for layout {layout.name}")
    legacy = directory / LEGACY_NAME
    if os.path.lexists(legacy):
        try:
            doc = read(legacy)
        except SidecarUnusable as exc:
            log(f"the upstream bash plugin's file not used: {exc}")
            return None, empty
        log(f"using the upstream bash plugin's {legacy}")
        return legacy, deduplicate(doc, legacy.name, log)
    return None, empty


def deduplicate(doc: dict[str, Any], name: str, log: Log) -> dict[str, Any]:
    """At most one entry per pane: of two valid entries for the same pane the one
    started later (`started_at`; when equal or unknown, the later in the file)
    is kept, and each drop is logged. Entries that do not validate stay (the
    planner skips each with its reason) and never displace a valid one."""
    from assistant_resurrect.session import InvalidEntry, SavedSession

    sessions = doc.get("sessions") or []
    keep: dict[str, tuple[int, SavedSession]] = {}  # pane -> the entry kept so far
    dropped: set[int] = set()

    def started(s: SavedSession) -> float:
        value = s.started_at
        return float(value) if value is not None and value == value else float("-inf")

    def label(s: SavedSession) -> str:
        text = f"{s.tool} session {s.session_id}" if s.session_id else f"{s.tool} (no ID)"
        return f"{text} started at {s.started_at}" if started(s) != float("-inf") else text

    for i, entry in enumerate(sessions):
        try:
            s = SavedSession.load(entry)
        except InvalidEntry:
            continue
        old = keep.get(s.pane)
        if old is None:
            keep[s.pane] = (i, s)
            continue
        if started(s) >= started(old[1]):
            why = "started later" if started(s) > started(old[1]) else "the later in the file"
            (winner, won), (loser, lost) = (i, s), old
        else:
            why = "started later"
            (winner, won), (loser, lost) = old, (i, s)
        keep[s.pane] = (winner, won)
        dropped.add(loser)
        log(
            f"{name}: two entries for pane {s.pane}: keeping {label(won)} ({why}), "
            f"dropping {label(lost)}"
        )
    if not dropped:
        return doc
    return {**doc, "sessions": [e for i, e in enumerate(sessions) if i not in dropped]}


def restore_source(rdir: Path) -> str:
    """One line for `status`: the sidecar a restore of `last` would use now and
    why (a fallback, a refusal), without writing anything."""
    notes: list[str] = []
    try:
        path, doc = for_restore(rdir, None, notes.append)
    except SidecarError as exc:
        return f"restore would stop: {exc}"
    if path is None:
        line = "restore would find no sidecar"
    else:
        line = f"restore would use {path.name} ({len(doc.get('sessions') or [])} saved session(s))"
    return line + "".join(f"; {n}" for n in notes)


def finish(rdir: Path, log: Log) -> None:
    """After a whole save: move a dropped save's sidecar onto the layout it
    equals (never replacing saved sessions with an empty list), then prune
    sidecars whose layout tmux-resurrect has deleted."""
    with locked(rdir / LOCK_NAME, LOCK_TIMEOUT):
        layout = last_layout(rdir)
        if layout is not None and layout.exists():
            target = sidecar_for(layout)
            for pending in pending_for(rdir, layout):
                try:
                    new = read(pending)
                except Exception as exc:
                    log(f"{pending.name}: {exc}; left in place")
                    continue
                keep_old = False
                if not new.get("sessions") and target.exists():
                    try:
                        keep_old = bool(read(target).get("sessions"))
                    except Exception:
                        keep_old = False
                if keep_old:
                    log(f"{pending.name} found no assistants; {target.name} kept as it was")
                    os.unlink(pending)
                else:
                    os.replace(pending, target)
        all_layouts = layouts(rdir)
        if not all_layouts:
            return
        newest = stamp_of_layout(all_layouts[-1])
        for s in sidecars(rdir):
            stamp = s.name[len(SIDECAR_PREFIX) : -len(SIDECAR_SUFFIX)]
            if stamp < newest and not layout_for(s).exists():
                log(f"pruned {s.name}: tmux-resurrect deleted its layout")
                os.unlink(s)
