"""Every call to the tmux CLI.

Every listing and option read goes through tmuxfmt's formats: they parse
the same whether tmux escapes non-printable bytes (3.4, 3.5) or prints them
raw (3.1-3.3, 3.6+), and no user data (a cwd or session name holding `|`,
backslashes, tabs, newlines, control bytes or unicode) can be taken for a
separator.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from assistant_resurrect import tmuxfmt
from assistant_resurrect.errors import TmuxError
from assistant_resurrect.records import Record
from assistant_resurrect.settings import OPTIONS, Settings
from assistant_resurrect.spawn import Started, finish, start, which

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

# The tmux releases CI runs the integration and hostile suites against (Debian's
# 3.1c, 3.3a, 3.5a and 3.7c): `doctor` warns outside this range.
TESTED_TMUX = ((3, 1), (3, 7))

# Global options are read with the pane listing, in one call (one tmux client).

PANE_FIELDS = (
    "session_name",
    "window_index",
    "pane_index",
    "pane_id",
    "pane_pid",
    "pane_current_command",
    "pane_current_path",
    "session_id",
    "pane_dead",
    "@assistant-resurrect-restored",
    "pane_in_mode",
    "pane_synchronized",
    "pane_active",
    "window_active",
    "session_attached",
    "@assistant-resurrect-prompt",
)

# What a save reads of each pane: not the foreground command nor its cwd, which
# tmux finds per pane in /proc (restore's guards and the planner read them).
_RESTORE_ONLY = ("pane_current_command", "pane_current_path")
SAVE_FIELDS = tuple(f for f in PANE_FIELDS if f not in _RESTORE_ONLY)

# tmux's limit on one command it is sent: a client's message holds at most 16 KiB
# (MAX_IMSGSIZE), all arguments together. Measured for `send-keys -t %0 -l -- TEXT`
# on 3.1c, 3.3a and 3.5a: 16341 bytes of TEXT go through, one more byte and the
# client fails ("command too long" / "failed to send command"). Lines longer
# than this bound are refused before anything is typed (it leaves room for long
# pane IDs and the other arguments).
MAX_TYPED_BYTES = 16000

# The cursor's row and what a reader of the screen needs to cut it at the cursor.
CURSOR_FIELDS = ("cursor_x", "cursor_y", "pane_width", "history_size", "pane_in_mode")

# Places tmux is found when the hook runs with a minimal PATH (systemd, launchd).
FALLBACK_DIRS = ("/usr/local/bin", "/opt/homebrew/bin", "/usr/bin", "/bin", "/snap/bin")


class CursorRows(Record):
    """The screen up to the cursor's row (`Tmux.cursor_rows`)."""

    _fields = ("rows", "cursor_x", "width", "row_number", "in_mode")
    __slots__ = _fields

    def __init__(
        self, rows: list[str], cursor_x: int, width: int, row_number: int, in_mode: bool
    ) -> None:
        self.rows = rows  # the last one is the cursor's row
        self.cursor_x = cursor_x
        self.width = width
        self.row_number = row_number  # the cursor's row counted from the top of the history
        self.in_mode = in_mode


