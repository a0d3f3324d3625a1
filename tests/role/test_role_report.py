"""The fleet report: its filter functions, and the local fact file the role installs.

The filters are plain functions (filter_plugins/assistant_resurrect.py);
the fact file is the role's template rendered the way the role renders it,
then run for real (also through Ansible's own local-fact gathering).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest

from .conftest import ROLE, ROOT, VENV_BIN

pytestmark = pytest.mark.role

_spec = importlib.util.spec_from_file_location(
    "ar_role_filters_report", ROLE / "filter_plugins" / "assistant_resurrect.py"
)
assert _spec is not None and _spec.loader is not None
filters: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(filters)

SCHEMA = json.loads((ROOT / "docs" / "status.schema.json").read_text())


def status_doc(**over: Any) -> dict[str, Any]:
    """A `status --json` document as docs/status.schema.json describes it."""
    doc: dict[str, Any] = {
        "schema": 1,
        "agent_version": "0.1.0",
        "host": "h1",
        "user": {"name": "alice", "uid": 1000},
        "generated_at": "2026-12-02T16:10:00Z",
        "tmux": {"running": False, "version": "tmux 3.3a", "socket": None, "reason": "no server"},
        "sessions": [],
        "last_save": {
            "time": "2026-12-02T13:06:00Z",
            "age_seconds": 3 * 3600 + 4 * 60 + 5,
            "layout": "/home/alice/.tmux/resurrect/tmux_resurrect_20261202T130600.txt",
            "sessions_by_tool": {"codex": 1, "claude": 2},
            "sidecar": None,
            "sidecar_error": None,
        },
        "problems": [
            {"level": "warning", "message": "tmux is not running"},
            {"level": "problem", "message": "the hooks are\nnot loaded"},
        ],
        "last_restore": None,
    }
    doc.update(over)
    return doc


# --- the schema the report is built against ----------------------------------------


def test_the_report_reads_only_keys_the_schema_requires():
    props = SCHEMA["properties"]
    assert SCHEMA["properties"]["schema"]["const"] == 1
    for key in ("schema", "agent_version", "last_save", "problems"):
        assert key in SCHEMA["required"]
    assert {"age_seconds", "sessions_by_tool"} <= set(props["last_save"]["required"])
    assert {"level", "message"} <= set(props["problems"]["items"]["required"])
    assert set(props["problems"]["items"]["properties"]["level"]["enum"]) == {
        "problem",
        "warning",
    }
    # the example document above is the schema's shape
    assert set(status_doc()) == set(props)


# --- cells and ages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cell"),
    [
        ("plain", "plain"),
        ("a|b", "a\\|b"),
        ("back\\slash", "back\\\\slash"),
        ("esc\x1b[31mred", "esc\\x1b[31mred"),
        ("line\nbreak\r", "line\\x0abreak\\x0d"),
        ("tab\tdel\x7f c1\x9b", "tab\\x09del\\x7f c1\\x9b"),
        ("bidi\u202eevil\u2066", "bidi\\u202eevil\\u2066"),
        ("sep\u2028x", "sep\\u2028x"),
        ("naïve ✓", "naïve ✓"),
    ],
)
def test_cells_show_control_characters_escaped(raw, cell):
    assert filters.escape_cell(raw) == cell


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (True, "-"),
        ("12", "-"),
        (0, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3 * 3600 + 4 * 60 + 5, "3 h 4 min"),
        (2 * 86400 + 3 * 3600 + 59, "2 d 3 h"),
        (-5, "0 s"),
    ],
)
def test_age_text(seconds, text):
    assert filters.age_text(seconds) == text


# --- rows ------------------------------------------------------------------------------


def test_row_from_a_status_document():
    row = filters.report_row("h1", "alice", status_doc())
    assert row["agent"] == "0.1.0"
    assert row["sessions"] == {"claude": 2, "codex": 1}
    assert list(row["sessions"]) == ["claude", "codex"]  # sorted
    assert row["age_seconds"] == 3 * 3600 + 4 * 60 + 5
    assert row["problem_count"] == 2
    # the first problem, not the first warning; on one line
    assert row["problems"] == "2: problem: the hooks are not loaded"


def test_row_without_a_save_or_problems():
    row = filters.report_row("h1", "alice", status_doc(last_save=None, problems=[]))
    assert (row["sessions"], row["age_seconds"], row["problem_count"], row["problems"]) == (
        {},
        None,
        0,
        "",
    )


def test_a_long_problem_is_cut():
    doc = status_doc(problems=[{"level": "warning", "message": "x" * 500}])
    row = filters.report_row("h1", "alice", doc)
    assert row["problems"] == "1: warning: " + "x" * 79 + "…"


@pytest.mark.parametrize(
    ("fact", "problem", "says"),
    [
        (None, "", "no local fact gathered"),
        ("Failure executing fact script (x), rc: 1", "", "the fact script failed: Failure"),
        (status_doc(schema=2), "", "schema 2 is not 1"),
        (status_doc(), "not installed (no local fact; run the role)", "not installed"),
    ],
)
def test_rows_that_could_not_read_a_status(fact, problem, says):
    row = filters.report_row("h1", "bob", fact, problem)
    assert row["problem_count"] == 1 and row["agent"] == "-" and row["sessions"] == {}
    assert row["problems"].startswith("1: problem: ") and says in row["problems"]


def test_host_rows_and_hosts_without_a_report():
    users = [{"name": "alice", "uid": 1000}, {"name": "bob", "uid": 1001}, {"name": "eve"}]
    problems = {"alice": "", "bob": "", "eve": "no such user on this host"}
    gathered = {
        "results": [
            {
                "item": users[0],
                "ansible_facts": {"ansible_local": {"assistant_resurrect": status_doc()}},
            },
            {"item": users[1], "failed": True, "msg": "sudo: a password is required"},
            {"item": users[2], "skipped": True},
        ]
    }
    rows = filters.report_host_rows("h1", users, problems, gathered)
    assert [r["user"] for r in rows] == ["alice", "bob", "eve"]
    assert rows[0]["sessions"] == {"claude": 2, "codex": 1}
    assert "setup failed: sudo: a password is required" in rows[1]["problems"]
    assert "no such user" in rows[2]["problems"]

    all_rows = filters.report_rows(["h1", "h2"], {"h1": {"rows": rows}, "h2": {}}, "rows")
    assert [r["host"] for r in all_rows] == ["h1", "h1", "h1", "h2"]
    assert "no report from this host" in all_rows[-1]["problems"]


# --- the table -------------------------------------------------------------------------


def test_table_is_aligned_and_escapes_untrusted_cells():
    rows = [
        filters.report_row("h1", "alice", status_doc()),
        filters.report_row(
            "h2",
            "m\x1b]0;owned\x07allory",
            status_doc(
                agent_version="9|9",
                last_save=dict(status_doc()["last_save"], sessions_by_tool={"cl\naude": 1}),
                problems=[{"level": "problem", "message": "bad \x1b[2J pane"}],
            ),
        ),
    ]
    table = filters.report_table(rows)
    lines = table.splitlines()
    assert table.endswith("\n") and len(lines) == 4
    assert lines[0].split("|")[1:-1] == [
        f" {c} ".ljust(len(part))
        for c, part in zip(filters.REPORT_COLUMNS, lines[0].split("|")[1:-1])
    ]
    assert len({len(line) for line in lines}) == 1  # padded columns
    assert "\x1b" not in table and "\x07" not in table
    assert "m\\x1b]0;owned\\x07allory" in lines[3]
    assert "9\\|9" in lines[3] and "cl\\x0aaude 1" in lines[3]
    assert "| claude 2, codex 1 " in lines[2] and "| 3 h 4 min " in lines[2]
    # every row has the same number of unescaped column separators
    for line in lines:
        assert line.replace("\\|", "").count("|") == len(filters.REPORT_COLUMNS) + 1


# --- users and their facts folders ------------------------------------------------------


FACTS = {"user_id": "root", "user_uid": 0, "env": {"HOME": "/root"}, "user_dir": "/root"}
PASSWD = {"alice": ["x", "1000", "1000", "", "/home/alice", "/bin/bash"]}


def test_report_users():
    users = filters.report_users(
        ["alice", {"name": "root", "home": "/srv/r"}, "ghost"], PASSWD, FACTS, ".local/share/ar", ""
    )
    assert users == [
        {
            "name": "alice",
            "uid": 1000,
            "home": "/home/alice",
            "facts_dir": "/home/alice/.local/share/ar/facts.d",
            "become": True,
        },
        {
            "name": "root",
            "uid": 0,
            "home": "/srv/r",
            "facts_dir": "/srv/r/.local/share/ar/facts.d",
            "become": False,
        },
        {"name": "ghost", "uid": -1, "home": "", "facts_dir": "", "become": False},
    ]
    # no users: the connecting one; a facts dir of one's own choosing
    assert filters.report_users([], PASSWD, FACTS, "/d", "facts")[0]["facts_dir"] == "/root/facts"


def _stat(**over: Any) -> dict[str, Any]:
    st = {"exists": True, "isdir": True, "islnk": False, "uid": 1000, "wgrp": False, "woth": False}
    st.update(over)
    return {"stat": st}


def _found(*entries: tuple[int, str]) -> dict[str, Any]:
    return {
        "files": [
            {"path": f"/f/{i}", "uid": uid, "mode": mode} for i, (uid, mode) in enumerate(entries)
        ]
    }


@pytest.mark.parametrize(
    ("dir_stat", "found", "says"),
    [
        (_stat(), _found((1000, "0700")), ""),
        (_stat(), _found(), ""),
        ({"stat": {"exists": False}}, _found(), "not installed"),
        (_stat(isdir=False), _found(), "not a folder"),
        (_stat(islnk=True), _found(), "not a folder"),
        (_stat(uid=1001), _found(), "not the user's own"),
        (_stat(woth=True), _found(), "not the user's own"),
        (_stat(wgrp=True), _found(), "not the user's own"),
        (_stat(), _found((1000, "0700"), (1001, "0700")), "a file in the facts folder"),
        (_stat(), _found((0, "0755")), "a file in the facts folder"),
        (_stat(), _found((1000, "0722")), "a file in the facts folder"),
        (_stat(), _found((1000, "0702")), "a file in the facts folder"),
    ],
)
def test_only_the_users_own_facts_folder_is_read(dir_stat, found, says):
    problem = filters.fact_dir_problem(dir_stat, found, "1000")
    assert (problem == "") if says == "" else (says in problem)


def test_fact_dir_problems_by_user():
    users = [{"name": "alice", "uid": 1000}, {"name": "ghost", "uid": -1}]
    stats = {"results": [dict(_stat(uid=1001), item=users[0]), {"item": users[1], "skipped": True}]}
    finds = {"results": [dict(_found(), item=users[0]), {"item": users[1], "skipped": True}]}
    assert filters.fact_dir_problems(users, stats, finds) == {
        "alice": "the facts folder is not the user's own (owner or mode); not read",
        "ghost": "no such user on this host",
    }


def test_facts_dir():
    assert (
        filters.facts_dir("", "/home/a", "/home/a/.local/share/ar")
        == "/home/a/.local/share/ar/facts.d"
    )
    assert filters.facts_dir(None, "/home/a", "/x") == "/x/facts.d"
    assert filters.facts_dir("~/f", "/home/a", "/x") == "/home/a/f"
    assert filters.facts_dir("/etc/f", "/home/a", "/x") == "/etc/f"


# --- the fact file ---------------------------------------------------------------------


def render_fact(uid: int, agent: Path) -> str:
    """The role's fact template, rendered as the role renders it."""
    env = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["quote"] = lambda v: shlex.quote(str(v))
    template = env.from_string((ROLE / "templates" / "assistant_resurrect.fact.j2").read_text())
    user = {"name": "alice", "uid": uid, "bin": str(agent)}
    return template.render(assistant_resurrect__u=user)


