"""Reading what a tmux pane shows, the same way on any machine.

A line longer than the pane wraps onto the next screen row, and where it
wraps depends on the pane's width and on how long the text before it is (a
prompt, pytest's temporary path: `/tmp/pytest-of-root/pytest-0/...` on a
fresh machine is shorter than `.../pytest-123/...`). A test that searches
screen rows for typed text then finds `claude -` on one row and `-resume ...`
on the next. Every reader here asks tmux to join wrapped rows
(`capture-pane -J`), so a typed line is one line whatever its length. -J also
keeps trailing spaces; they are dropped, and so are trailing empty rows, so
a line reads as it would without -J (the prompt is `$`, not `$ `).
"""

from __future__ import annotations

from typing import Any


def capture_args(target: str) -> list[str]:
    """The tmux arguments that print `target`'s screen with wrapped rows
    joined (for tests that run tmux themselves: `tmux -S sock *capture_args(t)`)."""
    return ["capture-pane", "-p", "-J", "-t", target]


def lines_of(text: str | list[str]) -> list[str]:
    """Captured output as lines without trailing spaces or trailing empty lines."""
    rows = text.splitlines() if isinstance(text, str) else list(text)
    lines = [row.rstrip() for row in rows]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def screen_lines(pane: Any) -> list[str]:
    """The visible lines of a libtmux pane, wrapped rows joined."""
    return lines_of(pane.capture_pane(join_wrapped=True) or [])


def screen_lines_at(server: Any, target: str) -> list[str]:
    """The visible lines of the pane `target` (an ID or address) on a libtmux
    server, wrapped rows joined (for panes libtmux cannot look up by itself)."""
    return lines_of(server.cmd(*capture_args(target)).stdout)


def screen_text(pane: Any) -> str:
    """The visible lines of a libtmux pane as one string."""
    return "\n".join(screen_lines(pane))


def occurrences(lines: list[str], needle: str) -> int:
    """How often `needle` shows on the screen: every occurrence counts, also
    two on one line (a second copy typed onto a line not yet entered joins
    the first one's line)."""
    return sum(line.count(needle) for line in lines)


def shows_prompt(lines: list[str], prompt: str = "$") -> bool:
    """A line is just the prompt (the shell waits for input)."""
    return any(line.strip() == prompt for line in lines)


def only_prompt(lines: list[str], prompt: str = "$") -> bool:
    """The screen shows the prompt and nothing else (nothing was typed)."""
    return [line for line in lines if line.strip()] == [prompt]
