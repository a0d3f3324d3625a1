"""The role's filters and its migration regular expression, without Ansible."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re

import pytest
import yaml

from assistant_resurrect import assistants

from .conftest import ROLE

pytestmark = pytest.mark.role

_spec = importlib.util.spec_from_file_location(
    "ar_role_filters", ROLE / "filter_plugins" / "assistant_resurrect.py"
)
filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(filters)

ASSISTANTS = assistants.names()  # the registry
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


# --- Filters that hold the tasks' and the template's logic ---------------------

FACTS = {"user_id": "u", "user_uid": 1000, "user_dir": "/home/u", "env": {"HOME": "/srv/u"}}


def test_unique_paths_keeps_first_and_ignores_case_like_ansible():
    assert filters.unique_paths(["/a", "/b", "/a", "/B", "/c"]) == ["/a", "/b", "/c"]


def test_slurped_text_and_json():
    content = base64.b64encode(b'{"tmux_conf": "/h/.tmux.conf"}').decode()
    assert filters.slurped_text({"content": content}) == '{"tmux_conf": "/h/.tmux.conf"}'
    assert filters.slurped_json({"content": content}) == {"tmux_conf": "/h/.tmux.conf"}
    assert filters.slurped_text({"skipped": True}) == ""
    assert filters.slurped_json({"failed": True, "msg": "missing"}) == {}
    raw = base64.b64encode(b"set -g @x '\xff'\n").decode()
    assert filters.slurped_text({"content": raw}) == "set -g @x '\udcff'\n"


def test_users_or_self():
    assert filters.users_or_self(["a", {"name": "b"}], FACTS) == ["a", {"name": "b"}]
    assert filters.users_or_self([], FACTS) == [{"name": "u", "home": "/srv/u"}]
    no_home = {**FACTS, "env": {}}
    assert filters.users_or_self([], no_home) == [{"name": "u", "home": "/home/u"}]


def test_user_home_and_uid():
    getent = {"ansible_facts": {"getent_passwd": {"b": ["x", "1001", "1001", "", "/home/b"]}}}
    skipped = {"skipped": True}
    assert filters.user_home(getent, "b", "", FACTS) == "/home/b"
    assert filters.user_home(getent, "b", "/given", FACTS) == "/given"
    assert filters.user_home(skipped, "u", "", FACTS) == "/srv/u"
    assert filters.user_uid(getent, "b", FACTS) == 1001
    assert filters.user_uid(skipped, "u", FACTS) == 1000


def test_dir_candidates():
    found = filters.dir_candidates(
        "/home/u",
        ".local/share/assistant-resurrect",
        ".local/bin",
        ".config/assistant-resurrect",
        ".claude/settings.json",
        ".config/opencode/plugins",
    )
    assert found == [
        "/home/u/.local/share",
        "/home/u/.local",
        "/home/u/.local/bin",
        "/home/u/.config",
        "/home/u/.claude",
        "/home/u/.config/opencode/plugins",
        "/home/u/.config/opencode",
        "/home/u/.config/systemd/user/default.target.wants",
        "/home/u/.config/systemd/user",
        "/home/u/.config/systemd",
        "/home/u/.config/tmux/plugins",
        "/home/u/.config/tmux",
        "/home/u/.tmux/plugins",
        "/home/u/.tmux",
    ]
    # A data dir right under home: home itself is never a candidate.
    assert "/home/u" not in filters.dir_candidates("/home/u", "data", "/opt/bin", "c", "s", "o")


def test_build_id():
    expected = hashlib.sha256(b"source\nabc\n--no-index --find-links /w\npython3").hexdigest()[:16]
    assert filters.build_id("source", "abc", "--no-index --find-links /w", "python3") == expected
    assert filters.build_id("source", "abc", ["--no-index", "--find-links", "/w"], "python3") == (
        expected
    )
    others = {
        filters.build_id("pip", "abc", "--no-index --find-links /w", "python3"),
        filters.build_id("source", "abd", "--no-index --find-links /w", "python3"),
        filters.build_id("source", "abc", "", "python3"),
        filters.build_id("source", "abc", "--no-index --find-links /w", "python3.12"),
    }
    assert expected not in others and len(others) == 4


def test_pip_install_argv():
    assert filters.pip_install_argv(
        "/v/bin/python", "--no-index --find-links '/w s'", "/a.tgz"
    ) == [
        "/v/bin/python",
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--no-cache-dir",
        "--quiet",
        "--no-index",
        "--find-links",
        "/w s",
        "/a.tgz",
    ]
    assert filters.pip_install_argv("p", "", "spec")[-2:] == ["--quiet", "spec"]


def test_package_names():
    assert filters.package_names(["tmux", "git"], False) == ["tmux", "git"]
    assert filters.package_names(["tmux"], True) == ["tmux", "tmux-plugin-manager"]
    assert filters.package_names(["tmux"], "False") == ["tmux"]


def _stats(first: bool, second: bool) -> dict:
    return {
        "results": [
            {"item": "/h/.tmux.conf", "stat": {"exists": first}},
            {"item": "/h/.config/tmux/tmux.conf", "stat": {"exists": second}},
        ]
    }


@pytest.mark.parametrize(
    ("first", "second", "given", "chosen"),
    [
        (False, False, "", "/h/.tmux.conf"),
        (True, True, "", "/h/.tmux.conf"),
        (True, False, "", "/h/.tmux.conf"),
        (False, True, "", "/h/.config/tmux/tmux.conf"),
        (False, True, "dot/tmux.conf", "/h/dot/tmux.conf"),
    ],
)
def test_choose_tmux_conf(first, second, given, chosen):
    assert filters.choose_tmux_conf(_stats(first, second), given, "/h") == chosen


def test_stat_of():
    stats = _stats(True, False)
    assert filters.stat_of(stats, "/h/.tmux.conf") == {"exists": True}
    assert filters.stat_of(stats, "/h/.config/tmux/tmux.conf") == {"exists": False}
    assert filters.stat_of(stats, "/elsewhere") == {"exists": False}
    assert filters.stat_of({"results": [{"item": "/x", "stat": {}}]}, "/x") == {"exists": False}


def test_plugin_folder():
    assert filters.plugin_folder("", "/h", "/h/.tmux.conf") == "/h/.tmux/plugins"
    assert filters.plugin_folder("", "/h", "/h/.config/tmux/tmux.conf") == "/h/.config/tmux/plugins"
    assert filters.plugin_folder("", "/h") == "/h/.tmux/plugins"
    assert filters.plugin_folder("p", "/h", "/h/.config/tmux/tmux.conf") == "/h/p"
    assert filters.plugin_folder("/opt/p/", "/h") == "/opt/p"


def test_plugin_clones_and_paths():
    sources = {
        name: {"repo": f"/r/{name}.git", "version": f"v-{name}"}
        for name in ("tmux-continuum", "tpm", "tmux-resurrect")
    }
    clones = filters.plugin_clones(sources, False)
    assert [c["name"] for c in clones] == ["tpm", "tmux-resurrect", "tmux-continuum"]
    assert clones[0] == {"name": "tpm", "repo": "/r/tpm.git", "version": "v-tpm"}
    assert [c["name"] for c in filters.plugin_clones(sources, True)] == [
        "tmux-resurrect",
        "tmux-continuum",
    ]
    assert filters.plugin_paths("/h/.tmux/plugins") == [
        "/h/.tmux/plugins/tpm",
        "/h/.tmux/plugins/tmux-resurrect",
        "/h/.tmux/plugins/tmux-continuum",
    ]


def test_user_tmux_text():
    marker = ROLE_VARS["assistant_resurrect__marker"]
    begin, end = marker.replace("{mark}", "BEGIN"), marker.replace("{mark}", "END")
    legacy = "# tmux-assistant-resurrect\n"
    text = f"a\n{legacy}{begin}\nsource-file x\n{end}\nb\n"
    assert filters.user_tmux_text(text, marker) == f"a\n{legacy}b\n"
    assert filters.user_tmux_text(text, marker, "(?m)" + LEGACY.pattern) == "a\nb\n"


def test_missing_plugins():
    conf = "set -g @plugin 'tmux-plugins/tmux-resurrect'\n"
    assert filters.missing_plugins(conf, False) == ["tpm", "tmux-continuum"]
    assert filters.missing_plugins("", True) == ["tmux-resurrect", "tmux-continuum"]


def _settings(user_conf="", **given):
    args = {
        "processes": "",
        "capture_env": "",
        "continuum_restore": "on",
        "continuum_save_interval": "15",
        "tmux_options": {},
        "assistants": ASSISTANTS,
        **given,
    }
    return filters.snippet_settings(user_conf, **args)


def test_snippet_settings_defaults():
    assert _settings() == [["@continuum-restore", "on"], ["@continuum-save-interval", "15"]]


def test_snippet_settings_order_and_user_wins():
    user = "set -g @continuum-restore off\nset -g @resurrect-processes 'x'\n"
    assert _settings(
        user,
        processes='ssh "~claude"',
        capture_env="A B",
        continuum_save_interval=5,
        tmux_options={"@resurrect-processes": '"~codex" htop', "@x": True, "@y": ""},
    ) == [
        ["@assistant-resurrect-capture-env", "A B"],
        ["@continuum-save-interval", "5"],
        ["@resurrect-processes", "htop"],
        ["@x", "True"],
        ["@y", ""],
    ]


def test_snippet_settings_processes_and_empty_values():
    assert _settings(
        processes='"~claude" vim', continuum_restore="", continuum_save_interval=""
    ) == [["@resurrect-processes", "vim"]]
    assert _settings(processes='"~claude" "~gemini"', continuum_restore="") == [
        ["@continuum-save-interval", "15"]
    ]


def test_with_tmux_user():
    user = {"name": "u", "become": False, "snippet": "/s", "bin": "/b", "home": "/h"}
    first = filters.with_tmux_user([], user)
    assert first == [{"name": "u", "become": False, "snippet": "/s", "bin": "/b"}]
    assert filters.with_tmux_user(first, {**user, "name": "v"})[1]["name"] == "v"


def test_tmux_conf_paths():
    candidates = ["/h/.tmux.conf", "/h/.config/tmux/tmux.conf"]
    assert filters.tmux_conf_paths(candidates, {}, "", "/h") == candidates
    assert filters.tmux_conf_paths(candidates, {"tmux_conf": "/h/.tmux.conf"}, "x.conf", "/h") == [
        *candidates,
        "/h/x.conf",
    ]
    assert filters.tmux_conf_paths(candidates, {"tmux_conf": "/d/t.conf"}, "", "/h")[-1] == (
        "/d/t.conf"
    )


def test_state_folders():
    assert filters.state_folders([], 1000) == [
        "/run/user/1000/assistant-resurrect",
        "/tmp/assistant-resurrect-1000",
    ]
    assert filters.state_folders(["/s"], 1000) == ["/s"]


def test_holds_files():
    found = {
        "files": [
            {"path": "/h/.tmux", "isdir": True},
            {"path": "/h/.tmux/plugins", "isdir": True},
            {"path": "/h/.tmux.conf", "isdir": False},
            {"path": "/h/.config/x/f", "isdir": False},
        ]
    }
    assert not filters.holds_files(found, "/h/.tmux")
    assert filters.holds_files(found, "/h/.config")
    assert filters.holds_files(found, "/h/.config/x")
    assert not filters.holds_files({"skipped": True}, "/h/.config")


def test_missing_paths():
    stats = {
        "results": [
            {"item": "/a", "stat": {"exists": False}},
            {"item": "/b", "stat": {"exists": True}},
            {"item": "/c", "skipped": True},
        ]
    }
    assert filters.missing_paths(stats) == ["/a"]
    assert filters.missing_paths({}) == []


def test_role_state_keeps_what_the_first_install_found():
    found = {
        "created_dirs": ["/h/.tmux"],
        "tmux_conf": "/h/.tmux.conf",
        "plugins_dir": "/h/.tmux/plugins",
        "created": {"tmux_conf": True, "claude_settings": True, "linger": False},
    }
    assert filters.role_state({}, found) == {"version": 1, **found}
    previous = {"version": 1, "created_dirs": [], "created": {"tmux_conf": False}}
    assert filters.role_state(previous, found) == {
        "version": 1,
        "created_dirs": [],
        "tmux_conf": "/h/.tmux.conf",
        "plugins_dir": "/h/.tmux/plugins",
        "created": {"tmux_conf": False, "claude_settings": True, "linger": False},
    }


def test_every_filter_is_registered_and_documented():
    registered = filters.FilterModule().filters()
    for name, func in registered.items():
        assert name == "assistant_resurrect_" + func.__name__
        assert func.__doc__


def test_dir_candidates_with_gemini_settings():
    """~/.gemini, when the role creates it for Gemini CLI's hooks, is removed again."""
    args = ("/home/u", ".local/share/ar", ".local/bin", ".config/ar", ".claude/settings.json")
    without = filters.dir_candidates(*args, ".config/opencode/plugins")
    found = filters.dir_candidates(*args, ".config/opencode/plugins", ".gemini/settings.json")
    assert set(found) - set(without) == {"/home/u/.gemini"}


