#!/usr/bin/env python3
"""Rewrite the files derived from the assistant registry after a change to it:
the README's assistants table, the registry's index of program names
(assistants/_index.py) and the role's list of assistants (kept out of
@resurrect-processes). tests/unit/test_catalog.py fails until they match.

    python3 scripts/sync-registry.py
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "runtime" / "src"))

from assistant_resurrect import assistants, catalog  # noqa: E402

BEGIN, END = catalog.README_BEGIN, catalog.README_END


def main() -> int:
    # The index first: names() below reads it.
    index = ROOT / "runtime" / "src" / "assistant_resurrect" / "assistants" / "_index.py"
    index.write_text(catalog.index_source())
    importlib.reload(assistants._index)
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    readme.write_text(head + BEGIN + catalog.markdown() + END + tail)
    role_vars = ROOT / "roles" / "assistant_resurrect" / "vars" / "main.yml"
    line = f"assistant_resurrect__assistants: [{', '.join(assistants.names())}]"
    role_vars.write_text(
        re.sub(r"(?m)^assistant_resurrect__assistants: \[.*\]$", line, role_vars.read_text())
    )
    derived = f"README.md, {index.relative_to(ROOT)} and {role_vars.relative_to(ROOT)}"
    print(f"{derived} list: {', '.join(assistants.names())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
