"""The sentinel's side of a served save (served.py has the hook's side and
the protocol).

The sentinel listens on `<state dir>/served/save-<server pid>.sock` (mode
0600, in a 0700 folder of the user's private state dir) and, between its
polls and while an event save of its own runs, answers each request by doing
the save in its own process, where every module the save needs is already
imported. It serves only a
client of its own uid, of the same agent build and environment, for its own
tmux server; it answers `NO <reason>` to anything else (the hook then saves
by itself), and never lets a request stop it.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import select
import socket
import stat
import sys

from assistant_resurrect import served

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

    from assistant_resurrect.log import Log

MAX_REQUEST = 1 << 20
OTHER_BUILD = "another build of the agent asked"
READ_TIMEOUT = 2.0  # a client sends its request at once


def own_env() -> dict[bytes, bytes]:
    return {k: v for k, v in os.environb.items() if os.fsdecode(k) not in served.IGNORED_ENV}


def refusal(fields: list[bytes], socket_path: str, server_pid: str) -> Optional[str]:
    """Why this request is not served here, or None."""
    if len(fields) < 6 or fields[0] != served.MAGIC:
        return "not a save request of this agent"
    from assistant_resurrect import __version__

    version, package, _cwd, layout, tmux = fields[1:6]
    if version.decode(errors="replace") != __version__:
        return f"{OTHER_BUILD}: {version.decode(errors='replace')}, this is {__version__}"
    if os.fsdecode(package) != served.package_dir():
        return f"{OTHER_BUILD} (installed at {os.fsdecode(package)})"
    parts = os.fsdecode(tmux).split(",")
    if len(parts) < 2 or parts[0] != socket_path or parts[1] != server_pid:
        return "a save for another tmux server"
    if layout and not os.path.isabs(os.fsdecode(layout)):
        return "a relative layout path"
    env: dict[bytes, bytes] = {}
    for entry in fields[6:]:
        key, sep, value = entry.partition(b"=")
        if sep and os.fsdecode(key) not in served.IGNORED_ENV:
            env[key] = value
    mine = own_env()
    if env != mine:
        names = sorted(os.fsdecode(k) for k in set(env) ^ set(mine))
        names += sorted(os.fsdecode(k) for k in set(env) & set(mine) if env[k] != mine[k])
        return "another environment (" + ", ".join(names[:5]) + ")"
    return None


class SaveServer:
    """The listening socket of one sentinel."""

    def __init__(self, state: str, socket_path: str, server_pid: str, log: Log) -> None:
        self.socket_path = socket_path
        self.server_pid = server_pid
        self.log = log
        self.refused: set[str] = set()
        self.served = 0
        # Another build of the agent asked (the role installed a new one): this
        # sentinel should make way for one of that build (save-finish starts it).
        self.outdated = False
        self.name = served.socket_name(server_pid)
        folder = os.path.join(state, served.SOCKET_DIR)
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
        if not served.private_dir(folder):
            raise PermissionError(f"{folder} is not a private folder of this user")
        self.dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._unlink_stale()
            old = os.umask(0o177)
            try:
                self.sock.bind(served.dir_path(self.dir_fd, self.name))
            finally:
                os.umask(old)
            self.sock.listen(16)
            self.sock.setblocking(False)
        except OSError:
            self.sock.close()
            os.close(self.dir_fd)
            raise

    def _unlink_stale(self) -> None:
        """A socket left by an earlier sentinel of this server PID (this one
        holds the server's lock: no other sentinel listens there now)."""
        try:
            st = os.lstat(self.name, dir_fd=self.dir_fd)
        except FileNotFoundError:
            return
        if stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid():
            os.unlink(self.name, dir_fd=self.dir_fd)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.name, dir_fd=self.dir_fd)
        self.sock.close()
        os.close(self.dir_fd)

    def wait(self, timeout: float) -> None:
        """Sleep up to `timeout` seconds, serving the saves asked meanwhile."""
        try:
            ready, _, _ = select.select([self.sock], [], [], timeout)
        except (OSError, ValueError):
            return
        while ready:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.log(f"served saves: accept failed ({exc.strerror}); not serving any more")
                ready = []
                return
            with conn:
                try:
                    self.serve(conn)
                except Exception as exc:  # the client saves by itself; this sentinel goes on
                    self.log(f"served save failed: {exc!r}")

    def serve(self, conn: socket.socket) -> None:
        conn.setblocking(True)
        if served.peer_uid(conn) != os.getuid():
            return  # another user: not even an answer
        conn.settimeout(READ_TIMEOUT)
        data = bytearray()
        while len(data) <= MAX_REQUEST:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        fields = bytes(data).split(b"\0")
        why = refusal(fields, self.socket_path, self.server_pid)
        if why is not None and why.startswith(OTHER_BUILD):
            self.outdated = True
        if why is not None:
            if why not in self.refused:
                self.refused.add(why)
                self.log(f"save not served: {why}; the hook saves by itself")
            conn.sendall(f"NO {why}\n".encode())
            return
        layout = os.fsdecode(fields[4]) or None
        # no cyclic collection while the hook waits (as in the hook itself); after
        gc.disable()
        try:
            code, text = self.save(layout)
            conn.sendall(f"OK {code}\n".encode() + text.encode(errors="replace"))
        finally:
            gc.enable()
        self.served += 1
        if self.served == 1:
            self.log(f"served save {self.served}: exit code {code}")

    def save(self, layout: Optional[str]) -> tuple[int, str]:
        """The save, as the hook would do it: its exit code and stderr text."""
        from assistant_resurrect.errors import AgentError
        from assistant_resurrect.save import save
        from assistant_resurrect.tmux import SAVE_FIELDS, Tmux

        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                tmux = Tmux(socket_path=self.socket_path)
                tmux.prefetch_panes(SAVE_FIELDS)
                code = save(tmux, layout)
            except AgentError as exc:  # as cli.main reports it
                err.write(f"assistant-resurrect: {exc}\n")
                code = exc.exit_code
        return code, err.getvalue()


def start(state: str, socket_path: str, server_pid: str, log: Log) -> Optional[SaveServer]:
    """The sentinel's save server, or None (logged) where it cannot listen."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return SaveServer(state, socket_path, server_pid, log)
    except OSError as exc:
        why = exc.strerror or str(exc)
        log(f"saves are not served: cannot listen ({why}); each hook saves by itself")
        return None