@pytest.fixture
def agent(tmp_path: Path) -> Path:
    """A stand-in agent: records its arguments, prints a status document."""
    path = tmp_path / "bin dir" / "assistant-resurrect"
    path.parent.mkdir()
    path.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {shlex.quote(str(tmp_path / "ran"))}\n'
        f"printf '%s\\n' {shlex.quote(json.dumps(status_doc()))}\n"
    )
    path.chmod(0o755)
    return path


def _install_fact(tmp_path: Path, uid: int, agent: Path) -> Path:
    facts = tmp_path / "facts.d"
    facts.mkdir()
    fact = facts / "assistant_resurrect.fact"
    fact.write_text(render_fact(uid, agent))
    fact.chmod(0o700)
    return fact


def test_fact_file_prints_the_owners_status(tmp_path, agent):
    fact = _install_fact(tmp_path, os.getuid(), agent)
    out = subprocess.run([str(fact)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == status_doc()
    assert (tmp_path / "ran").read_text() == "status --json\n"


def test_fact_file_run_by_anyone_else_runs_nothing(tmp_path, agent):
    fact = _install_fact(tmp_path, os.getuid() + 4242, agent)
    out = subprocess.run([str(fact)], capture_output=True, text=True)
    assert out.returncode == 1 and out.stdout == ""
    assert "refused" in out.stderr
    assert not (tmp_path / "ran").exists()


def test_ansible_reads_the_fact_as_ansible_local(tmp_path, agent):
    fact = _install_fact(tmp_path, os.getuid(), agent)
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_HOME=str(tmp_path / "ah"))
    out = subprocess.run(
        [
            str(VENV_BIN / "ansible"),
            "localhost",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-m",
            "ansible.builtin.setup",
            "-a",
            f"gather_subset=!all filter=ansible_local fact_path={fact.parent}",
            "-o",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(out.stdout.split("=>", 1)[1])
    local = result["ansible_facts"]["ansible_local"]["assistant_resurrect"]
    row = filters.report_row("localhost", "alice", local)
    assert row["sessions"] == {"claude": 2, "codex": 1} and row["agent"] == "0.1.0"
