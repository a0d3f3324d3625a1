"""The role's Claude settings module, run directly (as Ansible runs it)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROLE

pytestmark = pytest.mark.role

MODULE = ROLE / "library" / "assistant_resurrect_claude_settings.py"
START = "/h/.local/bin/assistant-resurrect hook claude-session-start"
END = "/h/.local/bin/assistant-resurrect hook claude-session-end"


def run_module(tmp_path: Path, check: bool = False, **params) -> dict:
    args = tmp_path / f"args-{len(list(tmp_path.iterdir()))}.json"
    params = {"start_command": START, "end_command": END, **params}
    params.update({"_ansible_check_mode": check, "_ansible_diff": True})
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
    proc = subprocess.run(
        [sys.executable, str(MODULE), str(args)], capture_output=True, text=True, timeout=60
    )
    return json.loads(proc.stdout)


def ours(data: dict, event: str) -> list[str]:
    return [
        h["command"]
        for group in data["hooks"].get(event, [])
        if isinstance(group, dict) and isinstance(group.get("hooks"), list)
        for h in group["hooks"]
        if isinstance(h, dict) and "assistant-resurrect hook" in str(h.get("command"))
    ]


def test_invalid_json_fails_clearly_and_is_never_overwritten(tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text('{"hooks": {"SessionStart": [}\n')
    before = settings.read_bytes()
    result = run_module(tmp_path, path=str(settings))
    assert result.get("failed") is True
    assert "is not valid JSON" in result["msg"] and str(settings) in result["msg"]
    assert settings.read_bytes() == before


def test_creates_file_with_both_entries_and_is_idempotent(tmp_path):
    settings = tmp_path / "claude" / "settings.json"
    first = run_module(tmp_path, path=str(settings))
    assert first["changed"] and first["created"]
    data = json.loads(settings.read_text())
    assert ours(data, "SessionStart") == [START]
    assert ours(data, "SessionEnd") == [END]
    assert oct(settings.stat().st_mode & 0o777) == "0o600"
    mtime = settings.stat().st_mtime_ns
    second = run_module(tmp_path, path=str(settings))
    assert second["changed"] is False
    assert settings.stat().st_mtime_ns == mtime


def test_check_mode_reports_and_diffs_without_writing(tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text('{\n  "model": "opus"\n}\n')
    result = run_module(tmp_path, check=True, path=str(settings))
    assert result["changed"] is True
    assert START in result["diff"]["after"]
    assert result["diff"]["before"] == '{\n  "model": "opus"\n}\n'
    assert settings.read_text() == '{\n  "model": "opus"\n}\n'


def test_stale_entry_is_replaced_not_duplicated(tmp_path):
    settings = tmp_path / "settings.json"
    old = "/old/bin/assistant-resurrect hook claude-session-start"
    settings.write_text(
        json.dumps(
            {
                "hooks": {
                    "SessionStart": [
                        {"matcher": "", "hooks": [{"type": "command", "command": old}]},
                        {"matcher": "", "hooks": [{"type": "command", "command": old}]},
                    ]
                }
            },
            indent=2,
        )
    )
    run_module(tmp_path, path=str(settings))
    data = json.loads(settings.read_text())
    assert ours(data, "SessionStart") == [START]
    assert len(data["hooks"]["SessionStart"]) == 1


def test_keeps_indentation_and_other_tools(tmp_path):
    settings = tmp_path / "settings.json"
    original = {
        "hooks": {
            "SessionStart": [{"matcher": "x", "hooks": [{"type": "command", "command": "other"}]}]
        },
        "z": 1,
        "a": [1, 2],
    }
    settings.write_text(json.dumps(original, indent="\t"))
    run_module(tmp_path, path=str(settings))
    text = settings.read_text()
    assert '\n\t"hooks": {' in text and not text.endswith("\n")
    data = json.loads(text)
    assert list(data) == ["hooks", "z", "a"]
    assert data["hooks"]["SessionStart"][0] == original["hooks"]["SessionStart"][0]
    run_module(tmp_path, path=str(settings), state="absent")
    assert settings.read_text() == json.dumps(original, indent="\t")


def test_symlinked_settings_stay_a_symlink(tmp_path):
    target = tmp_path / "dotfiles" / "settings.json"
    target.parent.mkdir()
    target.write_text("{}\n")
    link = tmp_path / "settings.json"
    os.symlink(target, link)
    run_module(tmp_path, path=str(link))
    assert link.is_symlink()
    assert ours(json.loads(target.read_text()), "SessionEnd") == [END]


def test_legacy_entries_removed_only_when_asked(tmp_path):
    settings = tmp_path / "settings.json"
    legacy = {
        "hooks": {
            "SessionStart": [
                {
                    "matcher": "",
                    "hooks": [
                        {"type": "command", "command": "bash '/p/hooks/claude-session-track.sh'"}
                    ],
                }
            ],
            "SessionEnd": [
                {
                    "matcher": "",
                    "hooks": [
                        {"type": "command", "command": "/p/hooks/claude-session-cleanup.sh"},
                        {"type": "command", "command": "keep-me"},
                    ],
                }
            ],
        }
    }
    settings.write_text(json.dumps(legacy))
    run_module(tmp_path, path=str(settings))
    kept = json.loads(settings.read_text())
    assert "claude-session-track.sh" in json.dumps(kept)
    run_module(
        tmp_path,
        path=str(settings),
        legacy_suffixes=["claude-session-track.sh", "claude-session-cleanup.sh"],
    )
    data = json.loads(settings.read_text())
    text = json.dumps(data)
    assert "claude-session-track" not in text and "claude-session-cleanup" not in text
    assert data["hooks"]["SessionEnd"][0]["hooks"] == [{"type": "command", "command": "keep-me"}]
    assert ours(data, "SessionStart") == [START]


def test_absent_removes_empty_file_only_when_asked(tmp_path):
    settings = tmp_path / "settings.json"
    run_module(tmp_path, path=str(settings))
    run_module(tmp_path, path=str(settings), state="absent")
    assert json.loads(settings.read_text()) == {}
    run_module(tmp_path, path=str(settings))
    result = run_module(tmp_path, path=str(settings), state="absent", remove_if_empty=True)
    assert result["changed"] and not settings.exists()


def test_hooks_object_of_wrong_type_fails_install_but_not_uninstall(tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text('{"hooks": ["not", "an", "object"]}')
    result = run_module(tmp_path, path=str(settings))
    assert result.get("failed") is True and "'hooks' is not a JSON object" in result["msg"]
    result = run_module(tmp_path, path=str(settings), state="absent")
    assert not result.get("failed") and result["changed"] is False
    assert settings.read_text() == '{"hooks": ["not", "an", "object"]}'


def _folder_with_settings(tmp_path: Path, text: str) -> Path:
    settings = tmp_path / "claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(text)
    return settings


def test_backup_is_made_before_a_change(tmp_path):
    original = '{\n  "model": "opus"\n}\n'
    settings = _folder_with_settings(tmp_path, original)
    result = run_module(tmp_path, path=str(settings), backup=True)
    assert result["changed"] is True
    backup = Path(result["backup_file"])
    assert backup.parent == settings.parent and backup.name.startswith("settings.json.")
    assert backup.read_text() == original
    assert ours(json.loads(settings.read_text()), "SessionStart") == [START]
    assert sorted(p.name for p in settings.parent.iterdir()) == sorted(
        ["settings.json", backup.name]
    )


def test_backup_is_made_before_removal_and_deletion(tmp_path):
    settings = _folder_with_settings(tmp_path, "{}\n")
    run_module(tmp_path, path=str(settings))
    installed = settings.read_text()
    result = run_module(
        tmp_path, path=str(settings), state="absent", remove_if_empty=True, backup=True
    )
    assert result["changed"] is True and not settings.exists()
    assert Path(result["backup_file"]).read_text() == installed


def test_no_backup_without_a_change_or_for_a_new_file(tmp_path):
    settings = tmp_path / "claude" / "settings.json"
    created = run_module(tmp_path, path=str(settings), backup=True)
    assert created["created"] is True and "backup_file" not in created
    again = run_module(tmp_path, path=str(settings), backup=True)
    assert again["changed"] is False and "backup_file" not in again
    assert [p.name for p in settings.parent.iterdir()] == ["settings.json"]


def test_no_backup_in_check_mode(tmp_path):
    original = '{"model": "opus"}'
    settings = _folder_with_settings(tmp_path, original)
    result = run_module(tmp_path, check=True, path=str(settings), backup=True)
    assert result["changed"] is True and "backup_file" not in result
    assert [p.name for p in settings.parent.iterdir()] == ["settings.json"]
    assert settings.read_text() == original


def test_no_backup_unless_asked(tmp_path):
    settings = _folder_with_settings(tmp_path, "{}\n")
    result = run_module(tmp_path, path=str(settings))
    assert result["changed"] is True and "backup_file" not in result
    assert [p.name for p in settings.parent.iterdir()] == ["settings.json"]


def test_documentation_describes_the_module():
    spec = importlib.util.spec_from_file_location("ar_claude_settings", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["module"] == "assistant_resurrect_claude_settings"
    assert doc["short_description"] and doc["description"] and doc["version_added"]
    options = doc["options"]
    assert set(options) == {
        "path",
        "state",
        "start_command",
        "end_command",
        "marker",
        "legacy_suffixes",
        "remove_if_empty",
        "mode",
        "backup",
        "start_event",
        "end_event",
        "layout",
        "key",
        "existing_events_only",
    }
    for name, option in options.items():
        assert option["description"] and option["type"], name
        assert "required" in option, name
    assert options["backup"] == {**options["backup"], "type": "bool", "default": False}
    assert options["state"]["choices"] == ["present", "absent"]
    attributes = doc["attributes"]
    assert attributes["check_mode"]["support"] == "full"
    assert attributes["diff_mode"]["support"] == "full"
    assert attributes["platform"]["platforms"] == "posix"
    assert yaml.safe_load(module.EXAMPLES)
    returned = yaml.safe_load(module.RETURN)
    assert {"path", "backup_file", "created", "removed"} <= set(returned)


# -- values the module does not own are never changed ------------------------

NUMBERS = ["1e400", "1.0", "1E5", "-0.0", "12345678901234567890123", "0.1e-7", "-1E+2", "0", "7"]
NUMBERS += ["9" * 5000]  # past Python's int-string conversion limit


def test_numbers_are_written_back_exactly_as_written(tmp_path):
    """1e400 parsed as a float came back as Infinity (no JSON: Claude could no
    longer read its settings), 1E5 as 100000.0."""
    settings = tmp_path / "settings.json"
    body = ",\n".join(f'  "n{i}": {n}' for i, n in enumerate(NUMBERS))
    hooks = '  "hooks": {"PreToolUse": [{"matcher": "", "timeout": 1.50, "hooks": []}]}'
    settings.write_text("{\n" + body + ',\n  "list": [1.0, -0.0, 1e400],\n' + hooks + "\n}\n")
    result = run_module(tmp_path, path=str(settings))
    assert result["changed"] is True, result
    text = settings.read_text()
    for i, n in enumerate(NUMBERS):
        assert f'\n  "n{i}": {n},\n' in text, (n[:40], text[:2000])
    assert '"list": [\n    1.0,\n    -0.0,\n    1e400\n  ]' in text, text
    assert '"timeout": 1.50' in text
    assert "Infinity" not in text and "100000.0" not in text
    data = json.loads(text, parse_int=str)
    assert ours(data, "SessionStart") == [START]
    # and the same numbers again when our entries go
    run_module(tmp_path, path=str(settings), state="absent")
    text = settings.read_text()
    for i, n in enumerate(NUMBERS):
        assert f'\n  "n{i}": {n},\n' in text, n[:40]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_fail_clearly_and_leave_the_file(tmp_path, constant):
    settings = tmp_path / "settings.json"
    settings.write_text(f'{{"model": "opus", "x": {constant}}}\n')
    before = settings.read_bytes()
    result = run_module(tmp_path, path=str(settings))
    assert result.get("failed") is True, result
    assert constant.lstrip("-") in result["msg"] and "not JSON" in result["msg"], result["msg"]
    assert str(settings) in result["msg"] and "left unchanged" in result["msg"]
    assert "Traceback" not in json.dumps(result)
    assert settings.read_bytes() == before


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "a\\udc00b", "\\ud83d\\ud83d"])
def test_lone_surrogate_escapes_stay_escapes(tmp_path, escape):
    """A lone surrogate escape (valid JSON text; Claude's JSON.parse keeps it)
    used to raise a UnicodeEncodeError traceback: it is written back verbatim."""
    settings = tmp_path / "settings.json"
    settings.write_text(f'{{\n  "title": "{escape}",\n  "{escape}": [1.0]\n}}\n')
    result = run_module(tmp_path, path=str(settings))
    assert result["changed"] is True and not result.get("failed"), result
    text = settings.read_text()
    assert f'\n  "title": "{escape}",\n' in text, text
    assert f'\n  "{escape}": [\n    1.0\n  ],\n' in text, text
    assert ours(json.loads(text), "SessionEnd") == [END]
    second = run_module(tmp_path, path=str(settings))
    assert second["changed"] is False


def test_a_surrogate_pair_escape_stays_the_same_character(tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text('{"title": "\\ud83d\\ude00"}\n')
    run_module(tmp_path, path=str(settings))
    assert json.loads(settings.read_text())["title"] == "\U0001f600"


def test_a_key_written_twice_fails_clearly_and_leaves_the_file(tmp_path):
    """(Python and Claude keep the last one: a rewrite would drop the first.)"""
    settings = tmp_path / "settings.json"
    settings.write_text('{"env": {"A": "1", "A": "2"}}\n')
    before = settings.read_bytes()
    result = run_module(tmp_path, path=str(settings))
    assert result.get("failed") is True, result
    assert '"A" twice' in result["msg"] and "left unchanged" in result["msg"], result["msg"]
    assert settings.read_bytes() == before


def test_a_deeply_nested_file_fails_clearly(tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    before = settings.read_bytes()
    result = run_module(tmp_path, path=str(settings))
    assert result.get("failed") is True, result
    assert "nests too deeply" in result["msg"], result["msg"]
    assert settings.read_bytes() == before


def test_rendering_matches_json_dumps(tmp_path):
    """Files the module wrote before keep their exact text (no churn)."""
    settings = tmp_path / "settings.json"
    original = {
        "a": [],
        "b": {},
        "c": [{"d": None, "e": True, "f": False, "g": 'é\n"\\\u2028\x7f'}],
        "h": 3,
    }
    for indent in ("  ", "\t", "    "):
        settings.write_text(json.dumps(original, indent=indent, ensure_ascii=False) + "\n")
        run_module(tmp_path, path=str(settings))
        run_module(tmp_path, path=str(settings), state="absent")
        assert (
            settings.read_text() == json.dumps(original, indent=indent, ensure_ascii=False) + "\n"
        )


def test_cursor_layout_flat_entries_version_and_foreign_kept(tmp_path):
    """Cursor's hooks.json: `{"version": 1, "hooks": {event: [{"command"}]}}`;
    a foreign entry of the same event is kept, ours is there once, absent
    takes out only ours, and a file the role created goes again."""
    hooks = tmp_path / "hooks.json"
    foreign = {"version": 1, "hooks": {"sessionStart": [{"command": "./audit.sh"}]}}
    hooks.write_text(json.dumps(foreign, indent=2) + "\n")
    cursor = dict(
        path=str(hooks),
        layout="cursor",
        start_event="sessionStart",
        end_event="beforeSubmitPrompt",
        start_command="/b/assistant-resurrect hook cursor-session-start",
        end_command="/b/assistant-resurrect hook cursor-prompt",
        marker="assistant-resurrect hook cursor-",
    )
    assert run_module(tmp_path, **cursor)["changed"]
    data = json.loads(hooks.read_text())
    assert data["hooks"]["sessionStart"] == [
        {"command": "./audit.sh"},
        {"command": "/b/assistant-resurrect hook cursor-session-start"},
    ]
    assert data["hooks"]["beforeSubmitPrompt"] == [
        {"command": "/b/assistant-resurrect hook cursor-prompt"}
    ]
    assert not run_module(tmp_path, **cursor)["changed"]  # idempotent
    gone = run_module(tmp_path, **{**cursor, "state": "absent", "remove_if_empty": True})
    assert gone["changed"] and gone["removed"] == 2
    assert json.loads(hooks.read_text()) == foreign
    hooks.unlink()
    made = run_module(tmp_path, **cursor)
    assert made["created"] and json.loads(hooks.read_text())["version"] == 1
    run_module(tmp_path, **{**cursor, "state": "absent", "remove_if_empty": True})
    assert not hooks.exists()


def test_whole_document_key_and_existing_events_only(tmp_path):
    """Droid's hooks.json is the hooks object itself (key ""); with
    existing_events_only ours goes only into events it already lists, and a
    missing file is not created."""
    hooks = tmp_path / "hooks.json"
    droid = dict(
        path=str(hooks),
        key="",
        existing_events_only=True,
        start_command="/b/assistant-resurrect hook droid-session-start",
        end_command="/b/assistant-resurrect hook droid-session-end",
        marker="assistant-resurrect hook droid-session-",
    )
    assert not run_module(tmp_path, **droid)["changed"] and not hooks.exists()
    theirs = {"SessionStart": [{"matcher": "", "hooks": [{"type": "command", "command": "x"}]}]}
    hooks.write_text(json.dumps(theirs))
    assert run_module(tmp_path, **droid)["changed"]
    data = json.loads(hooks.read_text())
    assert set(data) == {"SessionStart"}  # no SessionEnd added: settings.json's stays in force
    assert [g["hooks"][0]["command"] for g in data["SessionStart"]] == [
        "x",
        "/b/assistant-resurrect hook droid-session-start",
    ]
    assert run_module(tmp_path, **{**droid, "state": "absent"})["removed"] == 1
    assert json.loads(hooks.read_text()) == theirs
