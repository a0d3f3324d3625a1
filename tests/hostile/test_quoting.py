"""Properties of the typed command line, session-ID charsets and the env
capture filter, over hostile generated values (no tmux needed)."""

from __future__ import annotations

import re
import shlex
from typing import Optional

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from assistant_resurrect import assistants, capture, command
from tests.hostile.conftest import Stats
from tests.hostile.strategies import ENV_NAMES, hostile_text

FAST = settings(max_examples=300, deadline=None, database=None)
POSIX_SHELLS = ("bash", "zsh", "ksh", "sh", "dash")
# Shells that get plain '...' quoting for text without control characters
# (zsh gets $'...' byte escapes for any non-ASCII: its line editor turns
# typed non-ASCII into '?' outside UTF-8 locales).
SHLEX_SHELLS = ("bash", "ksh", "sh", "dash")


def printable_line(line: str) -> bool:
    """Nothing in it acts as an editing key when typed into a line editor."""
    return not any(ord(c) < 0x20 or ord(c) == 0x7F or 0xDC80 <= ord(c) <= 0xDCFF for c in line)


@FAST
@given(
    argv=st.lists(hostile_text(control=False), min_size=1, max_size=6),
    env=st.dictionaries(ENV_NAMES, hostile_text(control=False), max_size=3),
    cwd=st.none() | hostile_text(control=False).filter(bool),
    shell=st.sampled_from(SHLEX_SHELLS),
)
@example(argv=[""], env={}, cwd=" && ", shell="bash")  # found in the tmux 3.7c container run
def test_typed_line_parses_back_to_the_saved_argv(
    argv: list[str], env: dict[str, str], cwd: Optional[str], shell: str, stats: Stats
) -> None:
    """Without control characters every POSIX shell gets plain '...' quoting,
    which shlex parses like the shell: the line is exactly `cd`, env, argv."""
    stats.cases_generated += 1
    line = command.build(argv, env, cwd, "/somewhere/else", shell)
    assert printable_line(line)
    words = shlex.split(line)  # (a cwd may itself hold " && ": split like the shell)
    if cwd:
        assert words[:4] == ["cd", "--", cwd, "&&"], line
        assert line.startswith("cd -- ")
        words = words[4:]
    # The program runs through `command`: no alias or function applies.
    assert words == [f"{k}={v}" for k, v in env.items()] + ["command", *argv]
    # The program word is never an assignment, whatever argv[0] holds: it is
    # quoted, or its unquoted head has no '='.
    bare = command.build(argv, {}, None, None, shell)
    assert bare.startswith("command "), bare
    head = re.match(r"[^ '$]*", bare[len("command ") :])
    assert head is not None and "=" not in head.group(0), bare


@FAST
@given(token=hostile_text(), shell=st.sampled_from((*POSIX_SHELLS, "fish")))
def test_every_token_is_typed_as_printable_text_or_refused(
    token: str, shell: str, stats: Stats
) -> None:
    """Control characters and NUL never reach the line editor raw; sh/dash,
    which have no escapes, refuse them; NUL is refused everywhere."""
    stats.cases_generated += 1
    has_control = not printable_line(token)
    try:
        quoted = command.quote(token, shell)
    except command.UnquotableError:
        assert "\x00" in token or (has_control and shell in ("sh", "dash")), repr(token)
        return
    assert "\x00" not in token
    assert printable_line(quoted), repr(quoted)
    if not has_control and shell in SHLEX_SHELLS:
        assert shlex.split(quoted) == [token]
    if shell == "zsh":
        assert quoted.isascii(), repr(quoted)


@pytest.mark.parametrize("token", ["\x00", "a\x00b", "\ud800", "x\udfff", "\udbff\udc00"])
@pytest.mark.parametrize("shell", [*POSIX_SHELLS, "fish"])
def test_what_no_program_can_be_given_is_refused(token: str, shell: str) -> None:
    with pytest.raises(command.UnquotableError):
        command.quote(token, shell)


@FAST
@given(token=hostile_text())
def test_an_unquoted_word_holds_nothing_a_shell_would_expand(token: str, stats: Stats) -> None:
    stats.cases_generated += 1
    for shell in ("bash", "zsh", "fish", "dash"):
        try:
            quoted = command.quote(token, shell)
        except command.UnquotableError:
            continue
        if quoted == token:
            assert re.fullmatch(r"[A-Za-z0-9_@+:,./-][A-Za-z0-9_@%+=:,./-]*", token), token


# -- session IDs --------------------------------------------------------------

# The charset each tool uses, written here independently of the modules.
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
CHARSETS = {
    "claude": UUID,
    "codex": UUID,
    "opencode": r"ses_[A-Za-z0-9]+",
    "gemini": r"[A-Za-z0-9-]+",
}


def near_valid_ids() -> st.SearchStrategy[str]:
    """Valid IDs of every tool with hostile text spliced in, and pure junk."""
    valid = st.one_of(
        st.uuids().map(str),
        st.from_regex(r"ses_[A-Za-z0-9]{8,40}\Z", fullmatch=True),
    )
    return st.one_of(
        hostile_text(),
        st.tuples(valid, hostile_text(max_size=8), st.booleans()).map(
            lambda t: t[1] + t[0] if t[2] else t[0] + t[1]
        ),
        valid,
    )


@pytest.mark.parametrize("tool", [a.name for a in assistants.ASSISTANTS])
@FAST
@given(value=near_valid_ids())
def test_session_ids_are_held_to_each_tools_charset(tool: str, value: str, stats: Stats) -> None:
    stats.cases_generated += 1
    assistant = assistants.by_name(tool)
    assert assistant is not None
    charset = CHARSETS.get(tool, r"[A-Za-z0-9_.-]+")
    if assistant.valid_session_id(value):
        assert re.fullmatch(charset, value), f"{tool} accepts {value!r}"
        # A valid ID never needs quoting: it cannot carry anything to a shell.
        for shell in ("bash", "zsh", "fish", "dash"):
            assert command.quote(value, shell) == value


# -- env capture --------------------------------------------------------------

SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")


@FAST
@given(
    names=st.lists(
        st.tuples(
            st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}\Z", fullmatch=True),
            st.sampled_from(SECRET_WORDS).map(lambda w: w if len(w) % 2 else w.lower()),
            st.from_regex(r"[A-Za-z0-9_]{0,6}\Z", fullmatch=True),
        ).map("".join),
        min_size=1,
        max_size=5,
    ),
    # (no secret's word: DB_CONN is a connection string's name)
    plain=st.lists(
        st.from_regex(r"AR_[A-JM-O]{1,6}\Z", fullmatch=True).filter(lambda n: n != "AR_CONN"),
        max_size=3,
    ),
)
def test_secret_looking_names_are_only_captured_when_allowed(
    names: list[str], plain: list[str], stats: Stats
) -> None:
    stats.cases_generated += 1
    option = " ".join([*names, *plain])
    wanted, refused = capture.names(option, capture.allowed(""))
    assert not set(names) & set(wanted)
    assert set(names) <= set(refused)
    assert set(plain) <= set(wanted)
    wanted, refused = capture.names(option, capture.allowed("on"))
    assert set(names) <= set(wanted)
    for off in ("", "off", "0", "no", "false", "nope"):
        assert not capture.allowed(off)
