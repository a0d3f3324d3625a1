"""Logs: every record is one line, whatever a session name, address, path or
value holds (C1 controls, NEL, the line and paragraph separators, CSI,
bidi overrides are escaped like C0 controls), and one run never takes a log
or its `.1` past the 256 KiB bound, however much it logs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_resurrect import log as logmod
from tests.helpers import Agent, records, wait_for
from tests.hostile.conftest import Stats
from tests.hostile.strategies import hostile_text

FAST = settings(max_examples=300, deadline=None, database=None)
RECORD = re.compile(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}\] ")
# What some viewer, pager or terminal takes as a line break or an escape.
FORGERS = [
    "\u2028",  # LINE SEPARATOR
    "\u2029",  # PARAGRAPH SEPARATOR
    "\x85",  # NEL
    "\x9b",  # CSI (C1): ESC [ to a terminal in 8-bit mode
    "\x9d",  # OSC (C1)
    "\x1b",
    "\n",
    "\r",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u200b",  # ZERO WIDTH SPACE
    "\udc9b",  # an undecodable byte, kept by surrogateescape
]
FAKE = "[2026-01-01T00:00:00+0000] restored claude in x:0.0 (%9): arcanary"


def log_records(path: Path) -> list[str]:
    """The file's lines, split at every break Python knows (str.splitlines
    splits at NEL, U+2028/U+2029, FS/GS/RS, VT, FF and CR too)."""
    text = path.read_bytes().decode("utf-8")
    lines = text.splitlines()
    assert text.endswith("\n"), text[-200:]
    return lines


def assert_one_record_per_line(path: Path) -> list[str]:
    lines = log_records(path)
    for line in lines:
        assert RECORD.match(line), f"a line that is no record: {line!r}"
        assert line.isprintable(), repr(line)
    return lines


@pytest.mark.parametrize("ch", FORGERS, ids=[f"U+{ord(c):04X}" for c in FORGERS])
def test_each_forging_character_stays_inside_its_line(ch: str, tmp_path: Path) -> None:
    path = tmp_path / "assistant-restore.log"
    log = logmod.Log(path)
    log(f"skip w{ch}{FAKE}: no such pane")
    log(f"{ch}{ch}")
    lines = assert_one_record_per_line(path)
    assert len(lines) == 2, lines
    for line in path.read_bytes().decode("utf-8", "surrogateescape").split("\n"):
        assert ch not in line, repr(line)


@FAST
@given(message=hostile_text() | st.text())
def test_any_message_is_one_printable_line(message: str, stats: Stats) -> None:
    stats.cases_generated += 1
    escaped = logmod.escape(message)
    assert escaped.isprintable()
    assert len((escaped + "\n").splitlines()) == 1
    if message.isprintable():
        assert escaped == message  # the fast path changes nothing


def test_a_restore_logs_hostile_addresses_and_paths_one_line_each(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """A sidecar whose pane addresses try to forge records with each character,
    and a real pane restored into a directory whose name holds them: every
    record of the restore log is one line."""
    session = server.new_session("work", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    # (typed into the pane: the characters a shell takes as text)
    forged = "\u2028\x85\x9b\u2029"
    cwd = tmp_path / f"d{forged}x"
    cwd.mkdir()
    sid = "11111111-2222-4333-8444-555555555555"
    entries: list[dict[str, Any]] = [
        {"pane": f"w{ch}{FAKE}", "tool": "claude", "session_id": sid, "cwd": None} for ch in FORGERS
    ]
    entries += [
        {"pane": f"w:9.{i}", "tool": "claude", "session_id": sid, "cwd": f"/gone{ch}{FAKE}"}
        for i, ch in enumerate(FORGERS)
    ]
    entries.append(
        {
            "pane": f"work:{session.windows[0].window_index}.0",
            "pane_id": session.windows[0].panes[0].pane_id,
            "tool": "claude",
            "session_id": sid,
            "cwd": str(cwd),
            "program": "claude",
            "cli_args": ["--append-system-prompt", f"v{forged}v"],
        }
    )
    layout = agent.fake_layout()
    layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
        json.dumps({"version": 1, "sessions": entries})
    )
    stats.cases_generated += len(entries)
    agent.run("restore", "--layout", str(layout), "--timeout", "20")
    path = agent.resurrect_dir / "assistant-restore.log"
    try:
        wait_for(lambda: records("claude"), what="the real pane's claude")
    except AssertionError:
        raise AssertionError(path.read_text(errors="replace")) from None
    lines = assert_one_record_per_line(path)
    assert len([line for line in lines if "no such pane" in line]) == len(FORGERS), lines
    assert len([line for line in lines if "no longer exists" in line]) == len(FORGERS), lines
    assert any("restored claude in work:" in line and "--resume" in line for line in lines), lines


def test_one_log_object_never_writes_past_the_bound(tmp_path: Path) -> None:
    """10k lines of one run (the size used to be checked once per Log object)."""
    path = tmp_path / "assistant-save.log"
    log = logmod.Log(path)
    for i in range(10_000):
        log(f"line {i:05d} " + "x" * 80)
    bound = logmod.MAX_BYTES
    assert 0 < path.stat().st_size <= bound
    assert 0 < Path(f"{path}.1").stat().st_size <= bound
    assert log_records(path)[-1].endswith(f"line 09999 {'x' * 80}")


def test_writers_in_turn_keep_the_bound(tmp_path: Path) -> None:
    """Two processes appending to one log (two Log objects, in turn): each
    write sees what the other appended."""
    path = tmp_path / "assistant-restore.log"
    a, b = logmod.Log(path), logmod.Log(path)
    for i in range(6_000):
        (a if i % 3 else b)(f"line {i} " + "y" * 100)
        assert path.stat().st_size <= logmod.MAX_BYTES
    assert Path(f"{path}.1").stat().st_size <= logmod.MAX_BYTES


def test_a_line_longer_than_the_bound_is_written_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logmod, "MAX_BYTES", 200)
    path = tmp_path / "x.log"
    log = logmod.Log(path)
    log("short")
    log("z" * 500)
    assert log_records(path)[0].endswith("z" * 500) and len(log_records(path)) == 1
    assert Path(f"{path}.1").read_text().endswith("short\n")
    log("after")
    assert log_records(path)[0].endswith("after")


def test_a_restore_logging_past_the_bound_keeps_both_files_within_it(
    agent: Agent, server: Any, stats: Stats
) -> None:
    """One real run logging well over 256 KiB (a sidecar of many entries for
    panes that do not exist): the log and its .1 stay within the bound."""
    server.new_session("work")
    long = "p" * 400
    entries = [
        {"pane": f"gone{i}-{long}:0.0", "tool": "claude", "session_id": None} for i in range(1_500)
    ]
    layout = agent.fake_layout()
    layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
        json.dumps({"version": 1, "sessions": entries})
    )
    stats.cases_generated += 1
    agent.run("restore", "--layout", str(layout), "--timeout", "5")
    path = agent.resurrect_dir / "assistant-restore.log"
    bound = logmod.MAX_BYTES
    assert path.stat().st_size <= bound
    assert 0 < Path(f"{path}.1").stat().st_size <= bound
    assert_one_record_per_line(path)
