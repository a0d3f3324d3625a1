"""Filters of the assistant_resurrect role.

Everything the role's tasks and templates work out in more than a short
expression lives here, as plain functions of their arguments (standard
library only), so that it can be tested without Ansible
(tests/role/test_role_filters.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any


def under(path: Any, home: Any) -> str:
    """A role path: absolute as is, ``~/x`` and ``x`` relative to ``home``."""
    path = str(path)
    if path.startswith("/"):
        return posixpath.normpath(path)
    if path == "~":
        return str(home)
    if path.startswith("~/"):
        path = path[2:]
    return posixpath.normpath(posixpath.join(str(home), path))


def tmux_quote(value: Any) -> str:
    """Quote a value for a tmux configuration file."""
    value = str(value)
    if "'" not in value:
        return "'" + value + "'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped + '"'


def argv(value: Any) -> list[str]:
    """pip arguments given as a string (shell words) or a list."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return shlex.split(str(value))


_PROGRAM = re.compile(r"^~?(?:.*/)?([^/\s]+)")


def without_assistants(value: Any, assistants: Iterable[str]) -> str:
    """Drop assistant programs from an @resurrect-processes value.

    The value is a space-separated list of words, each optionally in double
    quotes (``"~claude" "vim->vim +SLoad"``). A word whose program (before
    ``->``, without a leading ``~`` and folders) is an assistant is dropped.
    """
    kept = []
    for word in shlex.split(str(value or "")):
        program = word.split("->", 1)[0].strip()
        match = _PROGRAM.match(program)
        name = match.group(1) if match else program
        if name in assistants:
            continue
        kept.append('"' + word + '"' if (" " in word or "->" in word) else word)
    return " ".join(kept)


def has_tmux_setting(text: Any, option: str) -> bool:
    """Whether a tmux configuration text sets ``option`` (set/set-option)."""
    pattern = (
        r"(?m)^[ \t]*set(?:-option)?[ \t]+(?:-[a-zA-Z]+[ \t]+)*"
        + re.escape(option)
        + r"(?:[ \t]|$)"
    )
    return re.search(pattern, str(text or "")) is not None


def has_tmux_plugin(text: Any, name: str) -> bool:
    """Whether a tmux configuration text declares the TPM plugin ``name``."""
    pattern = (
        r"(?m)^[ \t]*set(?:-option)?[ \t]+(?:-[a-zA-Z]+[ \t]+)*@plugin[ \t]+['\"]?"
        r"(?:[^'\"\s]*/)?" + re.escape(name) + r"(?:\.git)?['\"]?[ \t]*(?:#.*)?$"
    )
    return re.search(pattern, str(text or "")) is not None


def has_tpm_run(text: Any) -> bool:
    """Whether a tmux configuration text runs TPM itself."""
    pattern = (
        r"(?m)^[ \t]*run(?:-shell)?[ \t]+(?:-b[ \t]+)?['\"]?[^\n#]*"
        r"(?:tpm|tmux-plugin-manager)/tpm"
    )
    return re.search(pattern, str(text or "")) is not None


def without_block(text: Any, marker: str) -> str:
    """A tmux configuration text without the block marked with ``marker``.

    ``marker`` is the blockinfile marker, with ``{mark}`` for BEGIN/END.
    """
    begin, end = (re.escape(marker.replace("{mark}", m)) for m in ("BEGIN", "END"))
    pattern = r"(?m)^" + begin + r"[ \t]*\n(?:.*\n)*?" + end + r"[ \t]*(?:\n|\Z)"
    return re.sub(pattern, "", str(text or ""))


# --- Generic helpers ----------------------------------------------------------


def unique_paths(items: Iterable[Any]) -> list[Any]:
    """``items`` without repeats, first occurrence kept, in order.

    Like Ansible's ``unique`` filter without arguments, strings are compared
    case-insensitively (``/a/X`` and ``/a/x`` count as one).
    """
    seen: set[Any] = set()
    kept = []
    for item in items:
        key = item.lower() if isinstance(item, str) else item
        if key in seen:
            continue
        seen.add(key)
        kept.append(item)
    return kept


def slurped_text(result: Mapping[str, Any]) -> str:
    """The text of a registered ``slurp`` result; ``""`` when it read nothing.

    A skipped or failed slurp (no ``content``) gives the empty text. Bytes
    that are not UTF-8 are kept as surrogates, as Ansible's ``b64decode``.
    """
    if "content" not in result:
        return ""
    return base64.b64decode(str(result["content"])).decode("utf-8", "surrogateescape")


def slurped_json(result: Mapping[str, Any]) -> Any:
    """The JSON document of a registered ``slurp`` result; ``{}`` when it read nothing."""
    if "content" not in result:
        return {}
    return json.loads(slurped_text(result))


