#!/usr/bin/env python3
"""Pack the agent's source tree into a tar.gz that pip can install.

Run on the controller by the role: pack_source.py SOURCE_DIR ARCHIVE.
Build leftovers (__pycache__, *.egg-info, build/, dist/) are left out, the
same set the role's source digest ignores.
"""

import os
import sys
import tarfile

SKIP_DIRS = {"__pycache__", "build", "dist", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


def main():
    source, archive = sys.argv[1], sys.argv[2]
    source = os.path.realpath(source)
    if not os.path.isfile(os.path.join(source, "pyproject.toml")):
        sys.exit(f"{source}: no pyproject.toml")
    tmp = archive + ".part"
    with tarfile.open(tmp, "w:gz") as tar:
        for current, dirs, files in os.walk(source):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
            for name in sorted(files):
                if name.endswith((".pyc", ".pyo")):
                    continue
                full = os.path.join(current, name)
                rel = os.path.relpath(full, source)
                tar.add(full, arcname="assistant-resurrect-src/" + rel, recursive=False)
    os.replace(tmp, archive)


if __name__ == "__main__":
    main()
