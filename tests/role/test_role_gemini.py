"""The role's Gemini CLI tasks (tasks/gemini.yml), run by ansible-playbook
(-c local) on a throwaway home: our SessionStart/SessionEnd hooks merged into
~/.gemini/settings.json keeping every other key and hook, idempotent, check
and diff mode, `assistant_resurrect_gemini: false` and `state: absent`
removing only ours (and the file when the role created it and nothing else
is left), all with the role's own defaults, module and filters."""

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

MARKER = "assistant-resurrect hook gemini-session-"
USER_SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "hooksConfig": {"notifications": False},
    "hooks": {
        "SessionStart": [
            {"matcher": "startup", "hooks": [{"type": "command", "command": "other-tool --start"}]}
        ],
        "BeforeTool": [
            {"matcher": "run_shell", "hooks": [{"type": "command", "command": "guard.sh"}]}
        ],
    },
}


def play(tmp: Path, home: Path, state: str, extra: Optional[dict[str, Any]] = None, *flags: str):
    """Run tasks/gemini.yml the way user.yml / absent.yml do, with the role's
    defaults; returns (rc, changed count, output)."""
    rec = tmp / "rec.json"
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
    book.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars_files": [str(ROLE / "defaults" / "main.yml")],
                    "tasks": [
                        {"ansible.builtin.import_tasks": str(ROLE / "tasks" / "gemini.yml")},
                        {
                            "name": "Record",
                            "ansible.builtin.copy": {
                                "dest": str(rec),
                                "content": "{{ {'created': {'gemini_settings': "
                                "assistant_resurrect__gemini['created'] | default(false)}} "
                                "| to_json }}",
                            },
                            "when": "assistant_resurrect_state == 'present' and not rec_exists",
                            "vars": {"rec_exists": rec.exists()},
                            "changed_when": False,
                        },
                    ],
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
            *flags,
            str(book),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    m = RECAP.search(proc.stdout)
    return proc.returncode, int(m.group(2)) if m else -1, out


def ours(data: dict, event: str) -> list[str]:
    return [
        h["command"]
        for group in data.get("hooks", {}).get(event, [])
        for h in group["hooks"]
        if MARKER in h.get("command", "")
    ]


def test_the_registry_names_the_hooks_the_role_installs() -> None:
    gemini = assistants.by_name("gemini")
    assert gemini is not None
    tasks = (ROLE / "tasks" / "gemini.yml").read_text()
    for hook in gemini.agent_hooks:
        assert hook.startswith(MARKER.split()[-1]) and f"hook {hook}" in tasks


def test_merge_keeps_everything_else_and_absent_removes_only_ours(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".gemini").mkdir(parents=True)
    settings = home / ".gemini" / "settings.json"
    original = json.dumps(USER_SETTINGS, indent=2) + "\n"
    settings.write_text(original)

    rc, changed, out = play(tmp_path, home, "present", None, "--check", "--diff")
    assert rc == 0 and changed == 1, out
    assert MARKER in out and settings.read_text() == original  # check mode writes nothing

    rc, changed, out = play(tmp_path, home, "present")
    assert rc == 0 and changed == 1, out
    data = json.loads(settings.read_text())
    bin_ = home / ".local/bin/assistant-resurrect"
    assert ours(data, "SessionStart") == [f"{bin_} hook gemini-session-start"]
    assert ours(data, "SessionEnd") == [f"{bin_} hook gemini-session-end"]
    entry = next(g for g in data["hooks"]["SessionStart"] if MARKER in g["hooks"][0]["command"])
    assert entry["matcher"] == ""  # every source: startup, resume, clear
    assert data["security"] == USER_SETTINGS["security"]
    assert data["hooksConfig"] == USER_SETTINGS["hooksConfig"]
    assert data["hooks"]["BeforeTool"] == USER_SETTINGS["hooks"]["BeforeTool"]
    assert data["hooks"]["SessionStart"][0] == USER_SETTINGS["hooks"]["SessionStart"][0]

    rc, changed, out = play(tmp_path, home, "present")
    assert rc == 0 and changed == 0, out  # idempotent
    rc, changed, out = play(tmp_path, home, "present", None, "--check", "--diff")
    assert rc == 0 and changed == 0, out

    rc, changed, out = play(tmp_path, home, "absent")
    assert rc == 0 and changed == 1, out
    assert json.loads(settings.read_text()) == USER_SETTINGS  # the user's file, kept
    rc, changed, out = play(tmp_path, home, "absent")
    assert rc == 0 and changed == 0, out


def test_switched_off_takes_them_out(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = home / ".gemini" / "settings.json"
    rc, _, out = play(tmp_path, home, "present")
    assert rc == 0 and ours(json.loads(settings.read_text()), "SessionEnd"), out
    rc, changed, out = play(tmp_path, home, "present", {"assistant_resurrect_gemini": False})
    assert rc == 0 and changed == 1, out
    assert json.loads(settings.read_text()) == {}


def test_a_file_the_role_created_is_removed_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = home / ".gemini" / "settings.json"
    rc, _, out = play(tmp_path, home, "present")
    assert rc == 0 and settings.exists(), out
    assert oct(settings.stat().st_mode & 0o777) == "0o600"
    rc, changed, out = play(tmp_path, home, "absent")
    assert rc == 0 and changed == 1, out
    assert not settings.exists()


def test_invalid_json_fails_and_is_left_alone(tmp_path: Path) -> None:
    """Gemini reads comments in settings.json; the module does not: it fails
    with one message and never rewrites the file."""
    home = tmp_path / "home"
    (home / ".gemini").mkdir(parents=True)
    settings = home / ".gemini" / "settings.json"
    settings.write_text('{\n  // my comment\n  "ui": {}\n}\n')
    before = settings.read_bytes()
    rc, _, out = play(tmp_path, home, "present")
    assert rc != 0 and "is not valid JSON" in out
    assert settings.read_bytes() == before


def _imports(tasks_file: str) -> list[str]:
    found: list[str] = []

    def walk(tasks: Any) -> None:
        for task in tasks or []:
            if not isinstance(task, dict):
                continue
            for key in ("ansible.builtin.import_tasks", "import_tasks"):
                if key in task:
                    found.append(str(task[key]))
            walk(task.get("block"))

    walk(yaml.safe_load((ROLE / "tasks" / tasks_file).read_text()))
    return found


def test_install_removal_and_record_run_the_gemini_tasks() -> None:
    """user.yml's install block and absent.yml import gemini.yml, and
    record.yml remembers whether the role created the settings file (so that
    removal deletes exactly that)."""
    assert "gemini.yml" in _imports("absent.yml")
    assert "gemini.yml" in _imports("user.yml")
    assert "assistant_resurrect__gemini['created']" in (ROLE / "tasks" / "record.yml").read_text()