def _as_int(value: Any) -> int:
    """An integer the way Jinja's ``int`` filter makes one (0 when it cannot)."""
    try:
        if isinstance(value, str):
            return int(value, 10)
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


# --- Users ---------------------------------------------------------------------


def facts_home(facts: Mapping[str, Any]) -> Any:
    """The connecting user's home: ``$HOME`` from the facts, else ``user_dir``."""
    env = facts.get("env") or {}
    if "HOME" in env:
        return env["HOME"]
    return facts["user_dir"]


def users_or_self(users: Any, facts: Mapping[str, Any]) -> list[Any]:
    """The users to provision: ``users``, or when empty the connecting user.

    The connecting user is ``{"name": <user_id>, "home": <its $HOME>}``.
    """
    if len(users) > 0:
        return list(users)
    return [{"name": facts["user_id"], "home": facts_home(facts)}]


def _passwd(getent: Mapping[str, Any], name: str) -> list[Any] | None:
    """The passwd fields of ``name`` from a registered ``getent``; None when skipped."""
    if getent.get("skipped"):
        return None
    return getent["ansible_facts"]["getent_passwd"][name]


def user_home(getent: Mapping[str, Any], name: str, given: Any, facts: Mapping[str, Any]) -> Any:
    """A user's home: ``given`` when set, else passwd's, else the connecting user's.

    ``getent`` is the registered passwd lookup of ``name``, skipped for the
    connecting user (whose home comes from the facts then).
    """
    if len(given) > 0:
        return given
    fields = _passwd(getent, name)
    if fields is not None:
        return fields[4]
    return facts_home(facts)


def user_uid(getent: Mapping[str, Any], name: str, facts: Mapping[str, Any]) -> int:
    """A user's uid: passwd's, or the connecting user's when ``getent`` was skipped."""
    fields = _passwd(getent, name)
    return _as_int(fields[1] if fields is not None else facts["user_uid"])


def dir_candidates(
    home: Any,
    data_dir: Any,
    bin_dir: Any,
    config_dir: Any,
    claude_settings: Any,
    opencode_dir: Any,
    gemini_settings: Any = None,
) -> list[str]:
    """The folders the role may create for a user living in ``home``.

    The other arguments are the role's path variables (relative to ``home``
    unless absolute). ``home`` itself is never one; repeats are dropped.
    """
    home = str(home)
    data = under(data_dir, home)
    opencode = under(opencode_dir, home)
    found = [
        posixpath.dirname(data),
        posixpath.dirname(posixpath.dirname(data)),
        under(bin_dir, home),
        posixpath.dirname(under(config_dir, home)),
        posixpath.dirname(under(claude_settings, home)),
        *([posixpath.dirname(under(gemini_settings, home))] if gemini_settings else []),
        opencode,
        posixpath.dirname(opencode),
        home + "/.config/systemd/user/default.target.wants",
        home + "/.config/systemd/user",
        home + "/.config/systemd",
        home + "/.config/tmux/plugins",
        home + "/.config/tmux",
        home + "/.tmux/plugins",
        home + "/.tmux",
    ]
    return unique_paths(path for path in found if path != home)


# --- The agent -------------------------------------------------------------------


def build_id(method: Any, source: Any, pip_args: Any, python: Any) -> str:
    """The name of an agent build (16 hex digits).

    Made of the install method, what is installed (the source digest or the
    pip spec), the pip arguments (a string of shell words or a list, the
    same words giving the same name) and the interpreter.
    """
    parts = [str(method), str(source), " ".join(argv(pip_args)), str(python)]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def pip_install_argv(python: Any, pip_args: Any, target: Any) -> list[str]:
    """The argv of the quiet, non-interactive ``pip install`` of ``target``."""
    return [
        str(python),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--no-cache-dir",
        "--quiet",
        *argv(pip_args),
        str(target),
    ]


def package_names(names: Iterable[str], tpm_packaged: Any) -> list[str]:
    """The OS packages to install: ``names``, and TPM's package when it is used."""
    return list(names) + (["tmux-plugin-manager"] if _flag(tpm_packaged) else [])


# --- tmux ------------------------------------------------------------------------


def _xdg_tmux_conf(home: Any) -> str:
    return str(home) + "/.config/tmux/tmux.conf"


def choose_tmux_conf(stats: Mapping[str, Any], given: Any, home: Any) -> str:
    """The tmux configuration file to edit.

    ``given`` (the role variable) when set; else ``~/.config/tmux/tmux.conf``
    when it is the only one that exists, else ``~/.tmux.conf``. ``stats`` is
    the registered ``stat`` loop over those two files, in that order.
    """
    if len(given) > 0:
        return under(given, home)
    results = stats["results"]
    if not results[0]["stat"]["exists"] and results[1]["stat"]["exists"]:
        return str(results[1]["item"])
    return str(results[0]["item"])


