"""Every call to the tmux CLI.

Pane listings use a format whose separators carry a random nonce made for
each call, so no user data (a cwd or session name containing `|`, tabs,
newlines or unicode) can be taken for a separator.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from assistant_resurrect.errors import TmuxError
from assistant_resurrect.records import Record
from assistant_resurrect.spawn import Started, finish, start, which

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

# Global options read with the pane listing, in one call (one tmux client).
OPTIONS = (
    "@resurrect-dir",
    "@resurrect-capture-pane-contents",
    "@resurrect-processes",
    "@continuum-save-interval",
    "@assistant-resurrect-capture-env",
    "@assistant-resurrect-capture-secret-env",
    "@assistant-resurrect-shells",
    "@assistant-resurrect-start",
)

PANE_FIELDS = (
    "session_name",
    "window_index",
    "pane_index",
    "pane_id",
    "pane_pid",
    "pane_current_command",
    "pane_current_path",
    "session_attached",
    "pane_dead",
    "@assistant-resurrect-restored",
)

# Places tmux is found when the hook runs with a minimal PATH (systemd, launchd).
FALLBACK_DIRS = ("/usr/local/bin", "/opt/homebrew/bin", "/usr/bin", "/bin", "/snap/bin")


class Pane(Record):
    _fields = (
        "session_name",
        "window_index",
        "pane_index",
        "pane_id",
        "pane_pid",
        "current_command",
        "current_path",
        "session_attached",
        "dead",
        "restored_marker",
    )
    __slots__ = _fields

    def __init__(
        self,
        session_name: str,
        window_index: str,
        pane_index: str,
        pane_id: str,
        pane_pid: int,
        current_command: str,
        current_path: str,
        session_attached: bool,
        dead: bool,
        restored_marker: str,
    ) -> None:
        self.session_name = session_name
        self.window_index = window_index
        self.pane_index = pane_index
        self.pane_id = pane_id
        self.pane_pid = pane_pid
        self.current_command = current_command
        self.current_path = current_path
        self.session_attached = session_attached
        self.dead = dead
        self.restored_marker = restored_marker

    @property
    def address(self) -> str:
        return f"{self.session_name}:{self.window_index}.{self.pane_index}"


def server_exe() -> Optional[str]:
    """The binary of the tmux server named in $TMUX (Linux), set in every pane and
    every hook tmux runs. When that file was replaced by an upgrade, the running
    image itself (/proc/PID/exe): only it surely speaks that server's protocol."""
    server = os.environ.get("TMUX", "").split(",")
    if len(server) < 2 or not server[1].isdigit():
        return None
    link = f"/proc/{server[1]}/exe"
    try:
        exe = os.readlink(link)
    except OSError:
        return None
    if "tmux" not in os.path.basename(exe):
        return None  # not a tmux server (a stale $TMUX, a reused PID)
    if exe.endswith(" (deleted)"):
        return link if os.access(link, os.X_OK) else None
    return exe if os.access(exe, os.X_OK) else None


def find_tmux() -> Optional[str]:
    """$TMUX_ASSISTANT_RESURRECT_TMUX; else the binary of the server named in $TMUX;
    else tmux on PATH; else common places. Hooks run by a tmux server started by
    systemd or launchd get PATH=/usr/bin:/bin and no shell profile."""
    env = os.environ.get("TMUX_ASSISTANT_RESURRECT_TMUX")
    if env:
        return env
    found = server_exe() or which("tmux")
    if found:
        return found
    home = os.environ.get("HOME", "")
    extra = [*FALLBACK_DIRS, os.path.join(home, ".nix-profile", "bin")]
    return which("tmux", os.pathsep.join(extra))


