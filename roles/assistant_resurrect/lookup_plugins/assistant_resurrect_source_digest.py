"""Lookup: a digest of the agent's source tree on the controller.

The role installs the agent into a virtualenv named after this digest, so a
changed source (a role upgrade) installs a new agent and an unchanged one
installs nothing.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: assistant_resurrect_source_digest
short_description: SHA-256 of a Python source tree, ignoring build leftovers
description:
  - Hashes the relative path and the content of every file under each given
    directory, skipping C(__pycache__), C(*.egg-info), C(build), C(dist),
    C(.pytest_cache), C(.ruff_cache) and C(*.pyc).
  - Fails when the directory holds no C(pyproject.toml).
options:
  _terms:
    description: Directories on the controller.
    required: true
"""

RETURN = r"""
_raw:
  description: One hex digest per directory.
  type: list
  elements: str
"""

import hashlib  # noqa: E402
import os  # noqa: E402

from ansible.errors import AnsibleError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

SKIP_DIRS = {"__pycache__", "build", "dist", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


def source_files(root):
    """Relative paths of the files that make up the source tree, sorted."""
    found = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in files:
            if name.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(current, name)
            found.append(os.path.relpath(full, root))
    return sorted(found)


def digest(root):
    sha = hashlib.sha256()
    for rel in source_files(root):
        sha.update(rel.encode("utf-8") + b"\0")
        with open(os.path.join(root, rel), "rb") as handle:
            sha.update(handle.read())
        sha.update(b"\0")
    return sha.hexdigest()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        results = []
        for term in terms:
            root = os.path.realpath(os.path.expanduser(str(term)))
            if not os.path.isfile(os.path.join(root, "pyproject.toml")):
                raise AnsibleError(
                    f"assistant_resurrect_source: {root} is not the agent's source tree "
                    "(no pyproject.toml there)"
                )
            results.append(digest(root))
        return results
