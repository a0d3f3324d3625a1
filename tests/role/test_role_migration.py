"""Migration from the upstream bash plugin tmux-assistant-resurrect.

Dotfiles-bootstrap path: playbooks/localhost.yml as the connecting user
(root here) with HOME pointing at a scratch folder. The home holds what the
bash plugin's versions left behind: its TPM line, the plain source-file line
of config/resurrect-assistants.conf, unquoted hook commands, its
@resurrect-processes list of assistants, its marked block; Claude hook
entries running claude-session-track.sh / claude-session-cleanup.sh; its
OpenCode plugin link.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter

import pytest

from assistant_resurrect import assistants

from .conftest import Session, read, register_chain

pytestmark = pytest.mark.role

LEGACY_TMUX_CONF = """\
# my settings
set -g prefix C-a
set -g @plugin 'tmux-plugins/tpm'
set -g @plugin 'tmux-plugins/tmux-resurrect'
set -g @plugin 'timvw/tmux-assistant-resurrect'

# tmux-assistant-resurrect
source-file {src}/config/resurrect-assistants.conf
set -g @resurrect-hook-post-save-all '{plug}/scripts/save-assistant-sessions.sh'
set -g @resurrect-hook-post-restore-all '{plug}/scripts/restore-assistant-sessions.sh'
set -g @resurrect-processes '"~claude" "~opencode" "~codex"'

