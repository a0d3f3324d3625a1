"""upgrade scenario: what the upstream bash plugin left is replaced, not
duplicated; the other tool's hooks survive; the saved sessions in the old
format can still be restored."""

import shlex

import pytest
from arlib import ENTRY_POINT, HOME, OTHER_TOOL, as_user, hook_commands, out, read_json

LEGACY = ("claude-session-track.sh", "claude-session-cleanup.sh")
OLD = {  # molecule/shared/templates/legacy-sessions.json.j2
    # its saved env is replayed in front of the command (the scenario lists the
    # name in assistant_resurrect_capture_env; unlisted names are dropped)
    "s:0.0": [
        "CLAUDE_CODE_USE_BEDROCK=0",
        "command",  # no alias or function named like the tool applies
        "claude",
        "--model",
        "opus",
        "--resume",
        "5f1c7a2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b",
    ],
    "s:0.1": ["command", "opencode", "-s", "ses_0a1b2c3d4e5f6g7h8i9j0k1l2m"],
    "s:1.0": ["command", "codex", "resume", "019a0b1c-2d3e-7f40-8a51-b2c3d4e5f607"],
}


@pytest.fixture(scope="module")
def settings(host):
    return read_json(host, f"{HOME}/.claude/settings.json")


def test_no_upstream_claude_hooks_left(settings):
    for event in ("SessionStart", "SessionEnd"):
        cmds = hook_commands(settings, event)
        assert not [c for c in cmds if c.endswith(LEGACY)], cmds


def test_other_tools_hooks_intact(settings):
    assert hook_commands(settings, "SessionStart").count(OTHER_TOOL["SessionStart"]) == 1
    # it shared a matcher group with the upstream cleanup hook
    assert hook_commands(settings, "SessionEnd").count(OTHER_TOOL["SessionEnd"]) == 1
    assert hook_commands(settings, "PreToolUse") == [OTHER_TOOL["PreToolUse"]]


def test_every_hook_group_still_has_hooks(settings):
    for event, groups in settings["hooks"].items():
        for g in groups:
            assert g.get("hooks"), f"empty matcher group left in {event}: {g}"


def test_upstream_plugin_line_gone_other_plugins_kept(host):
    text = host.file(f"{HOME}/.tmux.conf").content_string
    assert "timvw/tmux-assistant-resurrect" not in text, text
    for p in ("tmux-plugins/tpm", "tmux-plugins/tmux-resurrect", "tmux-plugins/tmux-continuum"):
        assert text.count(f"set -g @plugin '{p}'") == 1, text
    assert text.count("run '~/.tmux/plugins/tpm/tpm'") == 1, text


def test_upstream_opencode_plugin_link_replaced(host):
    assert not host.file(f"{HOME}/.config/opencode/plugins/session-tracker.js").exists
    assert host.file(f"{HOME}/.config/opencode/plugins/assistant-resurrect.js").is_file


@pytest.fixture
def old_panes(host):
    """The panes the old sessions were saved from, as tmux-resurrect would
    have recreated them."""
    as_user(
        host,
        "tmux kill-server 2>/dev/null; "
        "tmux new-session -d -s s -c ~/project-a && "
        "tmux split-window -t s:0 -c ~/project-b && "
        "tmux new-window -t s:1 -c ~/project-c",
    )
    yield
    as_user(host, "tmux kill-server", check=False)


@pytest.mark.usefixtures("old_panes")
def test_old_saved_sessions_restorable(host):
    r = as_user(host, f"{ENTRY_POINT} restore --dry-run", check=False)
    assert r.rc == 0, r.stdout + r.stderr
    lines = {}
    for line in r.stdout.splitlines():
        addr, sep, text = line.partition(": ")
        if sep:
            lines[addr] = text
    for addr, argv in OLD.items():
        assert addr in lines, f"{addr} missing from the dry run:\n{r.stdout}"
        typed = shlex.split(lines[addr].split(" && ")[-1])
        assert typed == argv, f"{addr}: {lines[addr]!r}"


def test_old_saves_still_there(host):
    # the upgrade must not throw away what the user saved
    assert out(host, "ls ~/.tmux/resurrect/").split().count("assistant-sessions.json") == 1
