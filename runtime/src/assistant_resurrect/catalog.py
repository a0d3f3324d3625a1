"""`assistants`: the registry as data, for everything derived from it.

The role (which programs to keep out of `@resurrect-processes`, which hooks
and plugins to install), the tests (parametrized over the registry) and the
README's table all come from this one list (assistants/__init__.py).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from assistant_resurrect import assistants

SCHEMA_VERSION = 1


def describe() -> list[dict[str, Any]]:
    """One object per registered assistant, in registry order."""
    out = []
    for a in assistants.ASSISTANTS:
        out.append(
            {
                "name": a.name,
                "display_name": a.display_name or a.name,
                "executables": list(a.executables),
                "script_markers": list(a.script_markers),
                "strategies": [name for name, _ in a.strategies()],
                "resume": ["PROGRAM", "ARGS...", *a.resume_form, "ID"],
                "session_id_pattern": a.session_id_re.pattern,
                "agent_hooks": list(a.agent_hooks),
                "plugin_files": list(a.plugin_files),
            }
        )
    return out


def markdown() -> str:
    """The README's table of assistants."""
    rows = [
        "| tool | programs | session ID strategies, in order | resume form typed |",
        "|---|---|---|---|",
    ]
    for d in describe():
        resume = " ".join([d["name"], "ARGS", *d["resume"][2:]])
        rows.append(
            f"| {d['display_name']} | {', '.join(f'`{e}`' for e in d['executables'])} "
            f"| {', '.join(f'`{s}`' for s in d['strategies'])} | `{resume}` |"
        )
    return "\n".join(rows) + "\n"


def main(args: list[str], out: Callable[[str], None] = print) -> int:
    if args == ["--json"]:
        out(json.dumps({"version": SCHEMA_VERSION, "assistants": describe()}, indent=2))
    elif args == ["--markdown"]:
        out(markdown().rstrip("\n"))
    elif not args:
        for d in describe():
            strategies = ", ".join(d["strategies"])
            out(f"{d['name']:<10} {' '.join(d['resume'])}  (strategies: {strategies})")
    else:
        raise SystemExit("assistant-resurrect: assistants takes --json or --markdown")
    return 0
