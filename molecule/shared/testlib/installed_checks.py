"""Checks of an installed user (scenarios default and upgrade): files the
role manages, the configuration tmux really loads, the user's own settings
kept, and the home of a user the role does not manage left alone.

Scenario test modules import these test functions; pytest collects them.
"""

from __future__ import annotations

import hashlib
import pathlib
import shlex

import pytest
from arlib import (
    ENTRY_POINT,
    FAKE_PLUGINS,
    HOME,
    HOOK_NAMES,
    OTHER_TOOL,
    OTHER_USER,
    as_user,
    hook_commands,
    manifest,
    manifest_before,
    manifest_diff,
    out,
    read_json,
    real_plugins,
    tmux_option,
)

from assistant_resurrect import assistants

REPO = pathlib.Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "assistant_resurrect"
OURS_START = f"{ENTRY_POINT} hook claude-session-start"
OURS_END = f"{ENTRY_POINT} hook claude-session-end"
USER_TMUX_LINES = [
    "set -g mouse on",
    "set -g history-limit 5000",
    'bind r source-file ~/.tmux.conf \\; display "reloaded"',
]
ASSISTANTS = tuple(assistants.names())  # the registry (runtime/, on the controller)


@pytest.fixture(scope="module")
def tmux_server(host):
    """A tmux server of the user started from the user's configuration (as a
    login would), stopped after the module's tests."""
    as_user(host, "tmux kill-server 2>/dev/null; tmux new-session -d -s cfgcheck")
    yield
    as_user(host, "tmux kill-server", check=False)


def test_entry_point_runs_as_the_user(host):
    f = host.file(ENTRY_POINT)
    assert f.exists and f.user == "alice"
    v = out(host, f"{ENTRY_POINT} version")
    assert v.strip(), "version printed nothing"


def test_agent_venv_made_from_a_python_the_user_can_run(host):
    real = out(host, f"readlink -f {ENTRY_POINT}").strip()
    assert real.startswith(f"{HOME}/"), real
    py = out(host, f"head -n1 {real}").strip()
    assert py.startswith("#!/"), py
    out(host, f"{py[2:].split()[0]} -c 'import assistant_resurrect'")


@pytest.mark.usefixtures("tmux_server")
@pytest.mark.parametrize(
    "hook,subcommand",
    [
        ("post-save-layout", "save"),
        ("post-save-all", "save-finish"),
        ("post-restore-all", "restore"),
    ],
)
def test_resurrect_hooks_loaded_by_tmux(host, hook, subcommand):
    value = tmux_option(host, f"@resurrect-hook-{hook}")
    # split the value the way tmux-resurrect's `eval` will
    words = out(
        host,
        "bash -c "
        + shlex.quote('eval "set -- $1"; printf "%s\\n" "$@"')
        + " _ "
        + shlex.quote(value),
    ).split("\n")
    words = [w for w in words if w]
    assert words == [ENTRY_POINT, subcommand], (hook, value)


@pytest.mark.usefixtures("tmux_server")
def test_no_other_resurrect_hook_runs_our_agent_twice(host):
    values = [tmux_option(host, f"@resurrect-hook-{h}") for h in HOOK_NAMES]
    assert sum("assistant-resurrect" in v for v in values) == 3, values


@pytest.mark.usefixtures("tmux_server")
def test_resurrect_does_not_relaunch_assistants(host):
    procs = tmux_option(host, "@resurrect-processes")
    assert not any(a in procs for a in ASSISTANTS), procs


PLUGINS = {  # checkout folder -> version the scenarios pin (shared/vars/common.yml)
    "tpm": "v3.1.0",
    "tmux-resurrect": "v4.0.0",
    "tmux-continuum": "v3.1.0",
}


