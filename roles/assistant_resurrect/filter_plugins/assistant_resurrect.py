"""Small filters for the assistant_resurrect role."""

from __future__ import annotations

import posixpath
import re
import shlex


def under(path, home):
    """A role path: absolute as is, ``~/x`` and ``x`` relative to ``home``."""
    path = str(path)
    if path.startswith("/"):
        return posixpath.normpath(path)
    if path == "~":
        return str(home)
    if path.startswith("~/"):
        path = path[2:]
    return posixpath.normpath(posixpath.join(str(home), path))


def tmux_quote(value):
    """Quote a value for a tmux configuration file."""
    value = str(value)
    if "'" not in value:
        return "'" + value + "'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped + '"'


def argv(value):
    """pip arguments given as a string (shell words) or a list."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return shlex.split(str(value))


_PROGRAM = re.compile(r"^~?(?:.*/)?([^/\s]+)")


def without_assistants(value, assistants):
    """Drop assistant programs from an @resurrect-processes value.

    The value is a space-separated list of words, each optionally in double
    quotes (``"~claude" "vim->vim +SLoad"``). A word whose program (before
    ``->``, without a leading ``~`` and folders) is an assistant is dropped.
    """
    kept = []
    for word in shlex.split(str(value or "")):
        program = word.split("->", 1)[0].strip()
        match = _PROGRAM.match(program)
        name = match.group(1) if match else program
        if name in assistants:
            continue
        kept.append('"' + word + '"' if (" " in word or "->" in word) else word)
    return " ".join(kept)


def has_tmux_setting(text, option):
    """Whether a tmux configuration text sets ``option`` (set/set-option)."""
    pattern = (
        r"(?m)^[ \t]*set(?:-option)?[ \t]+(?:-[a-zA-Z]+[ \t]+)*"
        + re.escape(option)
        + r"(?:[ \t]|$)"
    )
    return re.search(pattern, str(text or "")) is not None


def has_tmux_plugin(text, name):
    """Whether a tmux configuration text declares the TPM plugin ``name``."""
    pattern = (
        r"(?m)^[ \t]*set(?:-option)?[ \t]+(?:-[a-zA-Z]+[ \t]+)*@plugin[ \t]+['\"]?"
        r"(?:[^'\"\s]*/)?" + re.escape(name) + r"(?:\.git)?['\"]?[ \t]*(?:#.*)?$"
    )
    return re.search(pattern, str(text or "")) is not None


def has_tpm_run(text):
    """Whether a tmux configuration text runs TPM itself."""
    pattern = (
        r"(?m)^[ \t]*run(?:-shell)?[ \t]+(?:-b[ \t]+)?['\"]?[^\n#]*"
        r"(?:tpm|tmux-plugin-manager)/tpm"
    )
    return re.search(pattern, str(text or "")) is not None


def without_block(text, marker):
    """A tmux configuration text without the block marked with ``marker``.

    ``marker`` is the blockinfile marker, with ``{mark}`` for BEGIN/END.
    """
    begin, end = (re.escape(marker.replace("{mark}", m)) for m in ("BEGIN", "END"))
    pattern = r"(?m)^" + begin + r"[ \t]*\n(?:.*\n)*?" + end + r"[ \t]*(?:\n|\Z)"
    return re.sub(pattern, "", str(text or ""))


class FilterModule:
    def filters(self):
        return {
            "assistant_resurrect_under": under,
            "assistant_resurrect_tmux_quote": tmux_quote,
            "assistant_resurrect_argv": argv,
            "assistant_resurrect_without_assistants": without_assistants,
            "assistant_resurrect_has_tmux_setting": has_tmux_setting,
            "assistant_resurrect_has_tmux_plugin": has_tmux_plugin,
            "assistant_resurrect_has_tpm_run": has_tpm_run,
            "assistant_resurrect_without_block": without_block,
        }
