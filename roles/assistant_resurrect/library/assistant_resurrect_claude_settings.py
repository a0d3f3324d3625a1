#!/usr/bin/python
"""Merge assistant-resurrect's hook entries into a tool's JSON hook settings
(Claude Code's and Gemini CLI's settings.json, Factory Droid's settings.json
and hooks.json, Cursor's hooks.json)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: assistant_resurrect_claude_settings
short_description: Manage assistant-resurrect's hook entries in a tool's JSON hook settings
description:
  - Adds (or removes) one I(start_event) and one I(end_event) command hook
    that run the assistant-resurrect agent, keeping every other key and every
    other tool's hook entries exactly as they were.
  - I(layout=claude) (Claude Code, Gemini CLI, Factory Droid) keeps the hooks
    of an event as matcher groups, objects with C(matcher) and a C(hooks) list
    of C(type)/C(command) objects; I(layout=cursor) (Cursor's C(hooks.json))
    as a flat list of objects with a C(command), with a top-level C(version)
    of 1 added when missing.
  - An entry is ours when its C(command) contains I(marker).
  - Entries that are not shaped as Claude documents them (a C(null) command,
    a C(hooks) value that is not a list, an empty matcher object, ...) are
    left as they are.
  - A file that is not valid JSON fails the task and is never overwritten;
    so does one holding C(NaN) or C(Infinity) (which Claude cannot read) or
    a key written twice in one object (a rewrite would drop one).
  - The file is only rewritten when its content changes; the indentation
    and the trailing newline of the existing file are kept, every number is
    written back exactly as it was written (C(1e400), C(1.0), C(-0.0), long
    integers), and a lone surrogate escape (C(\ud800)) stays an escape.
  - A symlinked settings file stays a symlink; the file it points to is edited.
version_added: "0.1.0"
options:
  path:
    description: Path of the settings file (usually C(~/.claude/settings.json)).
    type: path
    required: true
  state:
    description: C(present) adds or updates our entries; C(absent) removes them.
    type: str
    required: false
    choices: [present, absent]
    default: present
  start_command:
    description: Command of the I(start_event) hook. Required when I(state=present).
    type: str
    required: false
  end_command:
    description: Command of the I(end_event) hook (none when not given).
    type: str
    required: false
  start_event:
    description: The event the I(start_command) hook runs on.
    type: str
    required: false
    default: SessionStart
  end_event:
    description: The event the I(end_command) hook runs on.
    type: str
    required: false
    default: SessionEnd
  layout:
    description: How the file holds an event's hooks (see the description).
    type: str
    required: false
    choices: [claude, cursor]
    default: claude
  key:
    description:
      - The top-level key holding the hooks object; an empty string makes the
        whole document the hooks object (Factory Droid's C(hooks.json)).
    type: str
    required: false
    default: hooks
  existing_events_only:
    description:
      - With I(state=present), add our entries only to events the file
        already lists, and never create the file (Factory Droid's
        C(hooks.json), whose events replace those of its settings.json).
    type: bool
    required: false
    default: false
  marker:
    description: Substring that identifies our entries' commands.
    type: str
    required: false
    default: "assistant-resurrect hook claude-session-"
  legacy_suffixes:
    description:
      - Entries whose command ends with one of these strings (ignoring trailing
        quotes and spaces) are removed as well, for I(state=present) only.
        Used to migrate from the upstream bash plugin.
    type: list
    elements: str
    required: false
    default: []
  remove_if_empty:
    description:
      - With I(state=absent), delete the file when nothing but an empty JSON
        object is left in it (for a file the role created).
    type: bool
    required: false
    default: false
  mode:
    description: Mode of the file when it has to be created.
    type: raw
    required: false
    default: "0600"
  backup:
    description:
      - Before changing or deleting an existing file, keep a copy of it next
        to it, named after it with a timestamp (as Ansible's file modules do).
      - No copy is made when nothing changes, when the file is created, or
        in check mode.
    type: bool
    required: false
    default: false
attributes:
  check_mode:
    description:
      - Runs in check mode, reporting whether the file would change without
        touching it.
    support: full
  diff_mode:
    description:
      - Returns the file before and after the change (or the change it would
        make, in check mode) in diff mode.
    support: full
  platform:
    description: The target systems it works on.
    support: N/A
    platforms: posix
author:
  - assistant-resurrect contributors
"""

