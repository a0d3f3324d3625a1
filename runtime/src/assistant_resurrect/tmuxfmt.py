"""Formats whose output parses the same on every tmux from 3.1 on.

tmux 3.4 and 3.5 pass everything a command prints through vis(3)
(`utf8_stravisx(..., VIS_OCTAL|VIS_CSTYLE|VIS_NOSLASH)` in server-client.c):
control bytes and invalid UTF-8 come out as `\\ooo` or `\\n`-style escapes, but a
backslash of the data comes out as itself. 3.1-3.3 and 3.6+ print the bytes
raw. So that one parser reads both, each free-text field is wrapped in
`#{s/[\\]/\\\\\\\\/:FIELD}`, which doubles every backslash of the data inside tmux
before printing. Afterwards every backslash in the output starts exactly one of:

  `\\\\`                  a backslash of the data
  `\\|`  `\\.`            our field separator, our end of record
  `\\ooo` `\\n` `\\t` ...  an escape tmux 3.4/3.5 made (decoded back to the byte)

Data can never produce a separator (its backslashes are all doubled), so no
nonce is needed, and a name or path holding any byte reads back exactly.
"""

from __future__ import annotations

SEP = "\\|"
END = "\\."
_SEP_B = SEP.encode()
_END_B = END.encode() + b"\n"  # tmux ends each printed line with a newline

# Fields tmux itself makes (numbers, IDs, flags): printed as they are.
PLAIN = frozenset(
    (
        "pane_id",
        "pane_pid",
        "pane_index",
        "pane_dead",
        "pane_in_mode",
        "pane_synchronized",
        "pane_active",
        "pane_width",
        "window_active",
        "cursor_x",
        "cursor_y",
        "history_size",
        "window_index",
        "session_id",
        "session_attached",
        "pid",
        "start_time",
        "version",
    )
)

_CSTYLE = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("b"): b"\b",
    ord("a"): b"\a",
    ord("v"): b"\v",
    ord("t"): b"\t",
    ord("f"): b"\f",
    ord("s"): b" ",
    ord("$"): b"$",
    ord("\\"): b"\\",
}
_OCTAL = b"01234567"


def field(name: str) -> str:
    """The format of one field (a format variable or an @option)."""
    if name in PLAIN:
        return "#{" + name + "}"
    return "#{s/[\\]/\\\\\\\\/:" + name + "}"


def record_format(names: tuple[str, ...] | list[str]) -> str:
    """One record: the fields, separated, with the end-of-record mark."""
    return SEP.join(field(n) for n in names) + END


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def parse(out: bytes) -> list[list[str]]:
    """Every record of `out` (as printed for `record_format`), each a list of fields."""
    if out.count(b"\\") == out.count(_SEP_B) + out.count(END.encode()):
        # Every backslash starts a separator: no data backslash, no escape.
        chunks = out.split(_END_B)
        if chunks and chunks[-1] in (b"", b"\n"):
            chunks.pop()
        return [[_text(v) for v in c.split(_SEP_B)] for c in chunks]
    return _parse_escaped(out)


def _parse_escaped(out: bytes) -> list[list[str]]:
    records: list[list[str]] = []
    fields: list[str] = []
    value = bytearray()
    pos = 0
    size = len(out)
    while True:
        hit = out.find(b"\\", pos)
        if hit < 0:
            value += out[pos:]
            break
        value += out[pos:hit]
        nxt = out[hit + 1] if hit + 1 < size else -1
        pos = hit + 2
        if nxt == 0x7C:  # | : next field
            fields.append(_text(bytes(value)))
            value.clear()
        elif nxt == 0x2E:  # . : end of record (and tmux's newline after it)
            fields.append(_text(bytes(value)))
            value.clear()
            records.append(fields)
            fields = []
            if out[pos : pos + 1] == b"\n":
                pos += 1
        elif nxt in _CSTYLE:
            value += _CSTYLE[nxt]
        elif nxt >= 0 and out[hit + 1 : hit + 4].strip(_OCTAL) == b"" and hit + 4 <= size:
            value.append(int(out[hit + 1 : hit + 4], 8) & 0xFF)
            pos = hit + 4
        elif nxt == 0x30:  # \0 (vis writes NUL this way)
            value.append(0)
        else:  # not an escape we know: keep it as it came
            value += out[hit:pos]
    if value.strip(b"\n") or fields:
        fields.append(_text(bytes(value).rstrip(b"\n")))
        records.append(fields)
    return records