BLOCK_MARKER = "# {mark} assistant-resurrect"
BASH_BLOCK = r"(?m)^# --- begin legacy ---\n(?:.*\n)*?# --- end legacy ---\n"


def test_legacy_save_interval_is_read_from_the_bash_plugin_lines_only():
    conf = (
        "set -g @continuum-save-interval '30'\n"
        "# --- begin legacy ---\nset -g @continuum-save-interval '5'\n# --- end legacy ---\n"
        "# BEGIN assistant-resurrect\nset -g @continuum-save-interval '9'\n"
        "# END assistant-resurrect\n"
    )
    assert filters.legacy_save_interval(conf, BLOCK_MARKER, BASH_BLOCK) == "5"
    assert filters.legacy_save_interval(conf, BLOCK_MARKER, "") == ""  # migration off
    user_only = "set -g @continuum-save-interval 30\n"
    assert filters.legacy_save_interval(user_only, BLOCK_MARKER, BASH_BLOCK) == ""


def test_save_interval_explicit_else_legacy_else_recorded_else_15():
    assert filters.save_interval(None, "", {}) == "15"
    assert filters.save_interval(None, "5", {}) == "5"
    assert filters.save_interval(None, "", {"continuum_save_interval": "5"}) == "5"
    assert filters.save_interval("15", "5", {"continuum_save_interval": "5"}) == "15"
    assert filters.save_interval(20, "5", {}) == "20"
    assert filters.save_interval("", "5", {}) == ""  # explicitly not written


