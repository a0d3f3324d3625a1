"""Claude settings with malformed hook entries (issue 9).

A null command, a `hooks` value that is not a list, an empty matcher object:
install and uninstall both succeed, those entries stay exactly as the user
had them, and uninstall gives back the same bytes. The home has no tmux.conf
and no settings.json of its own beyond that: what the role creates, it
removes. The chain starts with --check --diff on this clean home. The
user's tmux configuration is the XDG one (~/.config/tmux/tmux.conf): the
role edits that one and clones the plugins where TPM then looks for them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from .conftest import ROLE, Session, read, register_chain

pytestmark = pytest.mark.role

MALFORMED = {
    "hooks": {
        "SessionStart": [
            {"matcher": "", "hooks": [{"type": "command", "command": None}]},
            {"matcher": "", "hooks": {"type": "command", "command": "not-in-a-list"}},
            {},
            {"matcher": "resume", "hooks": [{"type": "command", "command": "keep-me"}]},
        ],
        "SessionEnd": [{}, {"matcher": "", "hooks": None}, "a string"],
        "Stop": {"not": "a list"},
    },
    "env": {"FOO": "bar"},
}


def _paths(home) -> set[str]:
    """Every path under home, TPM/resurrect/continuum left out (kept by design)."""
    return {
        str(p.relative_to(home))
        for p in home.rglob("*")
        if not str(p.relative_to(home)).startswith((".tmux", ".config/tmux/plugins"))
    }


def _chain(s: Session) -> dict:
    user, home = s.new_user("m")
    (home / ".claude").mkdir()
    settings = home / ".claude/settings.json"
    settings.write_text(json.dumps(MALFORMED, indent=2) + "\n")
    shutil.chown(home / ".claude", user, user)
    shutil.chown(settings, user, user)
    xdg = home / ".config/tmux/tmux.conf"
    xdg.parent.mkdir(parents=True)
    xdg.write_text("set -g mouse on\n")
    for p in (home / ".config", xdg.parent, xdg):
        shutil.chown(p, user, user)
    # This chain installs the agent with the pip method from a spec (an archive
    # of the source here; an index requirement on a fleet).
    archive = s.base / "agent-src.tar.gz"
    subprocess.run(
        [sys.executable, str(ROLE / "files/pack_source.py"), str(s.source), str(archive)],
        check=True,
    )
    extra = {
        **s.repos_for(user),
        "assistant_resurrect_install_method": "pip",
        "assistant_resurrect_pip_spec": str(archive),
        "assistant_resurrect_users": [{"name": user, "home": str(home)}],
        "assistant_resurrect_manage_packages": False,
        "assistant_resurrect_state_dirs": [str(s.base / "state-m")],
    }
    r = {
        "home": home,
        "original": settings.read_bytes(),
        "had_tmux_conf": (home / ".tmux.conf").exists(),
        "paths_before": _paths(home),
    }
    r["check_clean"] = s.playbook("site.yml", extra, check=True)
    r["paths_after_check"] = _paths(home)
    r["install"] = s.playbook("site.yml", extra)
    r["installed"] = json.loads(read(settings))
    r["version"] = s.as_user(user, str(home / ".local/bin/assistant-resurrect"), "version")
    r["xdg_installed"] = read(xdg)
    r["xdg_plugins"] = sorted(p.name for p in (xdg.parent / "plugins").iterdir())
    r["uninstall"] = s.playbook("uninstall.yml", extra)
    r["after"] = settings.read_bytes()
    r["tmux_conf_after"] = (home / ".tmux.conf").exists()
    r["xdg_after"] = read(xdg)
    r["paths_after"] = _paths(home)
    return r


register_chain("malformed", _chain)


@pytest.fixture(scope="module")
def chain(role_session):
    return role_session.chain("malformed")


def test_malformed_entries_do_not_break_install(chain):
    run = chain["install"]
    assert run.rc == 0, run.explain()
    hooks = chain["installed"]["hooks"]
    start = hooks["SessionStart"]
    assert start[:4] == MALFORMED["hooks"]["SessionStart"]
    assert len(start) == 5 and start[4]["hooks"][0]["command"].endswith(
        "assistant-resurrect hook claude-session-start"
    )
    end = hooks["SessionEnd"]
    assert end[:3] == MALFORMED["hooks"]["SessionEnd"]
    assert end[3]["hooks"][0]["command"].endswith("assistant-resurrect hook claude-session-end")
    assert hooks["Stop"] == MALFORMED["hooks"]["Stop"]
    assert chain["installed"]["env"] == {"FOO": "bar"}


def test_malformed_entries_do_not_break_uninstall(chain):
    run = chain["uninstall"]
    assert run.rc == 0, run.explain()
    assert chain["after"] == chain["original"]


def test_xdg_tmux_conf_is_the_one_edited(chain):
    assert not chain["had_tmux_conf"]
    assert not chain["tmux_conf_after"]  # no ~/.tmux.conf created beside it
    assert chain["xdg_installed"].startswith("set -g mouse on\n# BEGIN assistant-resurrect")
    assert chain["xdg_plugins"] == ["tmux-continuum", "tmux-resurrect", "tpm"]
    assert chain["xdg_after"] == "set -g mouse on\n"


def test_uninstall_leaves_no_folder_or_file_behind(chain):
    assert chain["paths_after"] == chain["paths_before"]


def test_check_diff_on_clean_home_changes_nothing(chain):
    run = chain["check_clean"]
    assert run.rc == 0, run.explain()
    assert run.failed == 0 and run.changed > 0, run.explain()
    assert "source-file" in run.output  # the diff shows the block it would add
    assert chain["paths_after_check"] == chain["paths_before"]


def test_pip_method_installs_a_working_agent(chain):
    assert chain["install"].rc == 0
    assert chain["version"].returncode == 0, chain["version"].stderr
    assert chain["version"].stdout.strip()
