#!/usr/bin/python
"""Ansible module: look at many of a user's files in one read-only call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: assistant_resurrect_probe
short_description: Look at many paths, files and the agent builds in one read-only call
description:
  - Reads what the role's per-user tasks need to know before they change
    anything, in one module run instead of a stat or slurp task each; the
    tasks skip a change that is already made and run (with check mode and
    diff as usual) when it is not, so drift is repaired on every converge.
  - Never changes anything; C(changed) is always false. Supports check mode.
options:
  paths:
    description:
      - Name to path. Each is looked at without following a last symlink
        (C(exists), C(islnk), C(lnk_target)) and through it (C(isdir),
        C(isreg), C(mode) as four octal digits).
    type: dict
    default: {}
  checksum:
    description: Names of I(paths) whose SHA-1 (C(checksum)) is returned for regular files.
    type: list
    elements: str
    default: []
  read:
    description:
      - Names of I(paths) whose content is returned when they are regular
        files, base64-encoded under C(content) as the slurp module returns it.
    type: list
    elements: str
    default: []
  stats:
    description:
      - Paths looked at as I(paths) are, returned under C(stats.results) in
        the shape of a registered stat loop (C(item), C(stat) with
        C(lnk_source), the resolved path, for a symlink).
    type: list
    elements: path
    default: []
  texts:
    description:
      - Paths whose content (through symlinks) is returned, base64-encoded,
        under C(texts[path].content) and C(texts[resolved path].content), for
        regular files only.
    type: list
    elements: path
    default: []
  builds:
    description:
      - A folder of agent builds; returns C(builds.dirs), the paths of its
        folders not starting with a dot (not through symlinks), and
        C(builds.complete), the names of those holding I(marker).
    type: path
  marker:
    description: The file that marks a complete build.
    type: str
    default: .assistant-resurrect-build
  missing:
    description: Paths; returns C(missing), those that do not exist.
    type: list
    elements: path
    default: []
  packages:
    description:
      - Debian package names; returns C(missing_packages), those dpkg does not
        list as installed, or null when there is no dpkg status file to read.
    type: list
    elements: str
    default: []
author: assistant-resurrect
"""

import base64  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import stat  # noqa: E402
from typing import Any, Optional  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

DPKG_STATUS = "/var/lib/dpkg/status"


def _look(path: str, checksum: bool, read: bool) -> dict[str, Any]:
    found: dict[str, Any] = {"path": path, "exists": os.path.lexists(path), "islnk": False}
    if not found["exists"]:
        return found
    if os.path.islink(path):
        found["islnk"] = True
        found["lnk_target"] = os.readlink(path)
        found["lnk_source"] = os.path.realpath(path)
    try:
        st = os.stat(path)
    except OSError:  # a dangling link
        found.update(isdir=False, isreg=False)
        return found
    found["isdir"] = stat.S_ISDIR(st.st_mode)
    found["isreg"] = stat.S_ISREG(st.st_mode)
    found["mode"] = f"{stat.S_IMODE(st.st_mode):04o}"
    if found["isreg"] and (checksum or read):
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            found["error"] = exc.strerror
            return found
        if checksum:
            found["checksum"] = hashlib.sha1(data).hexdigest()
        if read:
            found["content"] = base64.b64encode(data).decode("ascii")
    return found


def _builds(folder: str, marker: str) -> dict[str, list[str]]:
    dirs, complete = [], []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        names = []
    for name in names:
        path = os.path.join(folder, name)
        if name.startswith(".") or os.path.islink(path) or not os.path.isdir(path):
            continue
        dirs.append(path)
        if os.path.exists(os.path.join(path, marker)):
            complete.append(name)
    return {"dirs": dirs, "complete": complete}


def _missing_packages(names: list[str]) -> Optional[list[str]]:
    try:
        with open(DPKG_STATUS, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    installed = set()
    for paragraph in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            if line[:1] not in (" ", "\t") and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            installed.add(fields["Package"])
    return [name for name in names if name not in installed]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "dict", "default": {}},
            "checksum": {"type": "list", "elements": "str", "default": []},
            "read": {"type": "list", "elements": "str", "default": []},
            "stats": {"type": "list", "elements": "path", "default": []},
            "texts": {"type": "list", "elements": "path", "default": []},
            "builds": {"type": "path"},
            "marker": {"type": "str", "default": ".assistant-resurrect-build"},
            "missing": {"type": "list", "elements": "path", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    result: dict[str, Any] = {
        "changed": False,
        "paths": {
            name: _look(os.path.expanduser(str(path)), name in p["checksum"], name in p["read"])
            for name, path in p["paths"].items()
        },
        "missing": [path for path in p["missing"] if not os.path.lexists(path)],
        "stats": {
            "results": [{"item": path, "stat": _look(path, False, False)} for path in p["stats"]]
        },
        "texts": {},
    }
    for path in p["texts"]:
        seen = _look(path, False, True)
        if "content" in seen:
            text = {"content": seen["content"]}
            result["texts"][path] = text
            result["texts"][os.path.realpath(path)] = text
    if p["builds"]:
        result["builds"] = _builds(p["builds"], p["marker"])
    if p["packages"]:
        result["missing_packages"] = _missing_packages(p["packages"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
