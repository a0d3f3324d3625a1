"""One saved assistant session: the record every part of the agent shares.

`save` makes them, `store` writes and reads them (sidecar `sessions[]`),
`restore` plans from them, `status` shows them, and `pending` keeps them while
they wait for a client. `SavedSession.load` is the only place a saved entry's
shape is checked: an entry that does not validate raises `InvalidEntry` naming
the field, and is skipped (logged) by whoever loads it. The JSON form is
documented in the README (sidecar format, version 1).
"""

from __future__ import annotations

from assistant_resurrect.records import Record

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Any, Optional


class InvalidEntry(ValueError):
    """A saved entry whose shape is wrong; the message names the field."""

    def __init__(self, address: str, message: str) -> None:
        super().__init__(message)
        self.address = address


def _str(value: object) -> bool:
    return isinstance(value, str)


def _opt_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def _opt_int(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _opt_number(value: object) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


class SavedSession(Record):
    _fields = (
        "pane",
        "pane_id",
        "session_name",
        "window_index",
        "pane_index",
        "tool",
        "session_id",
        "id_source",
        "cwd",
        "pid",
        "started_at",
        "program",
        "model",
        "cli_args",
        "env",
    )
    __slots__ = _fields

    def __init__(
        self,
        pane: str,
        tool: str,
        session_id: Optional[str] = None,
        *,
        pane_id: Optional[str] = None,
        session_name: Optional[str] = None,
        window_index: Optional[str] = None,
        pane_index: Optional[str] = None,
        id_source: Optional[str] = None,
        cwd: Optional[str] = None,
        pid: Optional[int] = None,
        started_at: Optional[float] = None,
        program: Optional[str] = None,
        model: Optional[str] = None,
        cli_args: Optional[list[str]] = None,
        env: Optional[dict[str, str]] = None,
    ) -> None:
        self.pane = pane
        self.pane_id = pane_id
        self.session_name = session_name
        self.window_index = window_index
        self.pane_index = pane_index
        self.tool = tool
        self.session_id = session_id
        self.id_source = id_source
        self.cwd = cwd
        self.pid = pid
        self.started_at = started_at
        self.program = program
        self.model = model
        self.cli_args: list[str] = cli_args or []
        self.env: dict[str, str] = env or {}

    @property
    def address(self) -> str:
        return self.pane or "?"

    @property
    def fresh(self) -> bool:
        """Saved with no conversation yet: restored as a new session of the tool."""
        return not self.session_id and self.id_source == "fresh"

    @property
    def restore_key(self) -> str:
        """What marks the pane restored: the session ID, or for a fresh start the
        saved process (`new:<pid>`)."""
        return self.session_id or f"new:{self.pid}"

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    @classmethod
    def load(cls, obj: object) -> SavedSession:
        """A sidecar (or waiting-file) entry as a record; InvalidEntry names the
        first field that is not of its documented type. Unknown keys are ignored
        (a newer agent may add some)."""
        if not isinstance(obj, dict):
            raise InvalidEntry("?", "a sidecar entry is not an object")
        address = obj.get("pane")
        shown = address if isinstance(address, str) and address else "?"

        def bad(message: str) -> InvalidEntry:
            return InvalidEntry(shown, message)

        if not isinstance(address, str) or not address:
            raise bad("its saved pane is not a pane address")
        tool = obj.get("tool")
        if not _str(tool):
            raise bad(f"its saved tool {tool!r} is not a string")
        sid = obj.get("session_id")
        if sid is not None and not isinstance(sid, str):
            raise bad(f"its saved session_id {sid!r} is not a string")
        cli_args = obj.get("cli_args")
        if cli_args is None:
            cli_args = []
        if not isinstance(cli_args, list) or not all(isinstance(a, str) for a in cli_args):
            raise bad("its saved cli_args are not a list of strings")
        env = obj.get("env")
        if env is None:
            env = {}
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise bad("its saved env is not an object of strings")
        for name in (
            "cwd",
            "program",
            "model",
            "pane_id",
            "session_name",
            "window_index",
            "pane_index",
            "id_source",
        ):
            if not _opt_str(obj.get(name)):
                raise bad(f"its saved {name} is not a string")
        if not _opt_int(obj.get("pid")):
            raise bad("its saved pid is not a number")
        if not _opt_number(obj.get("started_at")):
            raise bad("its saved started_at is not a number")
        return cls(
            address,
            str(tool),
            sid or None,
            pane_id=obj.get("pane_id"),
            session_name=obj.get("session_name"),
            window_index=obj.get("window_index"),
            pane_index=obj.get("pane_index"),
            id_source=obj.get("id_source"),
            cwd=obj.get("cwd"),
            pid=obj.get("pid"),
            started_at=obj.get("started_at"),
            program=obj.get("program"),
            model=obj.get("model"),
            cli_args=list(cli_args),
            env=dict(env),
        )