def stat_of(stats: Mapping[str, Any], path: Any) -> Any:
    """The ``stat`` of ``path`` in a registered ``stat`` loop.

    ``{"exists": False}`` when the loop did not look at it (or has no stat).
    """
    for result in stats["results"]:
        if result.get("item") == path:
            return result.get("stat") or {"exists": False}
    return {"exists": False}


def plugin_folder(given: Any, home: Any, tmux_conf: Any = None) -> str:
    """The TPM plugin folder.

    ``given`` (the role variable) when set; else TPM's own default:
    ``~/.config/tmux/plugins`` when ``tmux_conf`` is
    ``~/.config/tmux/tmux.conf``, ``~/.tmux/plugins`` otherwise.
    """
    if len(given) > 0:
        return under(given, home)
    if tmux_conf == _xdg_tmux_conf(home):
        return str(home) + "/.config/tmux/plugins"
    return str(home) + "/.tmux/plugins"


PLUGINS = ("tpm", "tmux-resurrect", "tmux-continuum")


def _flag(value: Any) -> bool:
    """A boolean role setting, also when it arrives as a string (``"False"``)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


def _plugin_names(tpm_packaged: Any) -> list[str]:
    return [name for name in PLUGINS if not (_flag(tpm_packaged) and name == "tpm")]


def plugin_clones(sources: Mapping[str, Any], tpm_packaged: Any) -> list[dict[str, Any]]:
    """The plugins to clone: ``{name, repo, version}`` each, TPM first.

    ``sources`` maps each plugin name to its ``{repo, version}``. TPM is
    left out when it comes from the OS package.
    """
    return [
        {"name": name, "repo": sources[name]["repo"], "version": sources[name]["version"]}
        for name in _plugin_names(tpm_packaged)
    ]


def plugin_paths(folder: Any) -> list[str]:
    """The clones of TPM, tmux-resurrect and tmux-continuum in ``folder``."""
    return [str(folder) + "/" + name for name in PLUGINS]


def user_tmux_text(text: Any, marker: str, legacy_regexp: str = "") -> str:
    """What the user's own tmux configuration says.

    ``text`` without the role's marked block and, when ``legacy_regexp`` is
    given, without what the upstream bash plugin wrote (every match removed).
    """
    text = without_block(text, marker)
    if legacy_regexp:
        text = re.sub(legacy_regexp, "", text)
    return text


def missing_plugins(user_conf: Any, tpm_packaged: Any) -> list[str]:
    """The plugins (of TPM, tmux-resurrect, tmux-continuum) the snippet declares.

    Those the user's configuration does not declare already, without TPM
    when it comes from the OS package (declaring it would make TPM clone it).
    """
    return [name for name in _plugin_names(tpm_packaged) if not has_tmux_plugin(user_conf, name)]


def snippet_settings(
    user_conf: Any,
    processes: Any,
    capture_env: Any,
    continuum_restore: Any,
    continuum_save_interval: Any,
    tmux_options: Mapping[str, Any],
    assistants: Iterable[str],
) -> list[list[str]]:
    """The ``[option, value]`` pairs the snippet sets after its hooks, in order.

    - ``@resurrect-processes``: ``processes`` without the assistants, unless
      empty or set by the user's configuration;
    - ``@assistant-resurrect-capture-env``: ``capture_env`` unless empty;
    - ``@continuum-restore``, ``@continuum-save-interval``: unless empty or
      set by the user's configuration;
    - then every ``tmux_options`` entry (assistants dropped from an
      ``@resurrect-processes`` one).
    """
    assistants = list(assistants)
    settings = []
    kept = without_assistants(processes, assistants)
    if len(kept) > 0 and not has_tmux_setting(user_conf, "@resurrect-processes"):
        settings.append(["@resurrect-processes", kept])
    if len(capture_env) > 0:
        settings.append(["@assistant-resurrect-capture-env", str(capture_env)])
    for option, value in (
        ("@continuum-restore", continuum_restore),
        ("@continuum-save-interval", continuum_save_interval),
    ):
        if len(str(value)) > 0 and not has_tmux_setting(user_conf, option):
            settings.append([option, str(value)])
    for option, value in tmux_options.items():
        if option == "@resurrect-processes":
            settings.append([str(option), without_assistants(value, assistants)])
        else:
            settings.append([str(option), str(value)])
    return settings


def with_tmux_user(users: Iterable[Any], user: Mapping[str, Any]) -> list[Any]:
    """``users`` and ``user``'s entry for the tmux handlers (name, become, snippet, bin)."""
    entry = {key: user[key] for key in ("name", "become", "snippet", "bin")}
    return [*users, entry]


