"""The registry of supported assistants.

Adding an assistant = writing one module with an `Assistant` subclass and
adding it to ASSISTANTS below.
"""

from __future__ import annotations

from assistant_resurrect.assistants.base import Assistant, Launch, parse_launch
from assistant_resurrect.assistants.claude import Claude
from assistant_resurrect.assistants.codex import Codex
from assistant_resurrect.assistants.copilot import Copilot
from assistant_resurrect.assistants.crush import Crush
from assistant_resurrect.assistants.gemini import Gemini
from assistant_resurrect.assistants.kilo import Kilo
from assistant_resurrect.assistants.omp import OhMyPi
from assistant_resurrect.assistants.opencode import OpenCode
from assistant_resurrect.assistants.pi import Pi
from assistant_resurrect.assistants.qwen import Qwen

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

ASSISTANTS: tuple[Assistant, ...] = (
    Claude(),
    OpenCode(),
    Codex(),
    Gemini(),
    Pi(),
    Qwen(),
    Copilot(),
    Crush(),
    OhMyPi(),
    Kilo(),
)


def by_name(name: str) -> Optional[Assistant]:
    for assistant in ASSISTANTS:
        if assistant.name == name:
            return assistant
    return None


def match(argv: list[str]) -> Optional[tuple[Assistant, Launch]]:
    """The assistant an argv runs, if any (helpers that are not sessions excluded)."""
    launch = parse_launch(argv)
    if launch is None:
        return None
    for assistant in ASSISTANTS:
        if assistant.match(launch):
            return assistant, launch
    return None


def names() -> list[str]:
    return [a.name for a in ASSISTANTS]
