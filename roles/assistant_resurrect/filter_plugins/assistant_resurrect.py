"""Filters of the assistant_resurrect role.

Everything the role's tasks and templates work out in more than a short
expression lives here, as plain functions of their arguments (standard
library only), so that it can be tested without Ansible
(tests/role/test_role_filters.py). One exception: ``hooks_merged`` imports
the hook-settings module from library/ (it needs Ansible's module_utils) and
says "no" when it cannot.
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


_PLUGIN_VARIABLES = {"tpm": "tpm", "tmux-resurrect": "resurrect", "tmux-continuum": "continuum"}


def clone_failures(clones: Mapping[str, Any], recursive: Any) -> str:
    """What to tell the user about the plugin clones that failed ('' when none).

    ``clones`` is the registered loop of the clone task (items from
    ``plugin_clones``). Each failure names the plugin, the URL and version
    tried, git's message and the role variables to set.
    """
    lines = []
    for result in clones.get("results", []):
        if not result.get("failed"):
            continue
        item = result.get("item") or {}
        name = str(item.get("name", "?"))
        var = "assistant_resurrect_" + _PLUGIN_VARIABLES.get(name, name)
        why = " ".join(str(result.get("stderr") or result.get("msg") or "").split())
        where = f"{item.get('repo')} at {item.get('version')}"
        line = (
            f"could not clone {name} from {where}: {why[:600]}; "
            f"set {var}_repo to a repository you can reach (and {var}_version to a tag, "
            "branch or commit it has)"
        )
        if _flag(recursive):
            line += (
                ", or set assistant_resurrect_plugins_recursive to false when a git "
                "submodule is what cannot be fetched"
            )
        lines.append(line)
    return ". ".join(lines)


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


def legacy_save_interval(text: Any, marker: str, legacy_regexp: str) -> str:
    """The ``@continuum-save-interval`` the upstream bash plugin's lines set.

    Looked for in what ``legacy_regexp`` matches in ``text`` (the role's own
    marked block left out); the last value wins, as in tmux. ``""`` when
    none of those lines sets it or ``legacy_regexp`` is empty.
    """
    if not legacy_regexp:
        return ""
    setting = re.compile(
        r"(?m)^[ \t]*set(?:-option)?[ \t]+(?:-[a-zA-Z]+[ \t]+)*@continuum-save-interval"
        r"[ \t]+([^\n#]*)"
    )
    found = ""
    for match in re.finditer(legacy_regexp, without_block(text, marker)):
        for value in setting.findall(match.group(0)):
            try:
                words = shlex.split(value)
            except ValueError:
                continue
            if len(words) == 1:
                found = words[0]
    return found


def save_interval(given: Any, legacy: Any, previous: Mapping[str, Any]) -> str:
    """The ``@continuum-save-interval`` the snippet is to set.

    ``given`` (the role variable) when set, ``""`` included (not written);
    when it is null: the interval the user had under the upstream bash
    plugin, ``legacy`` (found this run) or the one ``previous`` (the earlier
    install record) kept, else ``"15"``.
    """
    if given is not None:
        return str(given)
    if len(str(legacy or "")) > 0:
        return str(legacy)
    kept = previous.get("continuum_save_interval") if isinstance(previous, Mapping) else None
    return str(kept) if kept else "15"


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
    earlier record, ``{}`` if none) holds are kept as they are, and so is
    its ``continuum_save_interval`` (the upstream bash plugin's interval,
    taken over at migration; written only when one was found).
    """
    created_before = previous.get("created") or {}
    interval = previous.get("continuum_save_interval") or current.get("continuum_save_interval")
    kept = {"continuum_save_interval": str(interval)} if interval else {}
    return {
        **kept,
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


# --- The report (playbooks/report.yml) -----------------------------------------------

# The local fact's name: <facts dir>/assistant_resurrect.fact, read as
# ansible_local.assistant_resurrect.
FACT_NAME = "assistant_resurrect"


def facts_dir(given: Any, home: Any, data: Any) -> str:
    """The folder of the user's local fact: ``given`` when set, else ``<data>/facts.d``."""
    if given is not None and len(str(given)) > 0:
        return under(given, home)
    return str(data) + "/facts.d"


def report_users(
    users: Any,
    passwd: Mapping[str, Any],
    facts: Mapping[str, Any],
    data_dir: Any,
    facts_dir_given: Any,
) -> list[dict[str, Any]]:
    """The users whose local fact the report reads: name, uid, home, facts dir, become.

    ``users`` is the role's ``assistant_resurrect_users`` (empty: the
    connecting user); ``passwd`` the ``getent_passwd`` fact. A user missing
    from the passwd database gets ``uid`` -1 and no facts dir (the report says so).
    """
    out = []
    for item in users_or_self(users, facts):
        name = str(item["name"] if isinstance(item, Mapping) else item)
        given_home = str(item.get("home") or "") if isinstance(item, Mapping) else ""
        fields = passwd.get(name)
        if name == facts.get("user_id"):
            uid = _as_int(facts.get("user_uid", fields[1] if fields else -1))
            home = given_home or str(facts_home(facts))
        elif fields is not None:
            uid = _as_int(fields[1])
            home = given_home or str(fields[4])
        else:
            out.append({"name": name, "uid": -1, "home": "", "facts_dir": "", "become": False})
            continue
        data = under(data_dir, home)
        out.append(
            {
                "name": name,
                "uid": uid,
                "home": home,
                "facts_dir": facts_dir(facts_dir_given, home, data),
                "become": name != facts.get("user_id"),
            }
        )
    return out


def fact_dir_problem(dir_stat: Mapping[str, Any], found: Mapping[str, Any], uid: Any) -> str:
    """Why the report must not run the fact files in a user's facts dir ('' when it may).

    Ansible runs every executable ``*.fact`` file of the folder; as the user,
    it must run only that user's own files: the folder (``dir_stat``, a
    registered ``stat``) and every entry in it (``found``, a registered
    ``find``) owned by ``uid`` and writable by nobody else.
    """
    want = _as_int(uid)
    st = dir_stat.get("stat") or {}
    if not st.get("exists"):
        return "not installed (no local fact; run the role)"
    if not st.get("isdir") or st.get("islnk"):
        return "the facts path is not a folder; not read"
    if _as_int(st.get("uid")) != want or st.get("wgrp") or st.get("woth"):
        return "the facts folder is not the user's own (owner or mode); not read"
    for entry in found.get("files") or []:
        try:
            mode = int(str(entry.get("mode") or "0"), 8)
        except ValueError:
            mode = 0o777
        if _as_int(entry.get("uid")) != want or mode & 0o022:
            return "a file in the facts folder is not the user's own; not read"
    return ""


def _by_name(loop: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The results of a registered loop over report users, by user name."""
    return {
        str((result.get("item") or {}).get("name")): result for result in loop.get("results") or []
    }


def fact_dir_problems(
    users: Iterable[Mapping[str, Any]], stats: Mapping[str, Any], finds: Mapping[str, Any]
) -> dict[str, str]:
    """``fact_dir_problem`` of each user, by name, from the registered ``stat``
    and ``find`` loops over ``users``; a user not in the passwd database gets its own text."""
    by_stat, by_find = _by_name(stats), _by_name(finds)
    out = {}
    for user in users:
        name = str(user["name"])
        if _as_int(user.get("uid")) < 0:
            out[name] = "no such user on this host"
            continue
        out[name] = fact_dir_problem(by_stat.get(name) or {}, by_find.get(name) or {}, user["uid"])
    return out


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_cell(value: Any) -> str:
    """A table cell from untrusted text: control, line-breaking and bidi
    characters shown as ``\\xNN``/``\\uNNNN``, ``\\`` and ``|`` escaped."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")

    def code(match: re.Match[str]) -> str:
        point = ord(match.group(0))
        return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"

    return _CONTROL.sub(code, text)


def age_text(seconds: Any) -> str:
    """An age for people: ``42 s``, ``5 min``, ``3 h 4 min``, ``2 d 3 h``; ``-`` when unknown."""
    if seconds is None or isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


_FIRST_PROBLEM_CHARS = 80


def _short(text: Any) -> str:
    """``text`` on one line (runs of white space made one space), cut to 80 characters."""
    one = " ".join(str(text).split())
    return one if len(one) <= _FIRST_PROBLEM_CHARS else one[: _FIRST_PROBLEM_CHARS - 1] + "…"


def report_row(host: Any, user: Any, fact: Any, problem: Any = "") -> dict[str, Any]:
    """One report row from a user's ``ansible_local.assistant_resurrect``.

    ``fact`` is the ``status --json`` document, an error text from Ansible
    (the fact script failed), or ``None`` (not gathered); ``problem`` what
    kept the report from reading it. Cells are raw (``report_table`` escapes).
    The row also carries ``sessions`` ({tool: count}), ``age_seconds`` and
    ``problem_count`` for checks.
    """
    row: dict[str, Any] = {
        "host": str(host),
        "user": str(user),
        "agent": "-",
        "sessions": {},
        "age_seconds": None,
        "problem_count": 0,
        "problems": "",
    }

    def failed(text: str) -> dict[str, Any]:
        row["problem_count"] = 1
        row["problems"] = "1: problem: " + _short(text)
        return row

    if problem:
        return failed(str(problem))
    if fact is None:
        return failed("no local fact gathered")
    if not isinstance(fact, Mapping):
        return failed("the fact script failed: " + str(fact))
    if fact.get("schema") != 1:
        return failed(f"status --json schema {fact.get('schema')!r} is not 1 (newer agent?)")
    row["agent"] = str(fact.get("agent_version") or "-")
    save = fact.get("last_save")
    if isinstance(save, Mapping):
        by_tool = save.get("sessions_by_tool") or {}
        if isinstance(by_tool, Mapping):
            row["sessions"] = {str(k): _as_int(v) for k, v in sorted(by_tool.items())}
        age = save.get("age_seconds")
        row["age_seconds"] = age if isinstance(age, int) and not isinstance(age, bool) else None
    problems = [p for p in fact.get("problems") or [] if isinstance(p, Mapping)]
    problems.sort(key=lambda p: 0 if p.get("level") == "problem" else 1)
    row["problem_count"] = len(problems)
    if problems:
        first = problems[0]
        message = _short(first.get("message", ""))
        row["problems"] = f"{len(problems)}: {first.get('level', '?')}: {message}"
    return row


def report_host_rows(
    host: Any,
    users: Iterable[Mapping[str, Any]],
    problems: Mapping[str, Any],
    gathered: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The rows of one host, one per user.

    ``problems`` is ``fact_dir_problems``; ``gathered`` the registered
    ``setup`` loop over ``users`` (skipped for the users with a problem).
    """
    facts: dict[str, Any] = {}
    for name, result in _by_name(gathered).items():
        if result.get("skipped"):
            continue
        if result.get("failed") or result.get("unreachable"):
            facts[name] = "setup failed: " + str(result.get("msg") or "")
            continue
        local = (result.get("ansible_facts") or {}).get("ansible_local") or {}
        facts[name] = local.get(FACT_NAME)
    return [
        report_row(
            host, user["name"], facts.get(str(user["name"])), problems.get(str(user["name"]), "")
        )
        for user in users
    ]


def report_rows(
    hosts: Iterable[Any], hostvars: Mapping[str, Any], var: str
) -> list[dict[str, Any]]:
    """Every host's rows (``hostvars[host][var]``) in inventory order; a host
    without them (failed, unreachable) gets one row saying so."""
    rows: list[dict[str, Any]] = []
    for host in hosts:
        found = (hostvars.get(host) or {}).get(var)
        if isinstance(found, list):
            rows.extend(found)
        else:
            rows.append(
                report_row(host, "-", None, "no report from this host (failed or unreachable)")
            )
    return rows


REPORT_COLUMNS = ("host", "user", "agent", "saved sessions", "last save", "problems")


def _sessions_text(sessions: Mapping[str, Any]) -> str:
    if not sessions:
        return "-"
    return ", ".join(f"{tool} {count}" for tool, count in sessions.items())


def report_table(rows: Iterable[Mapping[str, Any]]) -> str:
    """The report as one Markdown table (columns padded), every cell escaped."""
    lines = [list(REPORT_COLUMNS)]
    for row in rows:
        lines.append(
            [
                escape_cell(row["host"]),
                escape_cell(row["user"]),
                escape_cell(row["agent"]),
                escape_cell(_sessions_text(row["sessions"])),
                escape_cell(age_text(row["age_seconds"])),
                escape_cell(row["problems"] or "0"),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(REPORT_COLUMNS))]

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [fmt(lines[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(fmt(line) for line in lines[1:])
    return "\n".join(out) + "\n"


# --- What the probe saw (library/assistant_resurrect_probe.py) ------------------
# Each says whether a file task would leave the path as it is; the task is
# skipped then. Anything unexpected (or no probe result) says no.


def is_link_to(seen: Any, target: Any) -> bool:
    """Whether the probed path is a symlink whose target is ``target`` as written."""
    return (
        isinstance(seen, Mapping)
        and bool(seen.get("islnk"))
        and seen.get("lnk_target") == str(target)
    )


def is_dir(seen: Any, mode: Any) -> bool:
    """Whether the probed path is a folder (through a link) with ``mode`` (``"0755"``)."""
    return isinstance(seen, Mapping) and bool(seen.get("isdir")) and seen.get("mode") == str(mode)


def is_file(seen: Any, checksum: Any, mode: Any) -> bool:
    """Whether the probed path is a regular file, no symlink, with that SHA-1 and mode."""
    return (
        isinstance(seen, Mapping)
        and bool(seen.get("isreg"))
        and not seen.get("islnk")
        and seen.get("checksum") == str(checksum)
        and seen.get("mode") == str(mode)
    )


def is_text(seen: Any, text: Any, mode: Any) -> bool:
    """Whether the probed (read) path is a regular file, no symlink, holding ``text``, ``mode``."""
    return (
        isinstance(seen, Mapping)
        and bool(seen.get("isreg"))
        and not seen.get("islnk")
        and "content" in seen
        and seen.get("mode") == str(mode)
        and slurped_text(seen) == str(text)
    )


def json_list_has(seen: Any, key: str, item: Any) -> bool:
    """Whether the probed (read) JSON file's top-level ``key`` list holds ``item``."""
    if not isinstance(seen, Mapping) or "content" not in seen:
        return False
    try:
        doc = json.loads(slurped_text(seen))
    except ValueError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get(key), list) and item in doc[key]


def has_block(text: Any, marker: str, block: Any) -> bool:
    """Whether ``text`` holds the marked block with exactly ``block`` in it, once.

    What ``blockinfile`` leaves unchanged: one BEGIN and one END marker line
    (``marker`` with ``{mark}``), ``block``'s lines between them, and a
    newline at the end of the text.
    """
    text = str(text or "")
    if not text.endswith("\n"):
        return False
    lines = text[:-1].split("\n")
    begin, end = (marker.replace("{mark}", mark) for mark in ("BEGIN", "END"))
    if lines.count(begin) != 1 or lines.count(end) != 1:
        return False
    first = lines.index(begin)
    inner = str(block).split("\n")
    return lines[first + 1 : first + 1 + len(inner)] == inner and lines.index(end) == (
        first + 1 + len(inner)
    )


_SETTINGS_MODULE: list[Any] = []


def _settings_module() -> Any:
    """library/assistant_resurrect_claude_settings.py, imported (``None`` if it cannot be)."""
    if not _SETTINGS_MODULE:
        import importlib.util
        import os

        path = os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            "library",
            "assistant_resurrect_claude_settings.py",
        )
        module = None
        try:
            spec = importlib.util.spec_from_file_location("_assistant_resurrect_settings", path)
            if spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
        except Exception:
            module = None
        _SETTINGS_MODULE.append(module)
    return _SETTINGS_MODULE[0]


