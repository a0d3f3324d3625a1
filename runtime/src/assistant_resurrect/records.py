"""A base for small record classes, without the cost of importing `dataclasses`.

Subclasses list their fields, in order, in `_fields` (and `__slots__ = _fields`)
and write `__init__`; they get the `repr` and field-wise `==` a dataclass
would give them.
"""

from __future__ import annotations


class Record:
    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq


class Proc(Record):
    """One process of a snapshot."""

    _fields = ("pid", "ppid", "comm", "start", "tpgid", "uid")
    __slots__ = _fields

    def __init__(
        self, pid: int, ppid: int, comm: str, start: float, tpgid: int = -1, uid: int = -1
    ) -> None:
        self.pid = pid
        self.ppid = ppid
        self.comm = comm
        self.start = start  # seconds since the epoch (same figure as psutil's create_time)
        self.tpgid = tpgid  # foreground process group of its terminal, -1 unknown
        # Its real uid, -1 until asked: the backends read it on demand
        # (Snapshot.uid), for the few processes detection looks at.
        self.uid = uid
