"""The role's Kilo Code CLI, Factory Droid and Cursor Agent tasks
(tasks/kilo.yml, droid.yml, cursor.yml), run by ansible-playbook (-c local)
on a throwaway home the way user.yml and absent.yml import them: installed
with the role's defaults, foreign keys and hooks kept, idempotent, switched
off or `state: absent` removing only ours (and the files and folders the
role created, once nothing else is in them)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

from assistant_resurrect import assistants

from .conftest import RECAP, ROLE, VENV_BIN

pytestmark = pytest.mark.role

RECORD = (
    "{{ {'created': {"
    "'kilo_tui': assistant_resurrect__kilo_tui['created'] | default(false),"
    "'kilo_dir': not (assistant_resurrect__kilo_dir['stat']['exists'] | default(true)),"
    "'droid_settings': assistant_resurrect__droid['created'] | default(false),"
    "'cursor_hooks': assistant_resurrect__cursor['created'] | default(false),"
    "'droid_dir': not (assistant_resurrect__droid_dir['stat']['exists'] | default(true)),"
    "'cursor_dir': not (assistant_resurrect__cursor_dir['stat']['exists'] | default(true))"
    "}} | to_json }}"
)


def play(
    tmp: Path, home: Path, tool: str, state: str, extra: Optional[dict[str, Any]] = None
) -> tuple[int, int, str]:
    """Run tasks/<tool>.yml with the role's defaults; (rc, changed, output).
    The first present run records what it created, as record.yml does."""
    rec = tmp / "rec.json"
    if not (tmp / "files").exists():  # `copy: src:` looks beside the playbook too
        (tmp / "files").symlink_to(ROLE / "files")
    book = tmp / f"play-{len(list(tmp.glob('play-*')))}.yml"
    extra_vars = tmp / f"{book.stem}.json"
    extra_vars.write_text(
        json.dumps(
            {
                "ansible_python_interpreter": "/usr/bin/python3",
                "assistant_resurrect_state": state,
                "assistant_resurrect__u": {
                    "home": str(home),
                    "bin": str(home / ".local/bin/assistant-resurrect"),
                },
                "assistant_resurrect__rec": json.loads(rec.read_text()) if rec.exists() else {},
                **(extra or {}),
            }
        )
    )
    tasks: list[dict[str, Any]] = [
        {"ansible.builtin.import_tasks": str(ROLE / "tasks" / f"{tool}.yml")},
        {
            "name": "Record",
            "ansible.builtin.copy": {"dest": str(rec), "content": RECORD},
            "when": "assistant_resurrect_state == 'present' and not rec_exists",
            "vars": {"rec_exists": rec.exists()},
            "changed_when": False,
        },
    ]
    book.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars_files": [str(ROLE / "defaults" / "main.yml")],
                    "tasks": tasks,
                }
            ]
        )
    )
    env = {
        **os.environ,
        "HOME": str(tmp),
        "ANSIBLE_HOME": str(tmp / ".ansible"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / ".ansible-tmp"),
        "ANSIBLE_REMOTE_TMP": str(tmp / ".ansible-remote"),
        "ANSIBLE_LIBRARY": str(ROLE / "library"),
        "ANSIBLE_FILTER_PLUGINS": str(ROLE / "filter_plugins"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    }
    proc = subprocess.run(
        [
            str(VENV_BIN / "ansible-playbook"),
            "-c",
            "local",
            "-i",
            "localhost,",
            "-e",
            f"@{extra_vars}",
            str(book),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    m = RECAP.search(proc.stdout)
    return proc.returncode, int(m.group(2)) if m else -1, proc.stdout + proc.stderr


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    ("tool", "name"), [("droid", "droid"), ("cursor", "cursor-agent"), ("kilo", "kilo")]
)
def test_the_registry_names_what_the_task_file_installs(tool: str, name: str) -> None:
    assistant = assistants.by_name(name)
    assert assistant is not None
    tasks = (ROLE / "tasks" / f"{tool}.yml").read_text()
    for hook in assistant.agent_hooks:
        assert f"hook {hook}" in tasks
    for plugin in assistant.plugin_files:
        assert f"src: {plugin}" in tasks
    user = (ROLE / "tasks" / "user.yml").read_text()
    absent = (ROLE / "tasks" / "absent.yml").read_text()
    assert f"import_tasks: {tool}.yml" in user and f"import_tasks: {tool}.yml" in absent


def test_kilo_plugins_installed_listed_and_removed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    kilo = home / ".config" / "kilo"
    (home / ".config").mkdir(parents=True)
    rc, changed, out = play(tmp_path, home, "kilo", "present")
    assert rc == 0 and changed == 4, out
    plugin = kilo / "plugins" / "assistant-resurrect.js"
    tui = kilo / "assistant-resurrect-tui.js"
    assert plugin.read_text() == (ROLE / "files/opencode/assistant-resurrect.js").read_text()
    assert tui.read_text() == (ROLE / "files/opencode/assistant-resurrect-tui.js").read_text()
    assert json.loads((kilo / "tui.json").read_text()) == {"plugin": [str(tui)]}
    rc, changed, out = play(tmp_path, home, "kilo", "present")
    assert rc == 0 and changed == 0, out  # idempotent
    rc, changed, out = play(tmp_path, home, "kilo", "absent")
    assert rc == 0, out
    assert not kilo.exists()  # the role made ~/.config/kilo: nothing of it is left
    assert (home / ".config").is_dir()


def test_kilo_keeps_the_users_tui_json_and_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    kilo = home / ".config" / "kilo"
    kilo.mkdir(parents=True)
    theirs = {"plugin": ["/opt/other-tui.js"], "theme": "dark"}
    (kilo / "tui.json").write_text(json.dumps(theirs))
    (kilo / "kilo.json").write_text("{}")
    rc, _, out = play(tmp_path, home, "kilo", "present")
    assert rc == 0, out
    listed = json.loads((kilo / "tui.json").read_text())["plugin"]
    assert listed == ["/opt/other-tui.js", str(kilo / "assistant-resurrect-tui.js")]
    rc, changed, out = play(tmp_path, home, "kilo", "present", {"assistant_resurrect_kilo": False})
    assert rc == 0 and changed == 2, out
    assert json.loads((kilo / "tui.json").read_text()) == theirs
    assert files_under(kilo) == ["kilo.json", "plugins", "tui.json"]
    rc, _, out = play(tmp_path, home, "kilo", "absent")
    assert rc == 0 and files_under(kilo) == ["kilo.json", "plugins", "tui.json"], out


DROID_SETTINGS = {
    "customModels": [{"model": "m", "id": "custom:m-0", "index": 0}],
    "hooks": {
        "SessionStart": [{"matcher": "", "hooks": [{"type": "command", "command": "theirs.sh"}]}],
        "PreToolUse": [{"matcher": "Execute", "hooks": [{"type": "command", "command": "g"}]}],
    },
}


def droid_ours(doc: dict, event: str) -> list[str]:
    return [
        h["command"]
        for group in doc.get(event, [])
        for h in group["hooks"]
        if "assistant-resurrect hook droid-session-" in h["command"]
    ]


def test_droid_hooks_merged_into_settings_and_hooks_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    factory = home / ".factory"
    factory.mkdir(parents=True)
    (factory / "settings.json").write_text(json.dumps(DROID_SETTINGS, indent=2) + "\n")
    listed = {"SessionStart": [{"hooks": [{"type": "command", "command": "mine.sh"}]}]}
    (factory / "hooks.json").write_text(json.dumps(listed))
    rc, changed, out = play(tmp_path, home, "droid", "present")
    assert rc == 0 and changed == 2, out
    bin_ = home / ".local/bin/assistant-resurrect"
    settings = json.loads((factory / "settings.json").read_text())
    assert droid_ours(settings["hooks"], "SessionStart") == [f"{bin_} hook droid-session-start"]
    assert droid_ours(settings["hooks"], "SessionEnd") == [f"{bin_} hook droid-session-end"]
    assert settings["customModels"] == DROID_SETTINGS["customModels"]
    assert settings["hooks"]["PreToolUse"] == DROID_SETTINGS["hooks"]["PreToolUse"]
    assert settings["hooks"]["SessionStart"][0] == DROID_SETTINGS["hooks"]["SessionStart"][0]
    hooks = json.loads((factory / "hooks.json").read_text())
    # hooks.json's SessionStart replaces settings.json's: ours is there too;
    # it has no SessionEnd, so settings.json's (ours) stays in force.
    assert droid_ours(hooks, "SessionStart") == [f"{bin_} hook droid-session-start"]
    assert set(hooks) == {"SessionStart"}
    rc, changed, out = play(tmp_path, home, "droid", "present")
    assert rc == 0 and changed == 0, out
    rc, changed, out = play(
        tmp_path, home, "droid", "present", {"assistant_resurrect_droid": False}
    )
    assert rc == 0 and changed == 2, out
    assert json.loads((factory / "settings.json").read_text()) == DROID_SETTINGS
    assert json.loads((factory / "hooks.json").read_text()) == listed


def test_droid_settings_the_role_created_go_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = home / ".factory" / "settings.json"
    rc, _, out = play(tmp_path, home, "droid", "present")
    assert rc == 0 and settings.exists(), out
    assert not (home / ".factory" / "hooks.json").exists()  # never created
    rc, changed, out = play(tmp_path, home, "droid", "absent")
    assert rc == 0 and changed == 2, out
    assert not settings.exists() and files_under(home) == []  # ~/.factory went too


def test_cursor_hooks_merged_kept_and_removed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    hooks = home / ".cursor" / "hooks.json"
    hooks.parent.mkdir(parents=True)
    theirs = {
        "version": 1,
        "hooks": {"beforeSubmitPrompt": [{"command": "./audit.sh"}], "stop": [{"command": "s"}]},
    }
    hooks.write_text(json.dumps(theirs, indent=2) + "\n")
    rc, changed, out = play(tmp_path, home, "cursor", "present")
    assert rc == 0 and changed == 1, out
    bin_ = home / ".local/bin/assistant-resurrect"
    doc = json.loads(hooks.read_text())
    assert doc["version"] == 1 and doc["hooks"]["stop"] == [{"command": "s"}]
    assert doc["hooks"]["sessionStart"] == [{"command": f"{bin_} hook cursor-session-start"}]
    assert doc["hooks"]["beforeSubmitPrompt"] == [
        {"command": "./audit.sh"},
        {"command": f"{bin_} hook cursor-prompt"},
    ]
    rc, changed, out = play(tmp_path, home, "cursor", "present")
    assert rc == 0 and changed == 0, out
    rc, changed, out = play(tmp_path, home, "cursor", "absent")
    assert rc == 0 and changed == 1, out
    assert json.loads(hooks.read_text()) == theirs


def test_cursor_hooks_file_the_role_created_goes_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    hooks = home / ".cursor" / "hooks.json"
    rc, _, out = play(tmp_path, home, "cursor", "present")
    assert rc == 0 and json.loads(hooks.read_text())["version"] == 1, out
    rc, changed, out = play(tmp_path, home, "cursor", "absent")
    assert rc == 0 and changed == 2, out
    assert not hooks.exists() and files_under(home) == []  # ~/.cursor went too
