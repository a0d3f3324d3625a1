"""tmuxfmt reads back every value exactly, whether tmux printed it raw (3.1-3.3,
3.6+) or escaped it (3.4, 3.5). The escaped form is made here by a model of what
tmux 3.4/3.5 do to command output (vis(3) with VIS_OCTAL|VIS_CSTYLE|VIS_NOSLASH
after letting complete UTF-8 characters through); the real servers are checked
in tests/integration/test_tmux_formats.py."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_resurrect import tmuxfmt

CSTYLE = {0x0A: b"\\n", 0x0D: b"\\r", 0x08: b"\\b", 0x07: b"\\a", 0x0B: b"\\v", 0x0C: b"\\f"}


def utf8_len(data: bytes, i: int) -> int:
    """Length of the complete UTF-8 character at data[i] (0 if there is none)."""
    for size in (2, 3, 4):
        try:
            data[i : i + size].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return size
    return 0


def vis_model(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c >= 0x80 and (n := utf8_len(data, i)):
            out += data[i : i + n]
            i += n
            continue
        if c == ord("$") and i + 1 < len(data) and chr(data[i + 1]).isalpha():
            out += b"\\$"
        elif 0x21 <= c <= 0x7E or c in (0x20, 0x09, 0x0A):  # visible, tab and newline
            out.append(c)
        elif c in CSTYLE:
            out += CSTYLE[c]
        else:
            out += b"\\%03o" % c
        i += 1
    return bytes(out)


def printed(records: list[list[bytes]], escape: bool) -> bytes:
    """What tmux prints for tmuxfmt.record_format: backslashes doubled by the
    format's s/// modifier, separators, a newline after each record."""
    text = b"".join(
        tmuxfmt.SEP.encode().join(v.replace(b"\\", b"\\\\") for v in rec)
        + tmuxfmt.END.encode()
        + b"\n"
        for rec in records
    )
    return vis_model(text) if escape else text


NASTY = [
    b"\\",
    b"a\\b",
    b"x\\|y",
    b"x\\.y",
    b"\\\\",
    b"\\012",
    b"\\n",
    b"$HOME",
    b"\\$HOME",
    b"${x}",
    b"tab\there",
    b"nl\nnl",
    b"\x01\x1f\x7f",
    b"\x1b[31m",
    b"\xff\xfe",
    "ü€😀".encode(),
    b"|",
    b"#{pane_id}",
    b"end\\",
    b"\\.\n",
    b"",
]


def expect(records: list[list[bytes]]) -> list[list[str]]:
    return [[v.decode("utf-8", "surrogateescape") for v in rec] for rec in records]


def test_nasty_values_read_back_from_raw_and_escaped_output() -> None:
    records = [NASTY, list(reversed(NASTY)), [b"%1", b"42"]]
    for escape in (False, True):
        assert tmuxfmt.parse(printed(records, escape)) == expect(records)


def test_plain_output_takes_the_fast_path_and_matches() -> None:
    records = [[b"work", b"0", b"/home/me/src"], [b"a b", b"1", b"/tmp"]]
    out = printed(records, False)
    assert b"\\\\" not in out
    assert tmuxfmt.parse(out) == expect(records)
    assert tmuxfmt._parse_escaped(out) == expect(records)


def test_an_escape_we_do_not_know_is_kept_as_it_came() -> None:
    assert tmuxfmt.parse(b"a\\qb\\.\n") == [["a\\qb"]]


def test_free_text_fields_are_wrapped_and_tmux_numbers_are_not() -> None:
    assert tmuxfmt.field("pane_pid") == "#{pane_pid}"
    assert tmuxfmt.field("pane_current_path") == "#{s/[\\]/\\\\\\\\/:pane_current_path}"
    assert tmuxfmt.record_format(["pane_id", "@x"]) == (
        "#{pane_id}" + tmuxfmt.SEP + "#{s/[\\]/\\\\\\\\/:@x}" + tmuxfmt.END
    )


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.lists(st.binary(max_size=40), min_size=1, max_size=6), min_size=1, max_size=5),
    st.booleans(),
)
def test_any_bytes_read_back_exactly(records: list[list[bytes]], escape: bool) -> None:
    records = [[v.replace(b"\x00", b"") for v in rec] for rec in records]  # C strings
    assert tmuxfmt.parse(printed(records, escape)) == expect(records)
