"""Where things live: tmux-resurrect's directory and our per-user state directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from assistant_resurrect.errors import StateDirError
from assistant_resurrect.served import STATE_DIR_ENV, state_dir_location

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional


def home() -> str:
    return os.environ.get("HOME") or os.path.expanduser("~")


def expand_resurrect_dir(value: str) -> str:
    """Expand `@resurrect-dir` exactly like tmux-resurrect's sed: $HOME, $HOSTNAME, ~."""
    h = home()
    value = value.replace("$HOME", h)
    if "$HOSTNAME" in value:
        import socket  # 2 ms to import; the save hook rarely needs it

        value = value.replace("$HOSTNAME", socket.gethostname())
    return value.replace("~", h)


def resurrect_dir(option_value: Optional[str]) -> Path:
    """tmux-resurrect's directory: `@resurrect-dir`; else ~/.tmux/resurrect when it
    exists; else ${XDG_DATA_HOME:-~/.local/share}/tmux/resurrect when that exists
    (tmux-resurrect after v4.0.0 saves there when ~/.tmux/resurrect is missing);
    else ~/.tmux/resurrect, the folder the pinned tmux-resurrect v4.0.0 always
    uses (its save.sh creates it at the first save)."""
    if option_value:
        return Path(expand_resurrect_dir(option_value))
    legacy = Path(home()) / ".tmux" / "resurrect"
    if legacy.is_dir():
        return legacy
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(home(), ".local", "share")
    xdg = Path(data_home) / "tmux" / "resurrect"
    if xdg.is_dir():
        return xdg
    return legacy


def state_dir_path() -> Path:
    """$TMUX_ASSISTANT_RESURRECT_DIR, else $XDG_RUNTIME_DIR/assistant-resurrect,
    else ${TMPDIR:-/tmp}/assistant-resurrect-<uid> (the rule is in served.py:
    the save hook's fast path finds the dir before pathlib is imported)."""
    return Path(state_dir_location())


def check_state_dir(path: Path) -> None:
    """Refuse a state dir that another user could tamper with."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise StateDirError(
            f"state dir {path} is a symlink; remove it (or set {STATE_DIR_ENV} "
            "to a private directory) and run again"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise StateDirError(f"state dir {path} exists but is not a directory; remove it")
    if st.st_uid != os.getuid():
        raise StateDirError(
            f"state dir {path} is owned by uid {st.st_uid}, not by you (uid {os.getuid()}); "
            f"remove it or set {STATE_DIR_ENV} to a directory of your own"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise StateDirError(
            f"state dir {path} is writable by group or others (mode "
            f"{stat.S_IMODE(st.st_mode):04o}); run 'chmod 700 {path}'"
        )


def state_dir(create: bool = False) -> Path:
    """The checked state directory; created 0700 when `create` is set."""
    path = state_dir_path()
    check_state_dir(path)
    if create and not path.exists():
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise StateDirError(f"cannot create state dir {path}: {exc.strerror}") from None
        check_state_dir(path)
    return path
