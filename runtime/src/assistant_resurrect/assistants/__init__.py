"""The registry of supported assistants.

Adding an assistant = writing one module with an `Assistant` subclass and
adding one line `("module", "Class"),` to REGISTRY below, then running
`python3 scripts/sync-registry.py` (it rewrites _index.py, the README's table
and the role's list; tests/unit/test_catalog.py fails until they match).

A module is imported only when a process could be its tool: _index.py maps
program names (`executables`) and script-path substrings (`script_markers`)
to modules, so the save and hook paths load base.py plus the modules of the
tools actually running. An assistant's `match()` may be narrower than its
names and markers, never wider.
"""

from __future__ import annotations

from assistant_resurrect.assistants import _index
from assistant_resurrect.assistants.base import Assistant, Launch, parse_launch

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

# (module under assistants/, its Assistant subclass), in table order; order
# matters only for match() (first match wins) and for tables.
REGISTRY: tuple[tuple[str, str], ...] = (
    ("claude", "Claude"),
    ("opencode", "OpenCode"),
    ("codex", "Codex"),
    ("gemini", "Gemini"),
    ("pi", "Pi"),
    ("qwen", "Qwen"),
    ("copilot", "Copilot"),
    ("crush", "Crush"),
    ("omp", "OhMyPi"),
    ("kilo", "Kilo"),
    ("droid", "Droid"),
    ("cursor", "CursorAgent"),
)

_loaded: dict[str, Assistant] = {}


def load(module: str) -> Assistant:
    """The registered assistant of `module`, imported on first use."""
    found = _loaded.get(module)
    if found is None:
        import sys

        cls = dict(REGISTRY)[module]
        name = f"{__name__}.{module}"
        __import__(name)
        found = _loaded[module] = getattr(sys.modules[name], cls)()
    return found


def all_assistants() -> tuple[Assistant, ...]:
    """Every registered assistant, in registry order (imports them all: not for
    the save and hook paths)."""
    return tuple(load(module) for module, _ in REGISTRY)


def __getattr__(name: str) -> tuple[Assistant, ...]:
    # `assistants.ASSISTANTS`: the whole registry, loaded when first asked for.
    if name == "ASSISTANTS":
        return all_assistants()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def by_name(name: str) -> Optional[Assistant]:
    module = _index.TOOLS.get(name)
    return None if module is None else load(module)


def candidates(launch: Launch) -> list[str]:
    """Modules, in registry order, whose tool `launch` could be (by its program
    name or a marker in its program path)."""
    hits = set(_index.NAMES.get(launch.name, ()))
    for marker, module in _index.MARKERS:
        if marker in launch.program:
            hits.add(module)
    if not hits:
        return []
    return [module for module, _ in REGISTRY if module in hits]


# match() is a function of the argv alone: its answers are kept, for the saves
# the sentinel serves one after another (and the rescans within one save).
_matched: dict[tuple[str, ...], Optional[tuple[Assistant, Launch]]] = {}
MATCHES_KEPT = 4096


def match(argv: list[str]) -> Optional[tuple[Assistant, Launch]]:
    """The assistant an argv runs, if any (helpers that are not sessions excluded)."""
    key = tuple(argv)
    try:
        return _matched[key]
    except KeyError:
        pass
    found: Optional[tuple[Assistant, Launch]] = None
    launch = parse_launch(argv)
    if launch is not None:
        for module in candidates(launch):
            assistant = load(module)
            if assistant.match(launch):
                found = (assistant, launch)
                break
    if len(_matched) >= MATCHES_KEPT:
        _matched.clear()
    _matched[key] = found
    return found


def names() -> list[str]:
    """Tool names in registry order (from the index: imports no module)."""
    return list(_index.TOOLS)


def programs() -> dict[str, str]:
    """Every program name an assistant runs under (`agent` for Cursor Agent,
    `kilocode` for Kilo, ...) -> its tool name (from the index)."""
    tool_of = {module: tool for tool, module in _index.TOOLS.items()}
    return {prog: tool_of[mods[0]] for prog, mods in _index.NAMES.items() if mods}