def test_role_state_keeps_the_migrated_save_interval():
    found = {
        "created_dirs": [],
        "tmux_conf": "/h/.tmux.conf",
        "plugins_dir": "/h/.tmux/plugins",
        "created": {},
        "continuum_save_interval": "",
    }
    assert "continuum_save_interval" not in filters.role_state({}, found)
    first = filters.role_state({}, {**found, "continuum_save_interval": "5"})
    assert first["continuum_save_interval"] == "5"
    assert filters.role_state(first, found)["continuum_save_interval"] == "5"


def _seen(**given):
    return {"exists": True, "islnk": False, **given}


def test_probe_predicates_say_yes_only_for_the_exact_state():
    assert filters.is_link_to(_seen(islnk=True, lnk_target="venvs/b1"), "venvs/b1")
    assert not filters.is_link_to(_seen(islnk=True, lnk_target="venvs/b0"), "venvs/b1")
    assert not filters.is_link_to({"exists": False, "islnk": False}, "venvs/b1")
    assert filters.is_dir(_seen(isdir=True, mode="0755"), "0755")
    assert not filters.is_dir(_seen(isdir=True, mode="0700"), "0755")
    assert filters.is_file(_seen(isreg=True, checksum="ab", mode="0644"), "ab", "0644")
    assert not filters.is_file(_seen(isreg=True, checksum="ab", mode="0600"), "ab", "0644")
    assert not filters.is_file(
        _seen(isreg=True, islnk=True, checksum="ab", mode="0644"), "ab", "0644"
    )
    text = {"content": base64.b64encode(b'{"plugin": ["/x.js"]}\n').decode()}
    assert filters.is_text(
        _seen(isreg=True, mode="0644", **text), '{"plugin": ["/x.js"]}\n', "0644"
    )
    assert not filters.is_text(_seen(isreg=True, mode="0644", **text), "{}\n", "0644")
    assert not filters.is_text(None, "", "0644")
    assert filters.json_list_has(text, "plugin", "/x.js")
    assert not filters.json_list_has(text, "plugin", "/y.js")
    assert not filters.json_list_has(
        {"content": base64.b64encode(b"{oops").decode()}, "plugin", "/x.js"
    )