# --- begin tmux-assistant-resurrect ---
set -g @plugin 'tmux-plugins/tmux-continuum'
set -g @resurrect-hook-post-save-all "bash '{src}/scripts/save-assistant-sessions.sh'"
set -g @resurrect-hook-post-restore-all "bash '{src}/scripts/restore-assistant-sessions.sh'"
set -g @continuum-save-interval '5'
set -g @continuum-restore 'on'
# --- end tmux-assistant-resurrect ---
run '~/.tmux/plugins/tpm/tpm'
"""

KEPT_USER_LINES = [
    "# my settings",
    "set -g prefix C-a",
    "set -g @plugin 'tmux-plugins/tpm'",
    "set -g @plugin 'tmux-plugins/tmux-resurrect'",
    "run '~/.tmux/plugins/tpm/tpm'",
]


def _legacy_settings(home) -> dict:
    plugin = f"{home}/.tmux/plugins/tmux-assistant-resurrect"
    return {
        "hooks": {
            "SessionStart": [
                {
                    "matcher": "",
                    "hooks": [
                        {
                            "type": "command",
                            "command": f"bash '{plugin}/hooks/claude-session-track.sh'",
                        }
                    ],
                },
                {"matcher": "", "hooks": [{"type": "command", "command": "other-tool start"}]},
            ],
            "SessionEnd": [
                {
                    "matcher": "",
                    "hooks": [
                        {"type": "command", "command": f"{plugin}/hooks/claude-session-cleanup.sh"}
                    ],
                },
            ],
        },
        "theme": "dark",
    }


def _chain(s: Session) -> dict:
    home = s.base / "home-migration"
    (home / ".claude").mkdir(parents=True)
    (home / ".config/opencode/plugins").mkdir(parents=True)
    (home / ".tmux.conf").write_text(
        LEGACY_TMUX_CONF.format(
            src=f"{home}/src/tmux-assistant-resurrect",
            plug="~/.tmux/plugins/tmux-assistant-resurrect",
        )
    )
    (home / ".claude/settings.json").write_text(json.dumps(_legacy_settings(home), indent=2) + "\n")
    legacy_link = home / ".config/opencode/plugins/session-tracker.js"
    os.symlink(
        f"{home}/.tmux/plugins/tmux-assistant-resurrect/hooks/opencode-session-track.js",
        legacy_link,
    )
    (home / ".config/opencode/plugins/mine.js").write_text("export default async () => ({})\n")
    extra = {
        "assistant_resurrect_boot": True,
        "assistant_resurrect_manage_packages": False,
        "assistant_resurrect_state_dirs": [str(s.base / "state-m")],
    }
    env = {"HOME": str(home)}
    r = {"home": home}
    r["converge1"] = s.playbook("localhost.yml", extra, env=env)
    r["tmux_conf"] = read(home / ".tmux.conf")
    snippet = home / ".config/assistant-resurrect/tmux.conf"
    r["snippet"] = read(snippet) if snippet.exists() else ""
    r["settings"] = json.loads(read(home / ".claude/settings.json"))
    r["legacy_link_left"] = legacy_link.is_symlink()
    plugins = home / ".config/opencode/plugins"
    r["opencode_plugins"] = sorted(p.name for p in plugins.iterdir())
    units = home / ".config/systemd/user"
    unit = units / "assistant-resurrect-tmux.service"
    r["unit"] = read(unit) if unit.exists() else None
    wants = units / "default.target.wants/assistant-resurrect-tmux.service"
    r["unit_enabled"] = wants.is_symlink() and wants.resolve() == unit.resolve()
    r["converge2"] = s.playbook("localhost.yml", extra, env=env)
    # The legacy block is gone now: the interval it set comes from role-state.json.
    r["snippet2"] = read(snippet) if snippet.exists() else ""
    state = home / ".local/share/assistant-resurrect/role-state.json"
    r["state2"] = json.loads(read(state)) if state.exists() else {}

    # Upgrade: the bundled source changes, as with a new version of the role.
    venvs = home / ".local/share/assistant-resurrect/venvs"
    r["builds_before"] = sorted(p.name for p in venvs.iterdir())
    source = s.base / "runtime-src-upgrade"
    shutil.copytree(s.source, source)
    (source / "src/assistant_resurrect/_role_test_upgrade.py").write_text("UPGRADED = True\n")
    # The upgrade also sets the interval explicitly: that wins over the kept 5.
    r["upgrade"] = s.playbook(
        "localhost.yml",
        {
            **extra,
            "assistant_resurrect_source": str(source),
            "assistant_resurrect_continuum_save_interval": "15",
        },
        env=env,
    )
    r["snippet_upgrade"] = read(snippet) if snippet.exists() else ""
    r["builds_after"] = sorted(p.name for p in venvs.iterdir())
    # Remove with both opt-ins: TPM/resurrect/continuum and the saved sessions go too.
    saves = home / ".tmux/resurrect"
    saves.mkdir(parents=True, exist_ok=True)
    for name in ("assistant_resurrect_20260101T000000.json", "tmux_resurrect_20260101T000000.txt"):
        (saves / name).write_text("{}\n")
    (saves / "assistant-sessions.json").symlink_to("assistant_resurrect_20260101T000000.json")
    r["upgraded_import"] = subprocess.run(
        [
            str(home / ".local/share/assistant-resurrect/venv/bin/python"),
            "-c",
            "import assistant_resurrect._role_test_upgrade as m; print(m.UPGRADED)",
        ],
        capture_output=True,
        text=True,
    )
    r["purge"] = s.playbook(
        "uninstall.yml",
        {
            **extra,
            "assistant_resurrect_remove_plugins": True,
            "assistant_resurrect_remove_saves": True,
        },
        env=env,
    )
    r["after_purge"] = sorted(
        str(p.relative_to(home)) for p in home.rglob("*") if not p.name.startswith(".ansible")
    )
    return r


register_chain("migration", _chain)


@pytest.fixture(scope="module")
def chain(role_session):
    return role_session.chain("migration")


def _config_lines(text: str) -> list[str]:
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_migration_converges(chain):
    assert chain["converge1"].rc == 0, chain["converge1"].explain()


def test_migration_tmux_conf_has_only_our_block(chain):
    conf = chain["tmux_conf"]
    assert "tmux-assistant-resurrect" not in conf
    assert "resurrect-assistants.conf" not in conf
    assert "assistant-sessions.sh" not in conf
    assert conf.count("# BEGIN assistant-resurrect") == 1
    user_lines = [line for line in conf.splitlines() if line and "assistant-resurrect" not in line]
    assert user_lines == KEPT_USER_LINES


def test_migration_no_duplicate_lines(chain):
    lines = _config_lines(chain["tmux_conf"]) + _config_lines(chain["snippet"])
    dupes = [line for line, n in Counter(lines).items() if n > 1]
    assert dupes == []
    # Each plugin declared exactly once over tmux.conf and the snippet; TPM run once.
    for plugin in ("tpm", "tmux-resurrect", "tmux-continuum"):
        assert sum(1 for line in lines if line.endswith(f"'tmux-plugins/{plugin}'")) == 1, plugin
    assert sum(1 for line in lines if line.startswith("run ")) == 1
    for option in ("@resurrect-hook-post-save-all", "@resurrect-hook-post-restore-all"):
        assert sum(1 for line in lines if f" {option} " in line) == 1, option


def test_migration_drops_assistants_from_resurrect_processes(chain):
    for line in _config_lines(chain["tmux_conf"]) + _config_lines(chain["snippet"]):
        if "@resurrect-processes" in line:
            for tool in assistants.names():
                assert tool not in line


def test_migration_replaces_claude_hooks(chain):
    settings = chain["settings"]
    home = chain["home"]
    commands = [
        h.get("command")
        for event in settings["hooks"].values()
        for group in event
        for h in group["hooks"]
    ]
    assert not [c for c in commands if "claude-session-track" in c or "claude-session-cleanup" in c]
    assert "other-tool start" in commands
    assert f"{home}/.local/bin/assistant-resurrect hook claude-session-start" in commands
    assert f"{home}/.local/bin/assistant-resurrect hook claude-session-end" in commands
    assert settings["theme"] == "dark"


def test_migration_replaces_opencode_link(chain):
    assert not chain["legacy_link_left"]
    assert chain["opencode_plugins"] == ["assistant-resurrect.js", "mine.js"]


def test_migration_second_converge_reports_no_change(chain):
    run = chain["converge2"]
    assert run.rc == 0, run.explain()
    assert run.changed == 0, run.changed_tasks()


def test_migration_keeps_the_save_interval_of_the_bash_plugin(chain):
    # Its block set @continuum-save-interval '5'; the role's default (null)
    # keeps it instead of moving the user to 15, on later runs too.
    assert "set -g @continuum-save-interval '5'\n" in chain["snippet"], chain["snippet"]
    assert "set -g @continuum-save-interval '5'\n" in chain["snippet2"], chain["snippet2"]
    assert "@continuum-save-interval" not in chain["tmux_conf"]
    assert chain["state2"].get("continuum_save_interval") == "5"
    # Set by the inventory, the variable wins.
    upgraded = chain["snippet_upgrade"]
    assert "set -g @continuum-save-interval '15'\n" in upgraded, upgraded


def test_upgrade_installs_the_new_source(chain):
    run = chain["upgrade"]
    assert run.rc == 0, run.explain()
    assert run.changed > 0
    before, after = chain["builds_before"], chain["builds_after"]
    assert len(before) == 1 and len(after) == 1 and after != before  # old build removed
    assert chain["upgraded_import"].stdout.strip() == "True", chain["upgraded_import"].stderr


def test_boot_unit_written_and_enabled(chain):
    unit = chain["unit"]
    assert unit is not None
    assert "ExecStart=/usr/bin/tmux new-session -d -s main" in unit
    assert f"ExecStop=-{chain['home']}/.tmux/plugins/tmux-resurrect/scripts/save.sh quiet" in unit
    assert "WantedBy=default.target" in unit
    assert chain["unit_enabled"]


def test_uninstall_with_opt_ins_removes_plugins_and_saves_only(chain):
    run = chain["purge"]
    assert run.rc == 0, run.explain()
    left = chain["after_purge"]
    for gone in (
        ".tmux/plugins",
        ".local/share/assistant-resurrect",
        ".local/bin/assistant-resurrect",
        ".config/assistant-resurrect",
        ".tmux/resurrect/assistant-sessions.json",
        ".tmux/resurrect/assistant_resurrect_20260101T000000.json",
        ".config/systemd/user/assistant-resurrect-tmux.service",
    ):
        assert gone not in left, gone
    # Not ours: the user's files, resurrect's own layout file.
    for kept in (
        ".tmux.conf",
        ".claude/settings.json",
        ".config/opencode/plugins/mine.js",
        ".tmux/resurrect/tmux_resurrect_20260101T000000.txt",
    ):
        assert kept in left, kept