class Pane(Record):
    _fields = (
        "session_name",
        "window_index",
        "pane_index",
        "pane_id",
        "pane_pid",
        "current_command",
        "current_path",
        "session_id",
        "dead",
        "restored_marker",
        "in_mode",
        "synchronized",
        "keys_reach",
        "saved_prompt",
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
        session_id: str,
        dead: bool,
        restored_marker: str,
        in_mode: bool = False,
        synchronized: bool = False,
        keys_reach: bool = False,
        saved_prompt: str = "",
    ) -> None:
        self.session_name = session_name
        self.window_index = window_index
        self.pane_index = pane_index
        self.pane_id = pane_id
        self.pane_pid = pane_pid
        self.current_command = current_command
        self.current_path = current_path
        self.session_id = session_id  # $N: survives a rename
        self.dead = dead
        self.restored_marker = restored_marker
        self.in_mode = in_mode  # copy or view mode: keys go to the mode, not the shell
        self.synchronized = synchronized  # synchronize-panes: keys reach every pane
        # A client shows this pane's window with it active: the user's keys reach it.
        self.keys_reach = keys_reach
        # Its line as restore saw it while no client showed it (typist.remember_prompts).
        self.saved_prompt = saved_prompt

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
        self._options_read = False
        self._prefetched: Optional[Started] = None
        self._prefetched_fields: tuple[str, ...] = PANE_FIELDS

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
        # -u: the client is UTF-8 whatever the locale (a hook started by systemd
        # has no LANG, and tmux would print every non-ASCII byte as '_').
        try:
            return start([self.exe, "-u", *self.socket_args, *args])
        except OSError as exc:
            raise TmuxError(f"cannot run {self.exe}: {exc.strerror or exc}") from None

    def _result_bytes(self, started: Started, args: Sequence[str], check: bool) -> bytes:
        code, out, err = finish(started)
        if code != 0 and check:
            msg = err.decode("utf-8", "replace").strip() or f"exit status {code}"
            if "no server running" in msg or "error connecting" in msg:
                raise TmuxError(f"no tmux server is running ({msg}); start tmux first")
            raise TmuxError(f"tmux {args[0]} failed: {msg}")
        return out

    def _result(self, started: Started, args: Sequence[str], check: bool) -> str:
        return self._result_bytes(started, args, check).decode("utf-8", "surrogateescape")

    @staticmethod
    def _list_args(fields: tuple[str, ...]) -> list[str]:
        opt_fmt = tmuxfmt.record_format(OPTIONS)
        pane_fmt = tmuxfmt.record_format(fields)
        return ["display-message", "-p", opt_fmt, ";", "list-panes", "-a", "-F", pane_fmt]

    def prefetch_panes(self, fields: tuple[str, ...] = PANE_FIELDS) -> None:
        """Start the tmux call of the next `list_panes` now, so that tmux answers
        while this process imports the rest (the save hook's start-up). `fields`:
        what that listing asks of each pane (SAVE_FIELDS: only what a save reads;
        later listings ask for every field again)."""
        self._prefetched_fields = fields
        self._prefetched = self._start(self._list_args(fields))

    def list_panes(self) -> list[Pane]:
        """All panes of the server, and (in self.options) the global options above.

        One tmux client runs `display-message` (the options, once) then
        `list-panes`: the options are not expanded again for every pane.
        """
        fields = self._prefetched_fields if self._prefetched else PANE_FIELDS
        started = self._prefetched or self._start(self._list_args(fields))
        self._prefetched = None
        try:
            out = self._result_bytes(started, ("display-message",), True)
        except TmuxError:
            # No session to show the options from (a server kept alive by
            # exit-empty off), or no server: the listing alone says which.
            return self._list_panes_with_options(fields)
        records = tmuxfmt.parse(out)
        if not records or len(records[0]) != len(OPTIONS):
            raise TmuxError("tmux display-message answered in an unexpected format")
        self.options = dict(zip(OPTIONS, records[0]))
        self._options_read = True
        return self._panes(records[1:], fields)

    def _list_panes_with_options(self, fields: tuple[str, ...] = PANE_FIELDS) -> list[Pane]:
        every = (*fields, *OPTIONS)
        records = self.query(["list-panes", "-a", "-F"], every)
        for values in records:
            if len(values) == len(every):
                self.options = dict(zip(OPTIONS, values[len(fields) :]))
        self._options_read = True
        return self._panes(records, fields, len(every))

    @property
    def settings(self) -> Settings:
        """The options as one object (read now unless a pane listing read them)."""
        if not self._options_read:
            try:
                self.options = self.options_of(OPTIONS)
                self._options_read = True
            except TmuxError:
                self.list_panes()  # no session to expand a format in: read per pane
        return Settings(self.options)

    @staticmethod
    def _panes(
        records: list[list[str]], fields: tuple[str, ...], width: Optional[int] = None
    ) -> list[Pane]:
        """Panes from records of `fields` (PANE_FIELDS, or SAVE_FIELDS: the
        foreground command and cwd then read ""), `width` values each (more
        than the fields when options follow them)."""
        at = {name: i for i, name in enumerate(fields)}
        command, path = at.get("pane_current_command"), at.get("pane_current_path")
        nvalues = len(fields) if width is None else width
        panes: list[Pane] = []
        for values in records:
            if len(values) != nvalues:
                raise TmuxError("tmux list-panes answered in an unexpected format")
            v = [values[at[name]] for name in SAVE_FIELDS]
            panes.append(
                Pane(
                    session_name=v[0],
                    window_index=v[1],
                    pane_index=v[2],
                    pane_id=v[3],
                    pane_pid=int(v[4] or 0),
                    current_command="" if command is None else values[command],
                    current_path="" if path is None else values[path],
                    session_id=v[5],
                    dead=v[6] == "1",
                    restored_marker=v[7],
                    in_mode=v[8] not in ("", "0"),
                    synchronized=v[9] not in ("", "0"),
                    keys_reach=v[10] == "1" and v[11] == "1" and v[12] not in ("", "0"),
                    saved_prompt=v[13],
                )
            )
        return panes

    def query(
        self, args: Sequence[str], fields: Sequence[str], check: bool = True
    ) -> list[list[str]]:
        """Run `tmux ARGS FORMAT` for a format of `fields` (see tmuxfmt): one list of
        values per record tmux printed, each exactly as tmux holds it."""
        full = (*args, tmuxfmt.record_format(tuple(fields)))
        return tmuxfmt.parse(self._result_bytes(self._start(full), full, check))

    def option(self, name: str) -> str:
        """A global option's value ('' when unset)."""
        try:
            return self.options_of([name])[name]
        except TmuxError:
            # No session to expand a format in: the option's raw value (what
            # tmux 3.4/3.5 print escaped; only a value with control bytes differs).
            return self.run("show-options", "-gqv", name, check=False).rstrip("\n")

    def options_of(self, names: Sequence[str], target: Optional[str] = None) -> dict[str, str]:
        """Several user options in one tmux call ('' for unset ones), as seen from
        `target` (a pane, e.g. $TMUX_PANE) or the current client."""
        args = ["display-message", "-p"]
        if target:
            args += ["-t", target]
        records = self.query(args, names)
        if len(records) != 1 or len(records[0]) != len(names):
            raise TmuxError("tmux display-message answered in an unexpected format")
        return dict(zip(names, records[0]))

    def send_literal(self, pane_id: str, text: str) -> None:
        # tmux reads an argument that ends in ';' as a command separator and
        # drops the ';'. Typed commands end in a validated session ID; refuse
        # anything else rather than type a different line.
        if text.endswith(";"):
            raise TmuxError("refusing to type a line ending in ';' (tmux would cut it)")
        self.run("send-keys", "-t", pane_id, "-l", "--", text)

    def send_enter(self, pane_id: str) -> None:
        self.run("send-keys", "-t", pane_id, "Enter")

    def send_key(self, pane_id: str, key: str) -> None:
        """One key by tmux's name for it (`C-u`, `Escape`)."""
        self.run("send-keys", "-t", pane_id, key)

    def unset_pane_option(self, pane_id: str, name: str) -> None:
        self.run("set-option", "-p", "-u", "-t", pane_id, name)

    def cursor_rows(self, pane_id: str, back: int = 0) -> CursorRows:
        """The rows of the pane from `back` rows of history above the screen down
        to the cursor's row, each as wide as the pane (trailing blanks kept, no
        joining), and where the cursor is: one tmux client."""
        fmt = tmuxfmt.record_format(CURSOR_FIELDS)
        start = f"-{back}" if back > 0 else "0"
        out = self._result_bytes(
            self._start(
                (
                    "display-message",
                    "-p",
                    "-t",
                    pane_id,
                    fmt,
                    ";",
                    "capture-pane",
                    "-p",
                    "-N",
                    "-t",
                    pane_id,
                    "-S",
                    start,
                    "-E",
                    "-",
                )
            ),
            ("capture-pane",),
            True,
        )
        head, sep, body = out.partition(tmuxfmt.END.encode() + b"\n")
        values = tmuxfmt.parse(head + sep)
        if not sep or len(values) != 1 or len(values[0]) != len(CURSOR_FIELDS):
            raise TmuxError("tmux display-message answered in an unexpected format")
        cx, cy, width, history, mode = (int(v or 0) for v in values[0])
        rows = body.decode("utf-8", "surrogateescape").split("\n")
        if rows and rows[-1] == "":
            rows.pop()
        above = min(back, history)
        return CursorRows(rows[: above + cy + 1], cx, width, history + cy, mode != 0)

    def set_pane_option(self, pane_id: str, name: str, value: str) -> None:
        self.run("set-option", "-p", "-t", pane_id, name, value)

    def capture(self, pane_id: str) -> str:
        return self.run("capture-pane", "-p", "-t", pane_id)

    def screen_lines(self, pane_id: str) -> list[str]:
        """The pane's screen as logical lines: wrapped rows joined (-J), trailing
        blanks dropped, so a typed line reads whole whatever the pane's width."""
        rows = self.run("capture-pane", "-p", "-J", "-t", pane_id).split("\n")
        lines = [row.rstrip() for row in rows]
        while lines and not lines[-1]:
            lines.pop()
        return lines
