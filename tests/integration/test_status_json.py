"""`status --json`: one JSON document that validates against docs/status.schema.json,
with a real tmux server, without one (the last save still read from disk), and
with hostile cwds, arguments and pane titles; `restore --list` over real saves."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
from libtmux import Server
from libtmux.exc import LibTmuxException

from assistant_resurrect import watch
from assistant_resurrect.status import _cell
from tests.helpers import ROOT, RUNTIME_SRC, Agent, records, start_in_pane, wait_for

SCHEMA_PATH = ROOT / "docs" / "status.schema.json"
CLAUDE_ID = "3f1e8a1c-1111-4222-8333-444455556666"
CODEX_ID = "0199a213-81c0-7800-8aa1-bbab2a035a53"


def schema() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return doc


def run_raw(agent: Agent, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The agent's bytes on stdout, undecoded (to check they are ASCII)."""
    env = dict(os.environ, PYTHONPATH=str(RUNTIME_SRC))
    return subprocess.run(
        [sys.executable, "-m", "assistant_resurrect", "-L", agent.socket_name, *args],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


def status_doc(agent: Agent) -> dict[str, Any]:
    """Run `status --json`: exit 0, ASCII, exactly one document, valid for the schema."""
    proc = run_raw(agent, "status", "--json")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode("ascii")  # ensure_ascii: any other byte is a bug
    doc, end = json.JSONDecoder().raw_decode(text)
    assert text[end:].strip() == "", "more than one document on stdout"
    jsonschema.Draft202012Validator(schema()).validate(doc)
    for value in _strings(doc):
        value.encode("utf-8")  # no lone surrogate: valid Unicode for every reader
    assert isinstance(doc, dict)
    return doc


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def write_sidecar(agent: Agent, layout: Path, sessions: list[dict[str, Any]], ts: str) -> Path:
    path = layout.with_name(
        layout.name.replace("tmux_resurrect_", "assistant_resurrect_").replace(".txt", ".json")
    )
    path.write_text(json.dumps({"version": 1, "timestamp": ts, "sessions": sessions}))
    path.chmod(0o600)
    return path


def test_the_schema_is_valid_and_documents_every_field() -> None:
    doc = schema()
    jsonschema.Draft202012Validator.check_schema(doc)

    def walk(node: dict[str, Any], where: str) -> None:
        for name, sub in (node.get("properties") or {}).items():
            assert sub.get("description"), f"{where}.{name} has no description"
            walk(sub, f"{where}.{name}")
        items = node.get("items")
        if isinstance(items, dict):
            walk(items, f"{where}[]")

    walk(doc, "")
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### status --json", 1)[1].split("\n## ", 1)[0]
    spans = re.findall(r"`([^`]*)`", section)
    for name in _field_names(doc):
        assert any(re.search(rf"\b{name}\b", span) for span in spans), (
            f"README's status --json section lacks `{name}`"
        )


def _field_names(node: dict[str, Any]) -> set[str]:
    names = set()
    for name, sub in (node.get("properties") or {}).items():
        names.add(name)
        names |= _field_names(sub)
    if isinstance(node.get("items"), dict):
        names |= _field_names(node["items"])
    return names


def test_no_server_still_reports_the_save_on_disk(server: Server, agent: Agent) -> None:
    """A fleet host with nobody logged in: no tmux server, a save on disk."""
    older = agent.fake_layout("20261124T080000")
    write_sidecar(agent, older, [{"pane": "w:0.0", "tool": "codex"}], "2026-11-24T08:00:00Z")
    layout = agent.fake_layout("20261125T120000")
    sessions = [
        {"pane": "w:0.0", "tool": "claude", "session_id": CLAUDE_ID},
        {"pane": "w:1.0", "tool": "claude", "session_id": "4f1e8a1c-1111-4222-8333-444455556666"},
        {"pane": "w:2.0", "tool": "codex", "session_id": CODEX_ID},
    ]
    sidecar = write_sidecar(agent, layout, sessions, "2026-11-25T12:00:00Z")
    watch.record(
        agent.resurrect_dir,
        [
            {
                "address": "w:0.0",
                "session_id": CLAUDE_ID,
                "tool": "claude",
                "pane_id": "%1",
                "outcome": "failed",
                "line": "No conversation found\x1b[0m",
                "at": 1764072000.0,
                "check_seconds": 5,
            }
        ],
    )
    assert not server.is_alive()
    doc = status_doc(agent)
    assert not server.is_alive()
    assert doc["schema"] == 1
    assert doc["user"]["uid"] == os.getuid()
    tmux = doc["tmux"]
    assert tmux["running"] is False and "no tmux server" in tmux["reason"]
    assert tmux["socket"] and tmux["socket"].endswith("/" + agent.socket_name)
    assert doc["sessions"] == []
    assert doc["last_save"] == {
        "time": "2026-11-25T12:00:00Z",
        "age_seconds": doc["last_save"]["age_seconds"],
        "layout": str(layout),
        "sessions_by_tool": {"claude": 2, "codex": 1},
        "sidecar": str(sidecar),
        "sidecar_error": None,
    }
    assert doc["last_save"]["age_seconds"] > 0
    assert doc["problems"] == [{"level": "problem", "message": tmux["reason"]}]
    assert doc["last_restore"]["entries"] == [
        {
            "pane": "w:0.0",
            "tool": "claude",
            "session_id": CLAUDE_ID,
            "outcome": "failed",
            "line": "No conversation found\x1b[0m",
            "at": "2025-11-25T12:00:00Z",
        }
    ]


def test_a_corrupt_sidecar_is_reported_not_fatal(server: Server, agent: Agent) -> None:
    layout = agent.fake_layout()
    bad = layout.with_name("assistant_resurrect_20261125T120000.json")
    bad.write_text("{not json")
    bad.chmod(0o600)
    saved = status_doc(agent)["last_save"]
    assert saved["layout"] == str(layout)
    assert saved["sessions_by_tool"] == {} and saved["sidecar"] is None
    assert "not valid JSON" in saved["sidecar_error"]


def test_running_assistants_and_doctors_problems(
    server: Server, agent: Agent, tmp_path: Path
) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    session = server.new_session("work", start_directory=str(proj))
    pane = session.windows[0].panes[0]
    plain = session.new_window(window_name="plain").panes[0]
    start_in_pane(pane, f"claude --model sonnet --resume {CLAUDE_ID}")
    wait_for(lambda: records("claude"), what="the claude stand-in")
    doc = status_doc(agent)
    tmux = doc["tmux"]
    assert tmux["running"] is True and tmux["reason"] is None
    assert tmux["version"].startswith("tmux ")
    assert tmux["socket"].endswith("/" + agent.socket_name)
    assert [s["pane"] for s in doc["sessions"]] == ["work:0.0"]  # not the plain pane
    (s,) = doc["sessions"]
    assert plain.pane_id
    assert s["tool"] == "claude" and s["session_id"] == CLAUDE_ID
    assert s["found_by"] == "args"
    assert s["cwd"] == str(proj) and s["model"] == "sonnet"
    assert s["args"] == ["--model", "sonnet"]  # restore adds the resume arguments
    assert s["restore_reason"] is None
    assert s["restore_line"].endswith(f"claude --model sonnet --resume {CLAUDE_ID}")
    # The same line the status table shows for the pane (the planner's).
    table = agent.run("status").stdout.splitlines()
    row = next(line for line in table if line.startswith("work:0.0 "))
    assert row.endswith(_cell(s["restore_line"], 70).rstrip())
    # doctor's findings, the same checks: no hook is set in this test's tmux.
    lines = agent.run("doctor", check=False).stdout.splitlines()
    expected = [
        {
            "level": "warning" if line.startswith("WARNING: ") else "problem",
            "message": line.split(": ", 1)[1],
        }
        for line in lines
        if line.startswith(("WARNING: ", "PROBLEM: "))
    ]
    assert expected and doc["problems"] == expected
    assert doc["last_save"] is None and doc["last_restore"] is None


def test_an_assistant_restore_would_not_type_has_its_reason(server: Server, agent: Agent) -> None:
    session = server.new_session("work")
    start_in_pane(session.windows[0].panes[0], "codex")
    wait_for(lambda: records("codex"), what="the codex stand-in")
    (s,) = status_doc(agent)["sessions"]
    assert s["tool"] == "codex"
    assert (s["restore_line"] is None) != (s["restore_reason"] is None)


def test_hostile_cwd_arguments_and_titles_keep_one_valid_document(
    server: Server, agent: Agent, tmp_path: Path
) -> None:
    os.mkdir(os.fsencode(str(tmp_path)) + b"/we\nird \x1b[31m\x07\xff\xfe\t}")
    # tmux shows a session name's control and non-UTF-8 bytes escaped (3.3: octal);
    # 3.7 refuses a name with control or non-UTF-8 bytes: that tmux gets a
    # printable non-ASCII one.
    try:
        session = server.new_session(os.fsdecode(b"s\xff\x1bn\tx"))
    except LibTmuxException as e:
        assert "invalid session name" in str(e)
        session = server.new_session("s\u00e9n x")
    pane = session.windows[0].panes[0]
    title = os.fsdecode(b'ti\ntle\x1b]0;x\x07 \xff"}')
    server.cmd("select-pane", "-t", str(pane.pane_id), "-T", title)
    # libtmux cannot start a pane there (it splits its listing on newlines): cd.
    start_in_pane(pane, f"cd -- \"$(printf '{tmp_path}/we\\nird \\033[31m\\a\\377\\376\\t}}')\"")
    start_in_pane(pane, f"claude --resume {CLAUDE_ID} --append-system-prompt $'a\\nb\\x1b\\xff'")
    wait_for(lambda: records("claude"), what="the claude stand-in")
    doc = status_doc(agent)
    (s,) = doc["sessions"]
    assert s["session_id"] == CLAUDE_ID
    assert s["pane"].startswith("s") and s["pane"].endswith(":0.0")  # as tmux shows it
    # The undecodable bytes are U+FFFD; newline and control characters survive.
    assert s["cwd"] == f"{tmp_path}/we\nird \x1b[31m\x07\ufffd\ufffd\t}}"
    assert s["args"][-1] == "a\nb\x1b\ufffd"
    assert "\n" not in json.dumps(s["cwd"])  # escaped in the document


def test_status_exit_codes(server: Server, agent: Agent) -> None:
    assert agent.run("status", "--bogus", check=False).returncode == 2
    assert agent.run("status", "--json", "x", check=False).returncode == 2


def test_restore_list_shows_the_saves_newest_first(server: Server, agent: Agent) -> None:
    old = agent.fake_layout("20261120T090000")
    write_sidecar(
        agent,
        old,
        [{"pane": "w:0.0", "tool": "codex"}, {"pane": "w:1.0", "tool": "codex"}],
        "2026-11-20T09:00:00Z",
    )
    middle = agent.fake_layout("20261122T090000")  # no sidecar
    last = agent.fake_layout("20261125T120000")
    write_sidecar(
        agent,
        last,
        [{"pane": "w:0.0", "tool": "claude"}, {"pane": "w:1.0", "tool": "codex"}],
        "2026-11-25T12:00:00Z",
    )
    newest = agent.fake_layout("20261126T120000")  # `last` is moved back below
    write_sidecar(agent, newest, [], "2026-11-26T12:00:00Z")
    link = agent.resurrect_dir / "last"
    link.unlink()
    link.symlink_to(last.name)
    out = agent.run("restore", "--list").stdout.splitlines()
    assert out[0].startswith("4 save(s) in ")
    assert out[1:5] == [
        f"  2026-11-26T12:00:00Z  {newest}  no assistants",
        f"* 2026-11-25T12:00:00Z  {last}  claude: 1, codex: 1",
        f"  {out[3].split()[0]}  {middle}  no sidecar",
        f"  2026-11-20T09:00:00Z  {old}  codex: 2",
    ]
    assert out[5] == "restore one with: assistant-resurrect restore --layout LAYOUT_FILE"
    assert not server.is_alive()  # read from disk, no server needed


def test_restore_list_with_no_saves(server: Server, agent: Agent) -> None:
    out = agent.run("restore", "--list").stdout
    assert out == f"no saves in {agent.resurrect_dir}\n"


def test_restore_help_says_how_to_pick_an_older_save(server: Server, agent: Agent) -> None:
    out = " ".join(agent.run("restore", "--help").stdout.split())
    assert "restore --list" in out and "--layout" in out


def test_restore_list_counts_a_dropped_saves_sidecar_for_last(server: Server, agent: Agent) -> None:
    """tmux-resurrect dropped an unchanged layout: its sidecar (no layout file of
    its own) is what a restore of `last` reads, so --list and status count it."""
    last = agent.fake_layout("20261125T120000")
    write_sidecar(agent, last, [{"pane": "w:0.0", "tool": "codex"}], "2026-11-25T12:00:00Z")
    dropped = last.with_name("tmux_resurrect_20261125T130000.txt")
    sidecar = write_sidecar(
        agent, dropped, [{"pane": "w:0.0", "tool": "claude"}], "2026-11-25T13:00:00Z"
    )
    out = agent.run("restore", "--list").stdout.splitlines()
    assert out[1] == f"* 2026-11-25T13:00:00Z  {last}  claude: 1"
    saved = status_doc(agent)["last_save"]
    assert saved["sidecar"] == str(sidecar) and saved["sessions_by_tool"] == {"claude": 1}
    assert saved["time"] == "2026-11-25T13:00:00Z"