EXAMPLES = r"""
- name: Add the hooks
  assistant_resurrect_claude_settings:
    path: /home/u/.claude/settings.json
    start_command: /home/u/.local/bin/assistant-resurrect hook claude-session-start
    end_command: /home/u/.local/bin/assistant-resurrect hook claude-session-end
    legacy_suffixes: [claude-session-track.sh, claude-session-cleanup.sh]

- name: Add the hooks, keeping a copy of the settings as they were
  assistant_resurrect_claude_settings:
    path: ~/.claude/settings.json
    start_command: ~/.local/bin/assistant-resurrect hook claude-session-start
    end_command: ~/.local/bin/assistant-resurrect hook claude-session-end
    backup: true

- name: Remove the hooks, and the file when nothing else is left in it
  assistant_resurrect_claude_settings:
    path: /home/u/.claude/settings.json
    state: absent
    remove_if_empty: true
"""

RETURN = r"""
path:
  description: The file edited (the target of I(path) when it is a symlink).
  type: str
  returned: always
  sample: /home/u/.claude/settings.json
backup_file:
  description: The copy of the file made before it was changed, with I(backup=true).
  type: str
  returned: when a copy was made
  sample: /home/u/.claude/settings.json.12345.2026-01-31@12:00:00~
created:
  description: Whether the file was (or, in check mode, would be) created.
  type: bool
  returned: always
  sample: false
removed:
  description: Number of hook entries removed (ours, stale ones and legacy ones).
  type: int
  returned: always
  sample: 0
"""

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def _is_ours(hook, marker, legacy_suffixes):
    if not isinstance(hook, dict):
        return False
    command = hook.get("command")
    if not isinstance(command, str):
        return False
    if marker in command:
        return True
    tail = command.strip().rstrip("'\" \t")
    return any(tail.endswith(suffix) for suffix in legacy_suffixes)


def _remove_entries(hooks, predicate, events=None):
    """Remove hook entries for which predicate(hook) is true.

    Works only on well-formed parts: an event value that is a list, a group
    that is an object whose ``hooks`` is a list. A group, an event or the
    whole ``hooks`` object is dropped only when our removal emptied it.
    ``events``: the event names to look at (default: all).
    Returns the number of entries removed.
    """
    removed = 0
    for event in list(hooks):
        if events is not None and event not in events:
            continue
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept_groups = []
        event_removed = 0
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                kept = [h for h in group["hooks"] if not predicate(h)]
                gone = len(group["hooks"]) - len(kept)
                if gone:
                    event_removed += gone
                    if not kept:
                        continue
                    group["hooks"] = kept
            kept_groups.append(group)
        if event_removed:
            removed += event_removed
            if kept_groups:
                hooks[event] = kept_groups
            else:
                del hooks[event]
    return removed


class Number:
    """A JSON number as written in the file: written back verbatim (parsed as a
    float, 1e400 would come back as Infinity, 1.0E5 as 100000.0)."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Number) and other.text == self.text

    def __hash__(self):
        return hash(self.text)

    def __repr__(self):
        return self.text


class NotClaudeJSON(ValueError):
    """Valid for Python's json module, but not a file Claude reads back the same."""


def _no_constant(name):
    raise NotClaudeJSON(f"it holds {name}, which is not JSON (Claude Code cannot read it)")


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise NotClaudeJSON(
                f"it holds the key {json.dumps(key, ensure_ascii=True)} twice in one object "
                "(only the last one counts; rewriting the file would drop the other)"
            )
        obj[key] = value
    return obj


