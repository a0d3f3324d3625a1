"""What restore may trust on disk: the checks sudo makes, for our files.

A file or directory is trusted by the user `uid` (the tmux server's user, who
runs this agent) when nobody else can change what it holds or where it leads:

- it is owned by `uid` (programs and the directories above anything: `uid` or root);
- it is not writable by others, nor by its group unless that group is `uid`'s
  own private group (the user-private-group scheme of Debian and Ubuntu, where
  umask 002 makes files group-writable but the group holds the user alone);
- every directory above it passes the same test, except that a directory with
  the sticky bit (like /tmp) may be writable by others: they can add entries
  there but cannot rename or replace ours.

Each check returns None when the path is trusted, else the reason, one line.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

_PRIVATE_GROUPS: dict[tuple[int, int], bool] = {}


def private_group(gid: int, uid: int) -> bool:
    """Is `gid` the primary group of `uid` with no other member? (root's group 0 is
    private to root.)"""
    key = (gid, uid)
    if key not in _PRIVATE_GROUPS:
        import grp
        import pwd

        try:
            user = pwd.getpwuid(uid)
            group = grp.getgrgid(gid)
        except KeyError:
            ok = False
        else:
            ok = user.pw_gid == gid and all(m == user.pw_name for m in group.gr_mem)
            if ok:  # another account whose primary group it is also shares it
                ok = not any(p.pw_gid == gid and p.pw_uid != uid for p in pwd.getpwall())
        _PRIVATE_GROUPS[key] = ok
    return _PRIVATE_GROUPS[key]


def writable_by_others(st: os.stat_result, uid: int) -> Optional[str]:
    """Who besides `uid` (and root) can write it, or None."""
    mode = st.st_mode
    if mode & stat.S_IWOTH:
        return f"writable by everyone (mode {stat.S_IMODE(mode):04o})"
    if mode & stat.S_IWGRP and not private_group(st.st_gid, uid):
        return f"writable by group {st.st_gid} (mode {stat.S_IMODE(mode):04o})"
    return None


def _owner_reason(st: os.stat_result, uid: int, allow_root: bool) -> Optional[str]:
    if st.st_uid == uid or (allow_root and st.st_uid == 0):
        return None
    who = "you or root" if allow_root and uid != 0 else "you"
    return f"owned by uid {st.st_uid}, not by {who} (uid {uid})"


def check_parents(path: str, uid: int) -> Optional[str]:
    """Every directory above the absolute, resolved `path`: owned by `uid` or root,
    and not writable by others unless sticky."""
    parent = os.path.dirname(path)
    while True:
        try:
            st = os.stat(parent)
        except OSError as exc:
            return f"{parent} cannot be read ({exc.strerror})"
        reason = _owner_reason(st, uid, allow_root=True)
        if reason is None and not st.st_mode & stat.S_ISVTX:
            reason = writable_by_others(st, uid)
        if reason is not None:
            return f"its folder {parent} is {reason}"
        if parent == os.path.dirname(parent):
            return None
        parent = os.path.dirname(parent)


def check_dir(path: str, uid: Optional[int] = None, what: str = "directory") -> Optional[str]:
    """A directory of ours (the resurrect dir, the state dir): owned by `uid`, not
    writable by others, under trusted folders. A symlink to such a directory is
    followed when the link itself is `uid`'s (or root's) in a trusted folder."""
    uid = os.getuid() if uid is None else uid
    path = os.path.abspath(path)
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        return f"{what} {path} does not exist"
    except OSError as exc:
        return f"{what} {path} cannot be read ({exc.strerror})"
    if stat.S_ISLNK(lst.st_mode):
        reason = _owner_reason(lst, uid, allow_root=True) or check_parents(path, uid)
        if reason is not None:
            return f"{what} {path} is a symlink that is {reason}"
        path = os.path.realpath(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"{what} {path} cannot be read ({exc.strerror})"
    if not stat.S_ISDIR(st.st_mode):
        return f"{what} {path} is not a directory"
    reason = _owner_reason(st, uid, allow_root=False) or writable_by_others(st, uid)
    if reason is None:
        reason = check_parents(path, uid)
    return None if reason is None else f"{what} {path} is {reason}"


def check_file(path: str, uid: Optional[int] = None, what: str = "file") -> Optional[str]:
    """A data file of ours (a sidecar): a regular file, not a symlink, owned by
    `uid`, not writable by others. (Its directory is checked by check_dir.)"""
    uid = os.getuid() if uid is None else uid
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return f"{what} {path} does not exist"
    except OSError as exc:
        return f"{what} {path} cannot be read ({exc.strerror})"
    if stat.S_ISLNK(st.st_mode):
        return f"{what} {path} is a symlink"
    if not stat.S_ISREG(st.st_mode):
        return f"{what} {path} is not a regular file"
    reason = _owner_reason(st, uid, allow_root=False) or writable_by_others(st, uid)
    return None if reason is None else f"{what} {path} is {reason}"


def check_program(path: str, uid: Optional[int] = None) -> Optional[str]:
    """A program restore may run as `uid`: an absolute path whose link (if any) and
    resolved file are owned by `uid` or root, not writable by others, in
    folders that pass check_parents (as sudo requires of what it runs)."""
    uid = os.getuid() if uid is None else uid
    if not os.path.isabs(path):
        return f"program {path!r} is not an absolute path"
    try:
        lst = os.lstat(path)
    except OSError as exc:
        return f"program {path} cannot be found ({exc.strerror})"
    if stat.S_ISLNK(lst.st_mode):
        reason = check_parents(path, uid)
        if reason is not None:
            return f"program {path}: {reason}"
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError as exc:
        return f"program {path} cannot be found ({exc.strerror})"
    if not stat.S_ISREG(st.st_mode):
        return f"program {real} is not a regular file"
    reason = _owner_reason(st, uid, allow_root=True) or writable_by_others(st, uid)
    if reason is None:
        reason = check_parents(real, uid)
        if reason is not None:
            return f"program {real}: {reason}"
        return None
    return f"program {real} is {reason}"


def which(name: str, path_value: Optional[str]) -> Optional[str]:
    """The first executable `name` on `path_value` (a PATH string), or None."""
    for folder in (path_value or "").split(os.pathsep):
        if not folder or not os.path.isabs(folder):
            continue  # an empty or relative PATH entry means the cwd: never trusted
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None