class Tmux:
    """A tmux server, chosen by socket name (-L), socket path (-S) or $TMUX."""

    def __init__(self, socket_name: Optional[str] = None, socket_path: Optional[str] = None):
        self.socket_args: list[str] = []
        if socket_path:
            self.socket_args = ["-S", socket_path]
        elif socket_name:
            self.socket_args = ["-L", socket_name]
        self._exe: Optional[str] = None
        self.options: dict[str, str] = {}
        self._prefetched: Optional[tuple[str, Started]] = None

    @property
    def exe(self) -> str:
        if self._exe is None:
            found = find_tmux()
            if not found:
                raise TmuxError(
                    "tmux not found: not named by $TMUX, not on PATH, not in /usr/local/bin, "
                    "/opt/homebrew/bin, /usr/bin, /bin; install tmux or set "
                    "TMUX_ASSISTANT_RESURRECT_TMUX to its path"
                )
            self._exe = found
        return self._exe

    def run(self, *args: str, check: bool = True) -> str:
        return self._result(self._start(args), args, check)

    def _start(self, args: Sequence[str]) -> Started:
        try:
            return start([self.exe, *self.socket_args, *args])
        except OSError as exc:
            raise TmuxError(f"cannot run {self.exe}: {exc.strerror or exc}") from None

    def _result(self, started: Started, args: Sequence[str], check: bool) -> str:
        code, out, err = finish(started)
        if code != 0 and check:
            msg = err.decode("utf-8", "replace").strip() or f"exit status {code}"
            if "no server running" in msg or "error connecting" in msg:
                raise TmuxError(f"no tmux server is running ({msg}); start tmux first")
            raise TmuxError(f"tmux {args[0]} failed: {msg}")
        return out.decode("utf-8", "surrogateescape")

    @staticmethod
    def _list_args(nonce: str) -> list[str]:
        sep = f"\x1f{nonce}\x1e"
        end = f"\x1f{nonce}\x1d"  # tmux adds a newline after each record
        opt_end = f"\x1f{nonce}\x1c"
        pane_fmt = sep.join("#{" + f + "}" for f in PANE_FIELDS) + end
        opt_fmt = sep.join("#{" + o + "}" for o in OPTIONS) + opt_end
        return ["display-message", "-p", opt_fmt, ";", "list-panes", "-a", "-F", pane_fmt]

    def prefetch_panes(self) -> None:
        """Start the tmux call `list_panes` makes now, so that tmux answers while
        this process imports the rest (the save hook's start-up)."""
        nonce = os.urandom(9).hex()
        self._prefetched = (nonce, self._start(self._list_args(nonce)))

    def list_panes(self) -> list[Pane]:
        """All panes of the server, and (in self.options) the global options above.

        One tmux client runs `display-message` (the options, once) then
        `list-panes`: the options are not expanded again for every pane.
        """
        if self._prefetched is not None:
            nonce, started = self._prefetched
            self._prefetched = None
        else:
            nonce = os.urandom(9).hex()
            started = self._start(self._list_args(nonce))
        sep = f"\x1f{nonce}\x1e"
        end = f"\x1f{nonce}\x1d"
        opt_end = f"\x1f{nonce}\x1c"
        try:
            out = self._result(started, ("display-message",), True)
        except TmuxError:
            # No session to show the options from (a server kept alive by
            # exit-empty off), or no server: the listing alone says which.
            return self._list_panes_with_options(sep, end)
        head, found, rest = out.partition(opt_end + "\n")
        opts = head.split(sep)
        if not found or len(opts) != len(OPTIONS):
            raise TmuxError("tmux display-message answered in an unexpected format")
        self.options = dict(zip(OPTIONS, opts))
        return self._parse_panes(rest, sep, end, len(PANE_FIELDS))

    def _list_panes_with_options(self, sep: str, end: str) -> list[Pane]:
        fields = [*PANE_FIELDS, *OPTIONS]
        fmt = sep.join("#{" + f + "}" for f in fields) + end
        out = self.run("list-panes", "-a", "-F", fmt)
        for record in out.split(end + "\n"):
            values = record.split(sep)
            if len(values) == len(fields):
                self.options = dict(zip(OPTIONS, values[len(PANE_FIELDS) :]))
        return self._parse_panes(out, sep, end, len(fields))

    @staticmethod
    def _parse_panes(out: str, sep: str, end: str, nfields: int) -> list[Pane]:
        panes: list[Pane] = []
        for record in out.split(end + "\n"):
            if not record:
                continue
            values = record.split(sep)
            if len(values) != nfields:
                raise TmuxError("tmux list-panes answered in an unexpected format")
            panes.append(
                Pane(
                    session_name=values[0],
                    window_index=values[1],
                    pane_index=values[2],
                    pane_id=values[3],
                    pane_pid=int(values[4] or 0),
                    current_command=values[5],
                    current_path=values[6],
                    session_attached=values[7] not in ("", "0"),
                    dead=values[8] == "1",
                    restored_marker=values[9],
                )
            )
        return panes

    def option(self, name: str) -> str:
        """A global option's value ('' when unset)."""
        return self.run("show-options", "-gqv", name, check=False).rstrip("\n")

    def options_of(self, names: Sequence[str], target: Optional[str] = None) -> dict[str, str]:
        """Several user options in one tmux call ('' for unset ones), as seen from
        `target` (a pane, e.g. $TMUX_PANE) or the current client."""
        nonce = os.urandom(9).hex()
        sep = f"\x1f{nonce}\x1e"
        fmt = sep.join("#{" + n + "}" for n in names)
        args = ["display-message", "-p"]
        if target:
            args += ["-t", target]
        values = self.run(*args, fmt).rstrip("\n").split(sep)
        if len(values) != len(names):
            raise TmuxError("tmux display-message answered in an unexpected format")
        return dict(zip(names, values))

    def send_literal(self, pane_id: str, text: str) -> None:
        # tmux reads an argument that ends in ';' as a command separator and
        # drops the ';'. Typed commands end in a validated session ID; refuse
        # anything else rather than type a different line.
        if text.endswith(";"):
            raise TmuxError("refusing to type a line ending in ';' (tmux would cut it)")
        self.run("send-keys", "-t", pane_id, "-l", "--", text)

    def send_enter(self, pane_id: str) -> None:
        self.run("send-keys", "-t", pane_id, "Enter")

    def set_pane_option(self, pane_id: str, name: str, value: str) -> None:
        self.run("set-option", "-p", "-t", pane_id, name, value)

    def capture(self, pane_id: str) -> str:
        return self.run("capture-pane", "-p", "-t", pane_id)

    def command(self, args: Sequence[str], check: bool = True) -> str:
        return self.run(*args, check=check)