def hooks_merged(
    seen: Any,
    wanted: Any,
    start_command: Any,
    end_command: Any,
    marker: str,
    start_event: str = "SessionStart",
    end_event: str = "SessionEnd",
    layout: str = "claude",
    key: str = "hooks",
    existing_events_only: bool = False,
    legacy_suffixes: Iterable[str] = (),
) -> bool:
    """Whether the probed (read) settings file is one the
    assistant_resurrect_claude_settings module would leave as it is.

    ``wanted``: its ``state`` is present (else absent, without
    remove_if_empty); the other arguments are the module's. The module's own
    parser and entry functions (imported from library/) are run on a copy
    of the document, in the order the module runs them; the answer is yes
    only when they removed nothing and the copy is written out the same.
    A missing file is one when absent (or with ``existing_events_only``).
    Anything unexpected says no: the module then runs (and reports, or
    fails on, what it finds).
    """
    mod = _settings_module()
    if mod is None or not isinstance(seen, Mapping) or "exists" not in seen:
        return False
    present = bool(wanted)
    if not seen.get("exists"):
        return not present or bool(existing_events_only)
    if "content" not in seen or seen.get("isdir"):
        return False
    try:
        text = base64.b64decode(str(seen["content"])).decode("utf-8")
        data = mod._parse(text)
        if not isinstance(data, dict):
            return False
        before = mod._dump(data, "")
        doc = mod._parse(text)  # a copy to run the merge on
        hooks = doc if not key else doc.get(key)
        remove = mod._remove_flat if layout == "cursor" else mod._remove_entries

        def ours(hook: Any) -> bool:
            return bool(mod._is_ours(hook, marker, ()))

        if not present:
            if isinstance(hooks, dict) and remove(hooks, ours) != 0:
                return False
            return bool(mod._dump(doc, "") == before)
        if not isinstance(hooks, dict):
            return False
        events = [e for e in (start_event, end_event if end_command else None) if e]
        if any(e in hooks and not isinstance(hooks[e], list) for e in events):
            return False
        legacy = tuple(legacy_suffixes or ())
        removed = 0
        if legacy:
            removed += remove(hooks, lambda h: bool(mod._is_ours(h, "\0never\0", legacy)))
        if existing_events_only:
            events = [e for e in events if e in hooks]
        removed += remove(hooks, ours, events=[k for k in hooks if k not in events])
        if start_event in events:
            removed += mod._ensure(hooks, start_event, str(start_command), marker, layout)
        if end_command and end_event in events:
            removed += mod._ensure(hooks, end_event, str(end_command), marker, layout)
        if layout == "cursor" and "version" not in doc:
            return False
        return removed == 0 and bool(mod._dump(doc, "") == before)
    except Exception:
        return False


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
            "assistant_resurrect_clone_failures": clone_failures,
            "assistant_resurrect_user_tmux_text": user_tmux_text,
            "assistant_resurrect_missing_plugins": missing_plugins,
            "assistant_resurrect_snippet_settings": snippet_settings,
            "assistant_resurrect_legacy_save_interval": legacy_save_interval,
            "assistant_resurrect_save_interval": save_interval,
            "assistant_resurrect_with_tmux_user": with_tmux_user,
            "assistant_resurrect_tmux_conf_paths": tmux_conf_paths,
            "assistant_resurrect_state_folders": state_folders,
            "assistant_resurrect_holds_files": holds_files,
            "assistant_resurrect_missing_paths": missing_paths,
            "assistant_resurrect_role_state": role_state,
            "assistant_resurrect_is_link_to": is_link_to,
            "assistant_resurrect_is_dir": is_dir,
            "assistant_resurrect_is_file": is_file,
            "assistant_resurrect_is_text": is_text,
            "assistant_resurrect_json_list_has": json_list_has,
            "assistant_resurrect_has_block": has_block,
            "assistant_resurrect_hooks_merged": hooks_merged,
            "assistant_resurrect_facts_dir": facts_dir,
            "assistant_resurrect_report_users": report_users,
            "assistant_resurrect_fact_dir_problem": fact_dir_problem,
            "assistant_resurrect_fact_dir_problems": fact_dir_problems,
            "assistant_resurrect_escape_cell": escape_cell,
            "assistant_resurrect_age_text": age_text,
            "assistant_resurrect_report_row": report_row,
            "assistant_resurrect_report_host_rows": report_host_rows,
            "assistant_resurrect_report_rows": report_rows,
            "assistant_resurrect_report_table": report_table,
        }