# --- Removal -----------------------------------------------------------------------


def tmux_conf_paths(
    candidates: Iterable[Any], record: Mapping[str, Any], given: Any, home: Any
) -> list[Any]:
    """Every tmux configuration file that may hold the role's block.

    The usual ``candidates``, the one the install recorded, the one the role
    variable ``given`` names (when set), without repeats.
    """
    paths = list(candidates)
    if "tmux_conf" in record:
        paths.append(record["tmux_conf"])
    if len(given) > 0:
        paths.append(under(given, home))
    return unique_paths(paths)


def state_folders(given: Any, uid: Any) -> list[Any]:
    """The agent's state folders: ``given`` when set, else the runtime and /tmp ones."""
    if len(given) > 0:
        return list(given)
    return [f"/run/user/{uid}/assistant-resurrect", f"/tmp/assistant-resurrect-{uid}"]


def holds_files(found: Mapping[str, Any], folder: Any) -> bool:
    """Whether a registered ``find`` saw anything but folders inside ``folder``."""
    prefix = str(folder) + "/"
    return any(
        not entry.get("isdir") and str(entry.get("path")).startswith(prefix)
        for entry in found.get("files") or []
    )


# --- The install record --------------------------------------------------------------


def missing_paths(stats: Mapping[str, Any]) -> list[Any]:
    """The paths a registered ``stat`` loop found missing (skipped ones left out)."""
    return [
        result["item"]
        for result in stats.get("results") or []
        if "skipped" not in result and not (result.get("stat") or {}).get("exists")
    ]


def role_state(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The install record (role-state.json) to write.

    ``current`` is what this run found: ``created_dirs``, ``tmux_conf``,
    ``plugins_dir`` and the ``created`` flags. What the first install found
    wins: ``created_dirs`` and each ``created`` flag ``previous`` (the
    earlier record, ``{}`` if none) holds are kept as they are.
    """
    created_before = previous.get("created") or {}
    return {
        "version": 1,
        "created_dirs": (
            previous["created_dirs"] if "created_dirs" in previous else current["created_dirs"]
        ),
        "tmux_conf": current["tmux_conf"],
        "plugins_dir": current["plugins_dir"],
        "created": {
            key: created_before.get(key, value) for key, value in current["created"].items()
        },
    }


class FilterModule:
    """The role's filters, each named ``assistant_resurrect_<function>``."""

    def filters(self) -> dict[str, Any]:
        return {
            "assistant_resurrect_under": under,
            "assistant_resurrect_tmux_quote": tmux_quote,
            "assistant_resurrect_argv": argv,
            "assistant_resurrect_without_assistants": without_assistants,
            "assistant_resurrect_has_tmux_setting": has_tmux_setting,
            "assistant_resurrect_has_tmux_plugin": has_tmux_plugin,
            "assistant_resurrect_has_tpm_run": has_tpm_run,
            "assistant_resurrect_without_block": without_block,
            "assistant_resurrect_unique_paths": unique_paths,
            "assistant_resurrect_slurped_text": slurped_text,
            "assistant_resurrect_slurped_json": slurped_json,
            "assistant_resurrect_users_or_self": users_or_self,
            "assistant_resurrect_facts_home": facts_home,
            "assistant_resurrect_user_home": user_home,
            "assistant_resurrect_user_uid": user_uid,
            "assistant_resurrect_dir_candidates": dir_candidates,
            "assistant_resurrect_build_id": build_id,
            "assistant_resurrect_pip_install_argv": pip_install_argv,
            "assistant_resurrect_package_names": package_names,
            "assistant_resurrect_choose_tmux_conf": choose_tmux_conf,
            "assistant_resurrect_stat_of": stat_of,
            "assistant_resurrect_plugin_folder": plugin_folder,
            "assistant_resurrect_plugin_clones": plugin_clones,
            "assistant_resurrect_plugin_paths": plugin_paths,
            "assistant_resurrect_user_tmux_text": user_tmux_text,
            "assistant_resurrect_missing_plugins": missing_plugins,
            "assistant_resurrect_snippet_settings": snippet_settings,
            "assistant_resurrect_with_tmux_user": with_tmux_user,
            "assistant_resurrect_tmux_conf_paths": tmux_conf_paths,
            "assistant_resurrect_state_folders": state_folders,
            "assistant_resurrect_holds_files": holds_files,
            "assistant_resurrect_missing_paths": missing_paths,
            "assistant_resurrect_role_state": role_state,
        }
