"""The role for an ordinary user on a fleet-style run (site.yml, become).

One chain per session: converge, converge again, --check --diff on the
provisioned home, uninstall, uninstall again. A tmux server of that user runs
throughout, so the handler's reload and unload are seen for real.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant_resurrect import assistants

from .conftest import ROLE, RUNUSER, Session, owner, read, register_chain

pytestmark = pytest.mark.role

USER_TMUX_CONF = """\
# my own tmux settings
set -g mouse on
set -g @plugin 'tmux-plugins/tmux-sensible'
set -g @continuum-save-interval '7'

# keep this the last line
run '~/.tmux/plugins/tpm/tpm'
"""

USER_SETTINGS = {
    "model": "opus",
    "hooks": {
        "SessionStart": [
            {"matcher": "startup", "hooks": [{"type": "command", "command": "other-tool --start"}]}
        ],
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh", "timeout": 5}]}
        ],
    },
    "permissions": {"allow": ["Bash(ls:*)"]},
}

ASSISTANTS = tuple(assistants.names())  # the registry
HOOKS = {
    "@resurrect-hook-post-save-layout": "save",
    "@resurrect-hook-post-save-all": "save-finish",
    "@resurrect-hook-post-restore-all": "restore",
}


def _snapshot(home: Path) -> dict[str, object]:
    files = {}
    for rel in (".tmux.conf", ".claude/settings.json"):
        p = home / rel
        files[rel] = p.read_bytes() if p.exists() else None
    return files


def _chain(s: Session) -> dict:
    user, home = s.new_user("u")
    (home / ".claude").mkdir()
    (home / ".tmux.conf").write_text(USER_TMUX_CONF)
    (home / ".claude" / "settings.json").write_text(json.dumps(USER_SETTINGS, indent=2) + "\n")
    shutil.chown(home / ".tmux.conf", user, user)
    shutil.chown(home / ".claude", user, user)
    shutil.chown(home / ".claude" / "settings.json", user, user)
    sock = s.start_tmux(user)

    extra = {
        **s.repos_for(user),
        "assistant_resurrect_users": [user],
        "assistant_resurrect_capture_env": "AR_PROJECT AR_PROFILE",
        "assistant_resurrect_resurrect_processes": '"~claude" vim "~opencode" ssh codex "~gemini"',
        "assistant_resurrect_state_dirs": [str(s.base / "state-u")],
    }
    r: dict = {"user": user, "home": home, "sock": sock}
    r["original"] = _snapshot(home)

    r["converge1"] = s.playbook("site.yml", extra)
    r["options"] = {
        opt: s.tmux_option(user, sock, opt)
        for opt in [*HOOKS, "@resurrect-processes", "@assistant-resurrect-capture-env"]
    }
    r["installed"] = {
        "tmux_conf": read(home / ".tmux.conf"),
        "snippet": read(home / ".config/assistant-resurrect/tmux.conf"),
        "settings": json.loads(read(home / ".claude/settings.json")),
        "droid": json.loads(read(home / ".factory/settings.json")),
        "cursor": json.loads(read(home / ".cursor/hooks.json")),
        "kilo_tui": json.loads(read(home / ".config/kilo/tui.json")),
        "kilo_plugin": (home / ".config/kilo/plugins/assistant-resurrect.js").is_file(),
        "build_dirs": sorted(
            p.name for p in (home / ".local/share/assistant-resurrect/venvs").iterdir()
        ),
    }
    entry = home / ".local/bin/assistant-resurrect"
    plugin = home / ".config/opencode/plugins/assistant-resurrect.js"
    r["entry"] = {
        "is_symlink": entry.is_symlink(),
        "target": entry.resolve(),
        "venv_owner": owner(home / ".local/share/assistant-resurrect/venv"),
        "target_owner": owner(entry.resolve()) if entry.exists() else None,
        "first_line": entry.read_bytes().split(b"\n", 1)[0] if entry.exists() else None,
        "opencode": plugin.read_bytes() if plugin.exists() else None,
        "opencode_owner": owner(plugin) if plugin.exists() else None,
    }
    r["help"] = s.as_user(user, str(home / ".local/bin/assistant-resurrect"), "--help")
    r["hook_run"] = _drive_save_hook(s, user, sock, home)

    r["converge2"] = s.playbook("site.yml", extra)
    r["check_provisioned"] = s.playbook("site.yml", extra, check=True)

    r["uninstall"] = s.playbook("uninstall.yml", extra)
    r["after_uninstall"] = _snapshot(home)
    r["options_after_uninstall"] = {opt: s.tmux_option(user, sock, opt) for opt in HOOKS}
    r["uninstall2"] = s.playbook("uninstall.yml", extra)
    return r


def _drive_save_hook(s: Session, user: str, sock: Path, home: Path):
    """Run post-save-layout the way tmux-resurrect does: read, eval, layout path appended."""
    resurrect = home / ".tmux" / "resurrect"
    s.as_user(user, "mkdir", "-p", str(resurrect), check=True)
    layout = resurrect / "tmux_resurrect_20260101T000000.txt"
    s.as_user(user, "touch", str(layout), check=True)
    driver = s.base / "drive-hook.sh"
    driver.write_text(
        "#!/bin/bash\n"
        'hook=$(tmux show-options -gqv "@resurrect-hook-$1")\n'
        'eval "$hook $(printf %q "$2")" 2>"$3.err"\n'
        'echo "rc=$?" >"$3"\n'
    )
    driver.chmod(0o755)
    result = home / "hook-result"
    proc = subprocess.run(
        [
            RUNUSER,
            "-u",
            user,
            "--",
            "tmux",
            "-S",
            str(sock),
            "run-shell",
            f"{driver} post-save-layout {layout} {result}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    outcome = read(result) if result.exists() else f"no result; tmux said {proc.stdout}"
    if (home / "hook-result.err").exists():
        outcome += read(home / "hook-result.err")
        (home / "hook-result.err").unlink()
    result.unlink(missing_ok=True)
    return outcome, sorted(p.name for p in resurrect.iterdir())


register_chain("user", _chain)


@pytest.fixture(scope="module")
def chain(role_session):
    return role_session.chain("user")


def test_install_agent_entry_point(chain):
    run = chain["converge1"]
    assert run.rc == 0, run.explain()
    home, user = chain["home"], chain["user"]
    entry = chain["entry"]
    assert entry["is_symlink"]
    assert entry["target"].parent.parent.parent == home / ".local/share/assistant-resurrect/venvs"
    assert chain["help"].returncode == 0, chain["help"].stderr
    assert "save [LAYOUT_FILE]" in chain["help"].stdout
    assert entry["venv_owner"] == user
    assert entry["target_owner"] == user
    assert len(chain["installed"]["build_dirs"]) == 1
    # the agent's launcher, not pip's console script: Python without site nor PYTHON*
    venv_python = str(entry["target"].parent / "python").encode()
    assert entry["first_line"] == b"#!" + venv_python + b" -IS", entry["first_line"]


def test_install_plugins_cloned_at_the_given_version(chain, role_session):
    home = chain["home"]
    for name in ("tpm", "tmux-resurrect", "tmux-continuum"):
        head = subprocess.run(
            [
                "git",
                "-c",
                "safe.directory=*",
                "-C",
                str(home / ".tmux/plugins" / name),
                "rev-parse",
                "HEAD",
            ],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        ).stdout.strip()
        assert head == role_session.tags[name]


def test_install_tmux_block_and_snippet(chain):
    home = chain["home"]
    conf = chain["installed"]["tmux_conf"]
    snippet = chain["installed"]["snippet"]
    bin_path = f"{home}/.local/bin/assistant-resurrect"
    # User lines kept, one block, placed before the user's own TPM run line.
    assert conf.count("# BEGIN assistant-resurrect") == 1
    assert conf.count("# END assistant-resurrect") == 1
    assert conf.index("# END assistant-resurrect") < conf.index("run '~/.tmux/plugins/tpm/tpm'")
    assert f"source-file '{home}/.config/assistant-resurrect/tmux.conf'" in conf
    without_block = "".join(
        line for line in conf.splitlines(keepends=True) if "assistant-resurrect" not in line
    )
    assert without_block == USER_TMUX_CONF
    # Hooks by absolute path, continuum value the user set kept, no second TPM run.
    assert f"set -g @resurrect-hook-post-save-layout '{bin_path} save'" in snippet
    assert f"set -g @resurrect-hook-post-save-all '{bin_path} save-finish'" in snippet
    assert f"set -g @resurrect-hook-post-restore-all '{bin_path} restore'" in snippet
    assert "@continuum-save-interval" not in snippet
    assert "set -g @continuum-restore 'on'" in snippet
    assert "set -g @assistant-resurrect-capture-env 'AR_PROJECT AR_PROFILE'" in snippet
    assert "\nrun " not in snippet
    for plugin in ("tpm", "tmux-resurrect", "tmux-continuum"):
        assert f"set -g @plugin 'tmux-plugins/{plugin}'" in snippet


def test_running_tmux_server_picked_up_the_hooks(chain):
    bin_path = f"{chain['home']}/.local/bin/assistant-resurrect"
    for option, command in HOOKS.items():
        assert chain["options"][option] == f"{bin_path} {command}"
    assert chain["options"]["@assistant-resurrect-capture-env"] == "AR_PROJECT AR_PROFILE"


def test_role_never_adds_an_assistant_to_resurrect_processes(chain):
    snippet = chain["installed"]["snippet"]
    lines = [line for line in snippet.splitlines() if "@resurrect-processes" in line]
    assert lines == ["set -g @resurrect-processes 'vim ssh'"]
    value = chain["options"]["@resurrect-processes"]
    assert value == "vim ssh"
    for tool in ASSISTANTS:
        assert tool not in value
    assert "@resurrect-processes" not in chain["installed"]["tmux_conf"]


def test_resurrect_hook_runs_the_agent(chain):
    outcome, files = chain["hook_run"]
    assert outcome.startswith("rc=0"), outcome
    assert any(f.startswith("assistant_resurrect_") and f.endswith(".json") for f in files), files


def test_install_claude_hooks_merged(chain):
    settings = chain["installed"]["settings"]
    bin_path = f"{chain['home']}/.local/bin/assistant-resurrect"
    assert settings["model"] == "opus"
    assert settings["permissions"] == USER_SETTINGS["permissions"]
    assert settings["hooks"]["PreToolUse"] == USER_SETTINGS["hooks"]["PreToolUse"]
    start = settings["hooks"]["SessionStart"]
    assert start[0] == USER_SETTINGS["hooks"]["SessionStart"][0]
    assert start[1:] == [
        {
            "matcher": "",
            "hooks": [{"type": "command", "command": f"{bin_path} hook claude-session-start"}],
        }
    ]
    assert settings["hooks"]["SessionEnd"] == [
        {
            "matcher": "",
            "hooks": [{"type": "command", "command": f"{bin_path} hook claude-session-end"}],
        }
    ]


def test_install_opencode_plugin(chain):
    entry = chain["entry"]
    assert entry["opencode"] == (ROLE / "files/opencode/assistant-resurrect.js").read_bytes()
    assert entry["opencode_owner"] == chain["user"]


def test_install_kilo_droid_cursor(chain):
    """OpenCode's plugins for Kilo, Droid's and Cursor Agent's hooks (their
    merging is tested in test_role_kilo_droid_cursor.py); the uninstall
    below leaves the home as it was (~/.factory, ~/.cursor, ~/.config/kilo
    were the role's)."""
    installed, home = chain["installed"], chain["home"]
    bin_path = f"{home}/.local/bin/assistant-resurrect"
    assert installed["kilo_plugin"]
    assert installed["kilo_tui"] == {"plugin": [f"{home}/.config/kilo/assistant-resurrect-tui.js"]}
    assert installed["droid"]["hooks"]["SessionStart"] == [
        {
            "matcher": "",
            "hooks": [{"type": "command", "command": f"{bin_path} hook droid-session-start"}],
        }
    ]
    assert installed["cursor"] == {
        "version": 1,
        "hooks": {
            "sessionStart": [{"command": f"{bin_path} hook cursor-session-start"}],
            "beforeSubmitPrompt": [{"command": f"{bin_path} hook cursor-prompt"}],
        },
    }


def test_second_converge_reports_no_change(chain):
    run = chain["converge2"]
    assert run.rc == 0, run.explain()
    assert run.changed == 0, run.changed_tasks()


def test_check_diff_on_provisioned_home_reports_no_change(chain):
    run = chain["check_provisioned"]
    assert run.rc == 0, run.explain()
    assert run.changed == 0, run.changed_tasks()


def test_uninstall_leaves_user_files_byte_identical(chain):
    run = chain["uninstall"]
    assert run.rc == 0, run.explain()
    assert chain["after_uninstall"] == chain["original"]
    home = chain["home"]
    for gone in (
        ".local/bin/assistant-resurrect",
        ".local/share/assistant-resurrect",
        ".config/assistant-resurrect",
        ".config/opencode/plugins/assistant-resurrect.js",
    ):
        assert not (home / gone).exists() and not (home / gone).is_symlink(), gone
    # TPM, resurrect and continuum stay unless asked for.
    for name in ("tpm", "tmux-resurrect", "tmux-continuum"):
        assert (home / ".tmux/plugins" / name).is_dir()


def test_uninstall_unloads_hooks_from_running_server(chain):
    assert chain["options_after_uninstall"] == {opt: "" for opt in HOOKS}


def test_uninstall_twice_reports_no_change(chain):
    run = chain["uninstall2"]
    assert run.rc == 0, run.explain()
    assert run.changed == 0, run.changed_tasks()