@pytest.mark.usefixtures("tmux_server")
@pytest.mark.parametrize("plugin", ["tpm", "resurrect", "continuum"])
def test_plugins_loaded_from_the_configured_repositories(host, plugin):
    if not real_plugins(host):
        print(FAKE_PLUGINS)
        # the stand-in plugins (molecule/shared/files/fake-plugins) set these
        assert tmux_option(host, f"@fake-{plugin}-loaded") == "on"
        return
    plugins = f"{HOME}/.tmux/plugins"
    if plugin == "tpm":
        # TPM records where it loads plugins from
        env = out(host, "tmux show-environment -g TMUX_PLUGIN_MANAGER_PATH").strip()
        assert env.rstrip("/") == f"TMUX_PLUGIN_MANAGER_PATH={plugins}", env
    elif plugin == "resurrect":
        # tmux-resurrect's resurrect.tmux publishes its scripts
        save = tmux_option(host, "@resurrect-save-script-path")
        assert save == f"{plugins}/tmux-resurrect/scripts/save.sh", save
        assert host.file(save).mode & 0o111
    else:
        # tmux-continuum's continuum.tmux adds its save to status-right (only
        # when no other tmux server runs)
        right = tmux_option(host, "status-right")
        assert f"#({plugins}/tmux-continuum/scripts/continuum_save.sh)" in right, right
        assert tmux_option(host, "@continuum-restore") == "on"


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_plugins_are_the_real_releases_from_the_mirror(host, name):
    if not real_plugins(host):
        pytest.skip(FAKE_PLUGINS)
    repo = f"{HOME}/.tmux/plugins/{name}"
    url = out(host, f"git -C {repo} remote get-url origin").strip()
    assert url == f"file:///srv/git/{name}.git", url
    tag = out(host, f"git -C {repo} describe --tags --exact-match HEAD").strip()
    assert tag == PLUGINS[name], tag
    # the real plugin, not a stand-in: a file only the real one has
    script = {
        "tpm": "bindings/install_plugins",
        "tmux-resurrect": "save_command_strategies/ps.sh",
        "tmux-continuum": "scripts/continuum_save.sh",
    }[name]
    assert host.file(f"{repo}/{script}").exists
    if name != "tmux-continuum":
        # its test-only submodule (GitHub URL) is not cloned:
        # assistant_resurrect_plugins_recursive defaults to false
        left = out(host, f"ls -A {repo}/lib/tmux-test 2>/dev/null || true").split()
        assert left == [], left


@pytest.mark.usefixtures("tmux_server")
def test_users_own_tmux_settings_still_apply(host):
    assert tmux_option(host, "mouse") == "on"
    assert tmux_option(host, "history-limit") == "5000"


def test_users_own_tmux_lines_kept_once(host):
    text = host.file(f"{HOME}/.tmux.conf").content_string
    for line in USER_TMUX_LINES:
        assert text.count(line) == 1, (line, text)


def test_one_managed_block_in_tmux_conf(host):
    text = host.file(f"{HOME}/.tmux.conf").content_string
    assert text.count("BEGIN assistant-resurrect") == 1, text
    assert text.count("END assistant-resurrect") == 1, text


def test_claude_hooks_once_each(host):
    s = read_json(host, f"{HOME}/.claude/settings.json")
    start, end = hook_commands(s, "SessionStart"), hook_commands(s, "SessionEnd")
    assert start.count(OURS_START) == 1, start
    assert end.count(OURS_END) == 1, end
    assert sum("assistant-resurrect hook" in c for c in start + end) == 2, (start, end)


def test_other_tools_claude_hooks_and_settings_kept(host):
    s = read_json(host, f"{HOME}/.claude/settings.json")
    assert s.get("model") == "opus", s
    assert hook_commands(s, "SessionStart").count(OTHER_TOOL["SessionStart"]) == 1
    assert hook_commands(s, "PreToolUse") == [OTHER_TOOL["PreToolUse"]]


def test_opencode_plugin_installed(host):
    f = host.file(f"{HOME}/.config/opencode/plugins/assistant-resurrect.js")
    assert f.exists and f.is_file
    want = hashlib.sha256(
        (ROLE / "files" / "opencode" / "assistant-resurrect.js").read_bytes()
    ).hexdigest()
    assert f.sha256sum == want


def test_users_opencode_config_untouched(host):
    line = [
        x
        for x in manifest_before(host, "alice")
        if x.startswith(".config/opencode/opencode.json\t")
    ]
    now = [x for x in manifest(host, "alice") if x.startswith(".config/opencode/opencode.json\t")]
    assert line and line == now


def test_doctor_is_happy(host, tmux_server):
    r = as_user(host, f"{ENTRY_POINT} doctor", check=False)
    assert r.rc == 0, r.stdout + r.stderr


def test_unmanaged_users_home_untouched(host):
    before, after = manifest_before(host, OTHER_USER), manifest(host, OTHER_USER)
    assert before == after, manifest_diff(before, after)
