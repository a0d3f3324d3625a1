"""The command line typed into a pane on restore.

Every token is quoted for the pane's shell; nothing is ever concatenated
unquoted. Tokens with control characters (newlines, tabs, ESC, ...) are
written with escapes, because typed raw they would act as editing keys in
the shell's line editor; shells that have no escape syntax for them (plain
sh/dash) get an UnquotableError and the pane is skipped, as does a NUL
(no program can be given one).

Unquoted words are plain: never starting with `=` (zsh expands `=ls` to a
path) or `%` (fish expands `%self` to its PID), and the command word never
contains `=` (it would read as an assignment).

The program runs through `command`, so that no alias or function of the
user's named like the tool applies (`alias codex='codex --search'` would
repeat a flag the resume line gives): in bash, zsh, sh/dash and ksh an alias
is only expanded in the first word, which is `command`, and `command` skips
functions; fish's `command` builtin skips functions, which is what its
aliases are; fish 4 (Debian forky's 4.9) expands an abbreviation even after
`command`, fish 3 does not, so there the program word is quoted ('codex'),
which no abbreviation matches. zsh also expands
global aliases (`alias -g`) in any unquoted word, so there the program word is
quoted (`\\claude`). Assignments before `command` reach the program in all of
them (fish from 3.1 on).
"""

from __future__ import annotations

import re
from typing import Optional

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
SAFE = re.compile(r"[A-Za-z0-9_@+:,./-][A-Za-z0-9_@%+=:,./-]*\Z")
ANSI_C_SHELLS = frozenset({"bash", "zsh", "ksh", "mksh", "ksh93"})
DEFAULT_SHELLS = ("bash", "zsh", "fish", "sh", "dash", "ksh", "mksh", "ash")


class UnquotableError(ValueError):
    pass


def _is_control(ch: str) -> bool:
    o = ord(ch)
    return o < 0x20 or o == 0x7F or 0xDC80 <= o <= 0xDCFF


def _fish_reserved(ch: str) -> bool:
    """Code points fish keeps for itself (raw bytes, internal markers) and
    drops from typed input: fish 3 reserves U+F600-U+F6FF and U+FDD0-U+FDEF;
    fish 4 (Debian forky's 4.9) drops the whole private use area U+E000-U+F8FF
    when typed and aborts on some of it, so all of it is written as escapes."""
    o = ord(ch)
    return 0xE000 <= o <= 0xF8FF or 0xFDD0 <= o <= 0xFDEF


def _needs_escape(ch: str, shell: str) -> bool:
    """Written as an escape in $'...': control characters; for zsh also any
    non-ASCII, which its line editor turns into '?' outside UTF-8 locales."""
    return _is_control(ch) or (shell == "zsh" and ord(ch) > 0x7F)


def _escape_char(ch: str) -> str:
    o = ord(ch)
    if 0xDC80 <= o <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{o - 0xDC00:02x}"
    if o > 0x7F:  # non-ASCII (fish's reserved code points, zsh): its UTF-8 bytes
        return "".join(f"\\x{b:02x}" for b in ch.encode("utf-8"))
    return f"\\x{o:02x}"


def quote(token: str, shell: str = "bash") -> str:
    """`token` as one word of `shell`."""
    if token and SAFE.match(token):
        return token
    if "\x00" in token:
        raise UnquotableError("a value contains a NUL character, which no program can be given")
    if any(0xD800 <= ord(c) <= 0xDFFF and not 0xDC80 <= ord(c) <= 0xDCFF for c in token):
        raise UnquotableError("a value contains a lone surrogate, which is no text")
    has_control = any(_needs_escape(c, shell) for c in token)
    if shell == "fish":
        out = []
        run: list[str] = []
        for ch in token:
            if _is_control(ch) or _fish_reserved(ch):
                if run:
                    out.append("'" + "".join(run).replace("\\", "\\\\").replace("'", "\\'") + "'")
                    run = []
                out.append(_escape_char(ch))
            else:
                run.append(ch)
        if run or not out:
            out.append("'" + "".join(run).replace("\\", "\\\\").replace("'", "\\'") + "'")
        return "".join(out)
    if has_control:
        if shell not in ANSI_C_SHELLS:
            raise UnquotableError(
                f"a value contains control characters that {shell} cannot be given safely"
            )
        body = []
        for ch in token:
            if _needs_escape(ch, shell):
                body.append(_escape_char(ch))
            elif ch in ("\\", "'"):
                body.append("\\" + ch)
            else:
                body.append(ch)
        return "$'" + "".join(body) + "'"
    return "'" + token.replace("'", "'\"'\"'") + "'"


def build(
    argv: list[str],
    env: dict[str, str],
    cwd: Optional[str],
    pane_cwd: Optional[str],
    shell: str,
) -> str:
    """`[cd -- DIR && ][NAME=value ...] command argv...`, every token quoted for
    `shell`."""
    words = []
    for name, value in env.items():
        if not ENV_NAME.match(name):
            raise UnquotableError(f"{name!r} is not a valid environment variable name")
        words.append(f"{name}={quote(value, shell)}")
    if argv:
        words.append("command")
    for i, arg in enumerate(argv):
        word = quote(arg, shell)
        if i == 0 and word == arg:
            if "=" in arg:
                word = f"'{arg}'"  # unquoted, `A=b/claude` would read as an assignment
            elif shell == "zsh":
                word = "\\" + arg  # a quoted word is never alias-expanded, not even by -g
            elif shell == "fish":
                word = f"'{arg}'"  # fish 4 expands an abbreviation even after `command`
        words.append(word)
    line = " ".join(words)
    if cwd and cwd != pane_cwd:
        line = f"cd -- {quote(cwd, shell)} && {line}"
    return line


def shell_name(current_command: str) -> str:
    """`-bash` or `/bin/bash` -> `bash`."""
    name = current_command.rsplit("/", 1)[-1]
    return name.lstrip("-")
