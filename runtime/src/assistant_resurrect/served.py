"""A save served by the sentinel: the save hook's fast path (Linux).

The post-save-layout hook (`assistant-resurrect save LAYOUT`, run by
tmux-resurrect inside the tmux server, $TMUX set, no -L/-S) spends about a
third of its time starting Python and importing the agent. The sentinel of
that server (sentinel.py) has all of it imported already. So, before
importing anything else, the hook asks it over a Unix socket in the user's
state dir (`served/save-<server pid>.sock`: in a folder of its own, so that
the socket coming and going never changes the state dir's mtime, which the
sentinel watches) to do this very save, waits for it, and prints what it
printed, with its exit code.

Nothing is trusted that another user could set up: the state dir must be the
user's own and writable by nobody else (paths.check_state_dir's rule), and
so must its `served` folder; the
process listening must run as the user (SO_PEERCRED), and it must answer in
the protocol below. The sentinel, for its part, serves only a client of the
same uid, the same agent build (version and package folder) and the same
environment (saves read $HOME, $XDG_DATA_HOME and the tools' variables), for
its own tmux server. Anything else, any error and no answer within
REPLY_TIMEOUT, and the hook saves by itself as before: a served save is only
ever a faster way to the same sidecar.

Protocol: the request is NUL-separated fields (MAGIC, version, package
folder, cwd, layout or empty, $TMUX, then the environment's NAME=VALUE
entries), ended by the client's shutdown of its writing side. The reply is
one line `OK <exit code>` followed by what the save wrote on stderr, or
`NO <reason>` (the client then saves itself).

This module imports only os and sys (and _socket when it is used): it runs
before the rest of the agent is imported.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

MAGIC = b"assistant-resurrect-save/1"
SOCKET_DIR = "served"  # in the state dir
STATE_DIR_ENV = "TMUX_ASSISTANT_RESURRECT_DIR"
# A served save takes ~25 ms; the sentinel answers between two of its polls.
REPLY_TIMEOUT = 10.0
MAX_REPLY = 1 << 20
# Variables that differ between the sentinel and a hook without changing what a
# save reads: what bash sets for a child, the pane of a hook started from one,
# and the state dir the sentinel was started with (the socket is in that dir:
# reaching it proves the same one).
IGNORED_ENV = frozenset(
    ("_", "SHLVL", "PWD", "OLDPWD", "TMUX_PANE", STATE_DIR_ENV, "COLUMNS", "LINES")
)


def state_dir_location() -> str:
    """$TMUX_ASSISTANT_RESURRECT_DIR, else $XDG_RUNTIME_DIR/assistant-resurrect,
    else ${TMPDIR:-/tmp}/assistant-resurrect-<uid> (paths.state_dir_path)."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return explicit
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "assistant-resurrect")
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", f"assistant-resurrect-{os.getuid()}")


def socket_name(server_pid: str) -> str:
    return f"save-{server_pid}.sock"


def inside_server() -> Optional[tuple[str, str]]:
    """(socket path, pid) of the tmux server named by $TMUX, or None."""
    parts = os.environ.get("TMUX", "").split(",")
    if len(parts) < 2 or not parts[0] or not parts[1].isdigit():
        return None
    return parts[0], parts[1]


def private_dir(path: str) -> bool:
    """Whether `path` is a real directory of this user that nobody else can write."""
    import stat

    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(st.st_mode)
        and st.st_uid == os.getuid()
        and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def dir_path(dir_fd: int, name: str) -> str:
    """`name` in the folder open as `dir_fd`, short whatever the folder's path
    (a Unix socket's path is limited to ~107 bytes)."""
    return f"/proc/self/fd/{dir_fd}/{name}"


def peer_uid(sock: object) -> int:
    """The uid of the process at the other end of a connected Unix socket."""
    import _socket

    cred = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)  # type: ignore[attr-defined]
    return int.from_bytes(cred[4:8], sys.byteorder)  # struct ucred: pid, uid, gid


def package_dir() -> str:
    import assistant_resurrect

    return os.path.dirname(os.path.abspath(assistant_resurrect.__file__))


def request(layout: Optional[str], tmux: str) -> bytes:
    from assistant_resurrect import __version__

    fields = [
        MAGIC,
        __version__.encode(),
        os.fsencode(package_dir()),
        os.fsencode(os.getcwd()),
        os.fsencode(layout or ""),
        os.fsencode(tmux),
    ]
    fields += [k + b"=" + v for k, v in os.environb.items()]
    return b"\0".join(fields)


def try_save(layout: Optional[str]) -> Optional[int]:
    """The exit code of this save done by the sentinel (its stderr copied to
    ours), or None: the caller saves by itself."""
    if not sys.platform.startswith("linux"):
        return None  # SO_PEERCRED and /proc/self/fd: Linux
    server = inside_server()
    if server is None:
        return None
    state = state_dir_location()
    folder = os.path.join(state, SOCKET_DIR)
    if not private_dir(state) or not private_dir(folder):
        return None
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    sock = None
    try:
        import _socket

        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(REPLY_TIMEOUT)
        sock.connect(dir_path(dir_fd, socket_name(server[1])))
        if peer_uid(sock) != os.getuid():
            return None
        sock.sendall(request(layout, os.environ.get("TMUX", "")))
        sock.shutdown(_socket.SHUT_WR)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_REPLY:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, ValueError):  # no sentinel, a stale socket, no answer in time
        return None
    finally:
        if sock is not None:
            sock.close()
        os.close(dir_fd)
    return answer(b"".join(chunks))


def answer(reply: bytes) -> Optional[int]:
    """The exit code an `OK` reply carries (its stderr text written to ours), or None."""
    head, _, text = reply.partition(b"\n")
    word, _, code = head.partition(b" ")
    if word != b"OK" or not code.isdigit():
        return None
    if text:
        sys.stderr.write(text.decode(errors="replace"))
    return int(code)