def test_has_block_matches_what_blockinfile_leaves_alone():
    marker = "# {mark} ar"
    block = "source-file '/s'"
    good = f"set -g x\n# BEGIN ar\n{block}\n# END ar\nrun tpm\n"
    assert filters.has_block(good, marker, block)
    assert not filters.has_block(good.replace("'/s'", "'/t'"), marker, block)
    assert not filters.has_block(good[:-1], marker, block)  # no final newline
    assert not filters.has_block(good + f"# BEGIN ar\n{block}\n# END ar\n", marker, block)
    assert not filters.has_block("set -g x\n", marker, block)
    assert not filters.has_block(f"# BEGIN ar\n{block}\nextra\n# END ar\n", marker, block)


# --- hooks_merged: a settings merge proven to leave the probed file as it is ---

SETTINGS_MODULE = ROLE / "library" / "assistant_resurrect_claude_settings.py"
START, END = (
    "/h/.local/bin/assistant-resurrect hook x-session-start",
    "/h/bin/ar hook x-session-end",
)
MARK = "hook x-session-"


def _group(command: str) -> dict:
    return {"matcher": "", "hooks": [{"type": "command", "command": command}]}


def _seen_json(text: str | None) -> dict:
    if text is None:
        return {"exists": False, "islnk": False}
    return {"exists": True, "isreg": True, "content": base64.b64encode(text.encode()).decode()}


