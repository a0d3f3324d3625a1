"""Hypothesis strategies for hostile input: shell metacharacters, control
characters, unicode, undecodable bytes, very long strings, and canaries.

A canary is a fragment that, if any shell ever ran it as code instead of
passing it as data, creates a file in CANARY_DIR. Tests check that
directory stays empty.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import strategies as st

# One directory per test process: every canary in every generated value runs
# the command `arcanary` (put on the panes' PATH by the `canary_bin` fixture),
# which creates a file here; "nothing was executed" is "this directory is
# empty". The canaries have no '/', so they fit in file names too.
CANARY_DIR = Path(tempfile.gettempdir()) / f"ar-hostile-canary-{os.getpid()}"
_C = "arcanary"

CANARIES = (
    f"$({_C})",
    f"`{_C}`",
    f"; {_C}",
    f";{_C};",
    f"| {_C}",
    f"& {_C}",
    f"&& {_C}",
    f"|| {_C}",
    f"\n{_C}\n",
    f"\r{_C}\r",
    f"'; {_C}; '",
    f'"; {_C}; "',
    f"'$({_C})'",
    f'"$({_C})"',
    f"$'\\n'{_C}",
    f"\x03{_C}\n",  # Ctrl-C, then a line
    f"\x15{_C}\r",  # Ctrl-U (kill line), then a line
    f"\x1b[200~{_C}\n\x1b[201~",  # bracketed paste
    f"\x1b\n{_C}\n",
    f"\x0f{_C}\n",  # Ctrl-O (operate-and-get-next)
    f"\x16\n{_C}\n",  # Ctrl-V (quoted insert), newline
    f"({_C})",  # fish command substitution
    f"<({_C})",
    f">({_C})",
    f"$((0))$({_C})",
    f"${{IFS}}{_C}${{IFS}}",
    f"\\\n{_C}\n",
    f"{{{_C},}}",
    f"\n{_C}",
)

# Fragments that shells give a meaning of their own when unquoted.
SPECIALS = (
    "'",
    '"',
    "\\",
    "`",
    "$",
    "$HOME",
    "${HOME}",
    "~",
    "~root",
    "!",
    "!!",
    "!-1",
    "!$",
    "^a^b",
    "*",
    "?",
    "[a]",
    "{a,b}",
    "#",
    "%self",
    "%1",
    "=ls",
    "=",
    "a=b",
    "-",
    "--",
    "-c",
    "&&",
    ";",
    "|",
    "<",
    ">",
    "(",
    ")",
    "{",
    "}",
    " ",
    "\t",
    "\n",
    "\r",
    "\x1b",
    "\x7f",
    "\x00",
    "\x04",
    "\x1b[A",
    "é",
    "日本",
    "\u200b",
    "\u2028",
    "\U0001f600",
    "\udc80",  # an undecodable byte, as Python keeps it (surrogateescape)
    "\udcff",
)

_ALPHABET = st.characters(
    # Every code point except lone surrogates that no byte maps to.
    exclude_categories=("Cs",),
)
_BYTES = st.integers(min_value=0x80, max_value=0xFF).map(lambda b: chr(0xDC00 + b))


def hostile_text(
    *, control: bool = True, nul: bool = False, max_size: int = 40, long: bool = True
) -> st.SearchStrategy[str]:
    """Strings built from canaries, shell specials and random unicode."""
    specials = [s for s in SPECIALS if (nul or "\x00" not in s)]
    canaries = list(CANARIES)
    if not control:
        specials = [s for s in specials if not _has_control(s)]
        canaries = [c for c in canaries if not _has_control(c)]
    alphabet = _ALPHABET.filter(lambda c: (control or not _has_control(c)) and (nul or c != "\x00"))
    piece = st.one_of(
        st.sampled_from(canaries),
        st.sampled_from(specials),
        st.text(alphabet, min_size=1, max_size=8),
        _BYTES if control else st.just("x"),
    )
    short = st.lists(piece, min_size=0, max_size=max_size // 4).map("".join)
    if not long:
        return short
    very_long = st.tuples(short, st.integers(1000, 4000), st.sampled_from(list(canaries))).map(
        lambda t: t[0] + ("A" * t[1]) + t[2]
    )
    return st.one_of(short, short, short, very_long)


def _has_control(s: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F or 0xDC80 <= ord(c) <= 0xDCFF for c in s)


def dir_name(*, control: bool = True) -> st.SearchStrategy[str]:
    """A hostile file name that can be a directory (no '/', no NUL, <= 255 bytes)."""

    def ok(name: str) -> bool:
        return (
            name not in ("", ".", "..")
            and "/" not in name
            and "\x00" not in name
            and len(os.fsencode(name)) <= 255
        )

    return (
        hostile_text(control=control, max_size=24, long=False)
        .map(lambda s: s.replace("/", "_"))
        .filter(ok)
    )


ENV_NAMES = st.from_regex(r"AR_H[A-Z0-9_]{0,12}\Z", fullmatch=True)