def _parse(text):
    """The settings document, numbers kept as written."""
    return json.loads(
        text,
        parse_float=Number,
        parse_int=Number,
        parse_constant=_no_constant,
        object_pairs_hook=_no_duplicates,
    )


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _string(value):
    # A lone surrogate (from an escape like \ud800: a pair would have been
    # joined into one character) is written back as that escape.
    text = json.dumps(value, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _dump(value, indent, level=0):
    """``value`` as ``json.dumps(value, indent=indent, ensure_ascii=False)``
    writes it, with Number objects as their text."""
    if isinstance(value, Number):
        return value.text
    if isinstance(value, str):
        return _string(value)
    if value is True or value is False or value is None or isinstance(value, (int, float)):
        return json.dumps(value)
    inner = "\n" + indent * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{_string(k)}: {_dump(v, indent, level + 1)}" for k, v in value.items()]
        return "{" + inner + ("," + inner).join(items) + "\n" + indent * level + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [_dump(v, indent, level + 1) for v in value]
        return "[" + inner + ("," + inner).join(items) + "\n" + indent * level + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _indent_of(text):
    """The indentation unit of a pretty-printed JSON document (None: compact)."""
    lines = text.splitlines()
    if len(lines) < 2:
        return None
    match = re.match(r"^([ \t]+)\S", lines[1])
    return match.group(1) if match else None


def _render(data, original):
    if original is None:
        indent, newline = "  ", True
    else:
        indent = _indent_of(original) or "  "
        newline = original.endswith("\n") or original.strip() == ""
    text = _dump(data, indent)
    return text + ("\n" if newline else "")


def _compact(module, path, data, result):
    """``data`` as one string, to tell whether it changed."""
    try:
        return _dump(data, "")
    except RecursionError:
        module.fail_json(
            msg=f"{path} nests too deeply to be rewritten; it was left unchanged.", **result
        )


def _remove_flat(hooks, predicate, events=None):
    """``_remove_entries`` for the cursor layout: an event's value is a list
    of hook objects; an event is dropped only when our removal emptied it."""
    removed = 0
    for event in list(hooks):
        if events is not None and event not in events:
            continue
        entries = hooks[event]
        if not isinstance(entries, list):
            continue
        kept = [h for h in entries if not predicate(h)]
        if len(kept) != len(entries):
            removed += len(entries) - len(kept)
            if kept:
                hooks[event] = kept
            else:
                del hooks[event]
    return removed


def _desired_entry(command, layout="claude"):
    if layout == "cursor":
        return {"command": command}
    return {"matcher": "", "hooks": [{"type": "command", "command": command}]}


def _ensure(hooks, event, command, marker, layout="claude"):
    """Leave exactly one entry of ours in ``event``, running ``command``."""
    groups = hooks.get(event)
    if groups is None:
        hooks[event] = [_desired_entry(command, layout)]
        return 0
    found = []
    if layout == "cursor":
        found = [h for h in groups if _is_ours(h, marker, ())]
        if len(found) == 1 and found[0].get("command") == command:
            return 0
        removed = _remove_flat(hooks, lambda h: _is_ours(h, marker, ()), events=(event,))
        hooks.setdefault(event, []).append(_desired_entry(command, layout))
        return removed
    for group in groups:
        if isinstance(group, dict) and isinstance(group.get("hooks"), list):
            found.extend(h for h in group["hooks"] if _is_ours(h, marker, ()))
    if len(found) == 1 and found[0].get("type") == "command" and found[0].get("command") == command:
        return 0
    removed = _remove_entries(hooks, lambda h: _is_ours(h, marker, ()), events=(event,))
    hooks.setdefault(event, []).append(_desired_entry(command))
    return removed


def _empty(data, layout):
    """Nothing but what the role itself put there is left in the document."""
    if data == {}:
        return True
    return layout == "cursor" and data == {"version": Number("1")}


def _backup(module, path, result):
    """With backup=true, copy ``path`` next to itself before it changes."""
    if module.params["backup"]:
        result["backup_file"] = module.backup_local(path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            start_command=dict(type="str"),
            end_command=dict(type="str"),
            start_event=dict(type="str", default="SessionStart"),
            end_event=dict(type="str", default="SessionEnd"),
            layout=dict(type="str", choices=["claude", "cursor"], default="claude"),
            key=dict(type="str", default="hooks"),
            existing_events_only=dict(type="bool", default=False),
            marker=dict(type="str", default="assistant-resurrect hook claude-session-"),
            legacy_suffixes=dict(type="list", elements="str", default=[]),
            remove_if_empty=dict(type="bool", default=False),
            mode=dict(type="raw", default="0600"),
            backup=dict(type="bool", default=False),
        ),
        required_if=[("state", "present", ("start_command",))],
        supports_check_mode=True,
    )
    p = module.params
    # Dotfile managers often symlink settings.json: edit the file the link
    # points to, keep the link.
    path = os.path.realpath(p["path"]) if os.path.islink(p["path"]) else p["path"]
    marker = p["marker"]
    result = dict(changed=False, path=path, created=False, removed=0)

    original = None
    if os.path.lexists(path):
        if os.path.isdir(path):
            module.fail_json(msg=f"{path} is a directory, not a settings file", **result)
        try:
            with open(path, encoding="utf-8") as handle:
                original = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            module.fail_json(msg=f"cannot read {path}: {exc}", **result)

    if original is None:
        if p["state"] == "absent" or p["existing_events_only"]:
            module.exit_json(**result)
        data = {}
    else:
        try:
            data = _parse(original)
        except NotClaudeJSON as exc:
            module.fail_json(
                msg=f"{path} cannot be kept as it is: {exc}. It was left unchanged: fix it and "
                "run again.",
                **result,
            )
        except (ValueError, RecursionError) as exc:
            reason = "it nests too deeply" if isinstance(exc, RecursionError) else str(exc)
            module.fail_json(
                msg=f"{path} is not valid JSON ({reason}). It was left unchanged: fix it (or "
                "move it away) and run again.",
                **result,
            )
        if not isinstance(data, dict):
            module.fail_json(
                msg=f"{path} does not hold a JSON object at the top level; it was left unchanged.",
                **result,
            )
    before = _compact(module, path, data, result)

    key, layout = p["key"], p["layout"]
    events = [e for e in (p["start_event"], p["end_event"] if p["end_command"] else None) if e]
    remove = _remove_flat if layout == "cursor" else _remove_entries
    where = f"'{key}'" if key else "the document"
    hooks = data if not key else data.get(key)
    if p["state"] == "absent":
        if isinstance(hooks, dict):
            result["removed"] = remove(hooks, lambda h: _is_ours(h, marker, ()))
            if key and result["removed"] and not hooks:
                del data[key]
    else:
        if key and hooks is None and key not in data:
            hooks = {}
        elif not isinstance(hooks, dict):
            module.fail_json(
                msg=f"{path}: {where} is not a JSON object (it is {type(hooks).__name__}); "
                "it was left unchanged. Fix it and run again.",
                **result,
            )
        for event in events:
            if event in hooks and not isinstance(hooks[event], list):
                module.fail_json(
                    msg=f"{path}: '{(key + '.') if key else ''}{event}' is not a list; it was "
                    "left unchanged. Fix it and run again.",
                    **result,
                )
        legacy = tuple(p["legacy_suffixes"])
        removed = 0
        if legacy:
            removed += remove(hooks, lambda h: _is_ours(h, "\0never\0", legacy))
        if p["existing_events_only"]:
            events = [e for e in events if e in hooks]
        # Our entries in events other than ours are stale: drop them.
        removed += remove(
            hooks,
            lambda h: _is_ours(h, marker, ()),
            events=[k for k in hooks if k not in events],
        )
        if p["start_event"] in events:
            removed += _ensure(hooks, p["start_event"], p["start_command"], marker, layout)
        if p["end_command"] and p["end_event"] in events:
            removed += _ensure(hooks, p["end_event"], p["end_command"], marker, layout)
        result["removed"] = removed
        if key and key not in data:
            data[key] = hooks
        if layout == "cursor" and "version" not in data:
            data = {"version": Number("1"), **data}

    after = _compact(module, path, data, result)
    if p["state"] == "absent" and p["remove_if_empty"] and _empty(data, layout):
        result["changed"] = True
        if module._diff:
            result["diff"] = dict(before_header=path, after_header=path, before=original, after="")
        if not module.check_mode:
            _backup(module, path, result)
            os.unlink(path)
        module.exit_json(**result)
    if original is not None and before == after:
        module.exit_json(**result)

    new_text = _render(data, original)
    result["changed"] = True
    result["created"] = original is None
    if module._diff:
        result["diff"] = dict(
            before_header=path,
            after_header=path,
            before=original or "",
            after=new_text,
        )
    if module.check_mode:
        module.exit_json(**result)

    if original is not None:
        _backup(module, path, result)
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, 0o700)
        except OSError as exc:
            module.fail_json(msg=f"cannot create {directory}: {exc}", **result)
    fd, tmp = tempfile.mkstemp(prefix=".settings.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new_text)
        module.atomic_move(tmp, path)
        if original is None:
            mode = p["mode"]
            os.chmod(path, int(mode, 8) if isinstance(mode, str) else int(mode))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