def _module_changes(path, text: str | None, args: dict) -> bool | None:
    """The real module, in check mode, on ``text``: changed (None: it failed)."""
    import subprocess
    import sys

    target = path / "settings.json"
    if text is not None:
        target.write_text(text)
    spec = {"path": str(target), "marker": MARK, "_ansible_check_mode": True, **args}
    params = path / "args.json"
    params.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": spec}))
    proc = subprocess.run(
        [sys.executable, str(SETTINGS_MODULE), str(params)], capture_output=True, text=True
    )
    out = json.loads(proc.stdout)
    return None if out.get("failed") else bool(out["changed"])


OURS = {"hooks": {"SessionStart": [_group(START)], "SessionEnd": [_group(END)]}}
MERGE_CASES = [
    # (id, text, module args, filter keyword args)
    ("exact", json.dumps(OURS, indent=2) + "\n", {}, {}),
    ("exact-compact-other-keys", json.dumps({"a": 1.0, **OURS, "z": [1e400]}), {}, {}),
    (
        "others-kept",
        json.dumps(
            {
                "hooks": {
                    "SessionStart": [_group("other"), _group(START)],
                    "SessionEnd": [_group(END)],
                }
            }
        ),
        {},
        {},
    ),
    ("end-missing", json.dumps({"hooks": {"SessionStart": [_group(START)]}}), {}, {}),
    (
        "command-differs",
        json.dumps(
            {"hooks": {"SessionStart": [_group(START + " -v")], "SessionEnd": [_group(END)]}}
        ),
        {},
        {},
    ),
    (
        "twice",
        json.dumps(
            {"hooks": {"SessionStart": [_group(START), _group(START)], "SessionEnd": [_group(END)]}}
        ),
        {},
        {},
    ),
    ("stale-event", json.dumps({"hooks": {**OURS["hooks"], "Stop": [_group(END)]}}), {}, {}),
    (
        "legacy-kept",
        json.dumps({"hooks": {**OURS["hooks"], "Stop": [_group("x/track.sh")]}}),
        {},
        {},
    ),
    (
        "legacy-migrated",
        json.dumps({"hooks": {**OURS["hooks"], "Stop": [_group("x/track.sh")]}}),
        {"legacy_suffixes": ["track.sh"]},
        {"legacy_suffixes": ["track.sh"]},
    ),
    ("not-json", "{", {}, {}),
    ("nan", '{"a": NaN, ' + json.dumps(OURS)[1:], {}, {}),
    ("duplicate-key", '{"a": 1, "a": 2, ' + json.dumps(OURS)[1:], {}, {}),
    ("hooks-not-object", json.dumps({"hooks": []}), {}, {}),
    (
        "event-not-list",
        json.dumps({"hooks": {"SessionStart": {}, "SessionEnd": [_group(END)]}}),
        {},
        {},
    ),
    ("top-list", "[]", {}, {}),
    ("missing", None, {}, {}),
    (
        "missing-existing-only",
        None,
        {"key": "", "existing_events_only": True},
        {"key": "", "existing_events_only": True},
    ),
    (
        "existing-only-none",
        json.dumps({"Other": []}),
        {"key": "", "existing_events_only": True},
        {"key": "", "existing_events_only": True},
    ),
    (
        "existing-only-exact",
        json.dumps({"SessionStart": [_group(START)]}),
        {"key": "", "existing_events_only": True},
        {"key": "", "existing_events_only": True},
    ),
    (
        "existing-only-to-add",
        json.dumps({"SessionStart": [_group(START)], "SessionEnd": []}),
        {"key": "", "existing_events_only": True},
        {"key": "", "existing_events_only": True},
    ),
    (
        "cursor-exact",
        json.dumps({"version": 1, "hooks": {"a": [{"command": START}], "b": [{"command": END}]}}),
        {"layout": "cursor", "start_event": "a", "end_event": "b"},
        {"layout": "cursor", "start_event": "a", "end_event": "b"},
    ),
    (
        "cursor-no-version",
        json.dumps({"hooks": {"a": [{"command": START}], "b": [{"command": END}]}}),
        {"layout": "cursor", "start_event": "a", "end_event": "b"},
        {"layout": "cursor", "start_event": "a", "end_event": "b"},
    ),
    (
        "cursor-drifted",
        json.dumps(
            {"version": 1, "hooks": {"a": [{"command": START}], "b": [{"command": "x " + MARK}]}}
        ),
        {"layout": "cursor", "start_event": "a", "end_event": "b"},
        {"layout": "cursor", "start_event": "a", "end_event": "b"},
    ),
    (
        "absent-clean",
        json.dumps({"hooks": {"Stop": [_group("other")]}}),
        {"state": "absent"},
        {"wanted": False},
    ),
    ("absent-ours", json.dumps(OURS), {"state": "absent"}, {"wanted": False}),
    ("absent-missing", None, {"state": "absent"}, {"wanted": False}),
]


