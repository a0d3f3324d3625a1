"""The role's filters and its migration regular expression, without Ansible."""

from __future__ import annotations

import importlib.util
import re

import pytest
import yaml

from .conftest import ROLE

pytestmark = pytest.mark.role

_spec = importlib.util.spec_from_file_location(
    "ar_role_filters", ROLE / "filter_plugins" / "assistant_resurrect.py"
)
filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(filters)

ASSISTANTS = ["claude", "opencode", "codex", "gemini"]
ROLE_VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
LEGACY = re.compile("|".join(ROLE_VARS["assistant_resurrect__legacy_tmux_patterns"]), re.M)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ('"~claude" "~opencode" "~codex"', ""),
        ('ssh vim "~claude" /usr/local/bin/codex gemini', "ssh vim"),
        ('"vim->vim +SLoad" "~opencode" htop', '"vim->vim +SLoad" htop'),
        ('"claude->claude --resume" man', "man"),
        ("", ""),
    ],
)
def test_assistants_never_reach_resurrect_processes(value, kept):
    assert filters.without_assistants(value, ASSISTANTS) == kept


def test_tmux_quote():
    assert filters.tmux_quote("/home/u/bin/x save") == "'/home/u/bin/x save'"
    assert filters.tmux_quote("it's $HOME") == '"it\'s \\$HOME"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("run '~/.tmux/plugins/tpm/tpm'\n", True),
        ("run-shell -b ~/.config/tmux/plugins/tpm/tpm\n", True),
        ("run '/usr/share/tmux-plugin-manager/tpm'\n", True),
        ("# run '~/.tmux/plugins/tpm/tpm'\n", False),
        ("set -g mouse on\n", False),
    ],
)
def test_has_tpm_run(text, expected):
    assert filters.has_tpm_run(text) is expected


def test_has_tmux_plugin_and_setting():
    text = "set -g @plugin 'tmux-plugins/tmux-resurrect'\nset-option -g @continuum-restore on\n"
    assert filters.has_tmux_plugin(text, "tmux-resurrect")
    assert not filters.has_tmux_plugin(text, "tmux-continuum")
    assert not filters.has_tmux_plugin("# set -g @plugin 'tmux-plugins/tpm'\n", "tpm")
    assert filters.has_tmux_setting(text, "@continuum-restore")
    assert not filters.has_tmux_setting(text, "@continuum-save-interval")


def test_without_block():
    marker = ROLE_VARS["assistant_resurrect__marker"]
    begin, end = marker.replace("{mark}", "BEGIN"), marker.replace("{mark}", "END")
    text = f"a\n{begin}\nsource-file x\n{end}\nb\n"
    assert filters.without_block(text, marker) == "a\nb\n"


def test_under():
    assert filters.under(".local/bin", "/home/u") == "/home/u/.local/bin"
    assert filters.under("~/x", "/home/u") == "/home/u/x"
    assert filters.under("/opt/x/", "/home/u") == "/opt/x"


@pytest.mark.parametrize(
    "line",
    [
        "set -g @plugin 'timvw/tmux-assistant-resurrect'",
        'set-option -g @plugin "timvw/tmux-assistant-resurrect"',
        "source-file ~/src/tmux-assistant-resurrect/config/resurrect-assistants.conf",
        "source-file -q '/h/tmux-assistant-resurrect/config/resurrect-assistants.conf'",
        "set -g @resurrect-hook-post-save-all "
        "'~/.tmux/plugins/tmux-assistant-resurrect/scripts/save-assistant-sessions.sh'",
        "set -g @resurrect-hook-post-restore-all "
        "\"bash '/h/tmux-assistant-resurrect/scripts/restore-assistant-sessions.sh'\"",
        'set -g @resurrect-processes \'"~claude" "~opencode" "~codex"\'',
        "# tmux-assistant-resurrect",
    ],
)
def test_legacy_lines_are_recognised(line):
    assert LEGACY.sub("", f"keep1\n{line}\nkeep2\n") == "keep1\nkeep2\n"


@pytest.mark.parametrize(
    "line",
    [
        "set -g @plugin 'tmux-plugins/tmux-resurrect'",
        "set -g @resurrect-processes 'ssh vim'",
        "set -g @resurrect-hook-post-save-all 'my-own-hook.sh'",
        "# tmux-assistant-resurrect was nice",
    ],
)
def test_user_lines_are_kept(line):
    text = f"keep1\n{line}\nkeep2\n"
    assert LEGACY.sub("", text) == text


def test_legacy_marker_block_is_removed_whole():
    text = (
        "a\n# --- begin tmux-assistant-resurrect ---\nset -g @continuum-restore 'on'\n"
        "# --- end tmux-assistant-resurrect ---\nrun '~/.tmux/plugins/tpm/tpm'\n"
    )
    assert LEGACY.sub("", text) == "a\nrun '~/.tmux/plugins/tpm/tpm'\n"
