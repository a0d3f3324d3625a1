#!/usr/bin/python
"""Ansible module: one item in a list of a JSON settings file, nothing else touched."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: assistant_resurrect_json_list
short_description: Keep one string in a list of a user's JSON settings file
description:
  - Adds I(item) to the list at top-level I(key) of the JSON object in
    I(path) (creating the file or the list when missing), or removes it.
  - Every other key and list entry is kept, in order. A file that is not plain
    JSON (comments), not a JSON object, or whose I(key) is not a list, fails
    with one line and is left untouched.
  - Supports check mode and diff.
options:
  path: {description: The JSON file., type: path, required: true}
  key: {description: The top-level key of the list., type: str, required: true}
  item: {description: The string to keep in (or take out of) the list., type: str, required: true}
  state: {description: present or absent., type: str, choices: [present, absent], default: present}
  remove_if_empty:
    description: With I(state=absent), delete the file when nothing else is left in it.
    type: bool
    default: false
author: assistant-resurrect
"""

import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "key": {"type": "str", "required": True},
            "item": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "remove_if_empty": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    path, key, item = p["path"], p["key"], p["item"]
    try:
        with open(path, encoding="utf-8") as fh:
            before = fh.read()
        exists = True
    except FileNotFoundError:
        before, exists = "", False
    except OSError as exc:
        module.fail_json(msg=f"{path}: cannot read it ({exc.strerror}); nothing changed")
    try:
        doc = json.loads(before) if before.strip() else {}
    except ValueError as exc:
        module.fail_json(
            msg=f"{path} is not plain JSON ({exc}); nothing changed: fix it or "
            f"add {item!r} to its {key!r} list yourself"
        )
    if not isinstance(doc, dict):
        module.fail_json(msg=f"{path} does not hold a JSON object; nothing changed")
    current = doc.get(key, [])
    if not isinstance(current, list):
        module.fail_json(msg=f"{path}: {key!r} is not a list; nothing changed")
    result = {"changed": False, "path": path, "created": False}
    if p["state"] == "present":
        if item in current:
            module.exit_json(**result)
        doc[key] = [*current, item]
        result["created"] = not exists
    else:
        if not exists or item not in current:
            module.exit_json(**result)
        kept = [x for x in current if x != item]
        if kept:
            doc[key] = kept
        else:
            doc.pop(key, None)
    after = (
        ""
        if (p["state"] == "absent" and not doc and p["remove_if_empty"])
        else (json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    )
    result["changed"] = True
    result["diff"] = {"before": before, "after": after, "before_header": path, "after_header": path}
    if module.check_mode:
        module.exit_json(**result)
    if not after:
        os.unlink(path)
        module.exit_json(**result)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    mode = os.stat(path).st_mode & 0o7777 if exists else 0o644
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".assistant-resurrect-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(after)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        module.fail_json(msg=f"{path}: cannot write it ({exc.strerror}); nothing changed")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