@pytest.mark.parametrize(
    ("text", "args", "kwargs"), [c[1:] for c in MERGE_CASES], ids=[c[0] for c in MERGE_CASES]
)
def test_hooks_merged_says_yes_only_when_the_module_changes_nothing(tmp_path, text, args, kwargs):
    kwargs = dict(kwargs)
    wanted = kwargs.pop("wanted", True)
    module_args = {"start_command": START, "end_command": END, **args}
    changes = _module_changes(tmp_path, text, module_args)
    merged = filters.hooks_merged(_seen_json(text), wanted, START, END, MARK, **kwargs)
    assert merged == (changes is False)


def test_hooks_merged_proves_the_exact_cases():
    exact = json.dumps(OURS)
    assert filters.hooks_merged(_seen_json(exact), True, START, END, MARK)
    assert not filters.hooks_merged(_seen_json(exact), False, START, END, MARK)
    assert not filters.hooks_merged(_seen_json(exact), True, START + "x", END, MARK)
    assert not filters.hooks_merged(_seen_json(None), True, START, END, MARK)
    assert filters.hooks_merged(_seen_json(None), False, START, END, MARK)


@pytest.mark.parametrize(
    "seen",
    [
        None,
        {},
        {"exists": True, "isdir": True},
        {"exists": True, "isreg": True},
        {"exists": True, "content": "@@"},
    ],
)
def test_hooks_merged_says_no_without_a_readable_file(seen):
    assert not filters.hooks_merged(seen, True, START, END, MARK)
    assert not filters.hooks_merged(seen, False, START, END, MARK) or seen == {}
