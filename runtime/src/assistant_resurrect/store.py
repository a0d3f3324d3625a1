"""The sidecar: which assistant ran in which pane, one file per resurrect layout.

`tmux_resurrect_<ts>.txt` (tmux-resurrect's layout) gets
`assistant_resurrect_<ts>.json` beside it. The format is versioned
(`"version": 1`) and documented in the README. The upstream bash plugin's
`assistant-sessions.json` is still read (never written).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from assistant_resurrect.errors import SidecarError
from assistant_resurrect.fileio import atomic_write, locked

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Optional

if TYPE_CHECKING:
    from assistant_resurrect.log import Log

VERSION = 1
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


def last_layout(rdir: Path) -> Optional[Path]:
    """The layout tmux-resurrect's `last` link points to."""
    try:
        target = os.readlink(rdir / "last")
    except OSError:
        return None
    path = Path(target)
    return path if path.is_absolute() else rdir / path


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
    return json.dumps(doc, indent=2, ensure_ascii=True).encode("ascii") + b"\n"


def write(rdir: Path, layout: Path, doc: dict[str, Any]) -> Path:
    """Write the sidecar of `layout` atomically, under the directory's lock."""
    os.makedirs(rdir, exist_ok=True)
    path = sidecar_for(layout)
    with locked(rdir / LOCK_NAME):
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


def read(path: Path) -> dict[str, Any]:
    """A sidecar, validated; legacy files are converted. SidecarError otherwise."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SidecarError(f"sidecar {path} does not exist") from None
    except OSError as exc:
        raise SidecarError(f"cannot read sidecar {path}: {exc.strerror}") from None
    if not raw.strip():
        raise SidecarError(
            f"sidecar {path} is empty; no pane was touched. Remove it to restore from an "
            "older save, or save again"
        )
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


def for_restore(rdir: Path, layout: Optional[Path], log: Log) -> tuple[Optional[Path], dict]:
    """The sidecar matching the restored layout (default: `last`), else the legacy
    file. (None, empty doc) when nothing was saved."""
    layout = layout or last_layout(rdir)
    if layout is not None:
        newer = pending_for(rdir, layout)
        if newer:
            return newer[-1], read(newer[-1])
        exact = sidecar_for(layout)
        if exact.exists():
            return exact, read(exact)
        log(f"no assistant sidecar for layout {layout.name}")
    legacy = rdir / LEGACY_NAME
    if legacy.is_file() and not legacy.is_symlink():
        log(f"using the upstream bash plugin's {legacy}")
        return legacy, read(legacy)
    return None, {"version": VERSION, "sessions": []}


def finish(rdir: Path, log: Log) -> None:
    """After a whole save: move a dropped save's sidecar onto the layout it
    equals (never replacing saved sessions with an empty list), then prune
    sidecars whose layout tmux-resurrect has deleted."""
    with locked(rdir / LOCK_NAME):
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
