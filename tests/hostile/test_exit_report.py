"""After restore types: an assistant that exits at once (`No conversation found
with session ID`) is reported with its last screen line, in the restore log,
the report file and `status`; one that stays up is reported running. The
screen line is the assistant's, so it is hostile input: control bytes, escape
sequences, invalid UTF-8 and endless lines stay one bounded, printable line.
A report file that is corrupt or hostile is replaced, never followed."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant_resurrect import watch as watchmod
from assistant_resurrect.log import Log
from assistant_resurrect.tmux import Tmux
from assistant_resurrect.watch import Started, watch
from tests.helpers import Agent, pane_prompt_ready, start_in_pane, wait_for
from tests.hostile.conftest import Stats
from tests.hostile.test_restore_guards import entry, write_sidecar

A = "11111111-2222-4333-8444-555555555555"
B = "21111111-2222-4333-8444-555555555555"
NOT_FOUND = "No conversation found with session ID: {sid}"

# A stand-in `claude` that cannot resume: waits `delay` seconds (so it is seen
# running first), writes `message` (bytes, {sid} replaced) and exits 1.
EXITING = r"""#!{python}
import sys, time
time.sleep({delay})
sid = sys.argv[-1].encode()
sys.stdout.buffer.write({message!r}.replace(b"{{sid}}", sid) + b"\n")
sys.stdout.flush()
sys.exit(1)
"""


def exiting_claude(tmp_path: Path, name: str, message: bytes, delay: float = 0) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "claude"
    path.write_text(EXITING.format(python=sys.executable, delay=delay, message=message))
    path.chmod(0o755)
    return path


def pane_of(server: Any, name: str, tmp_path: Path) -> Any:
    session = server.new_session(name, start_directory=str(tmp_path))
    return session.windows[0].panes[0]


def start(pane: Any, program: str, sid: str) -> Started:
    start_in_pane(pane, f"{program} --resume {sid}")
    return Started(pane.pane_id, f"{pane.session_name}:0.0", "claude", sid)


def log_lines(agent: Agent) -> list[str]:
    path = agent.resurrect_dir / "assistant-restore.log"
    return path.read_text().splitlines() if path.exists() else []


def report(agent: Agent) -> dict[str, dict[str, Any]]:
    doc = json.loads((agent.resurrect_dir / watchmod.REPORT).read_text())
    return {e["session_id"]: e for e in doc["entries"]}


def run_watch(server: Any, agent: Agent, started: list[Started], check: str) -> list[str]:
    """watch() as restore calls it, with `@assistant-resurrect-check` at `check`."""
    server.cmd("set-option", "-g", "@assistant-resurrect-check", check)
    tmux = Tmux(socket_name=server.socket_name)
    log = Log(agent.resurrect_dir / "assistant-restore.log")
    return watch(tmux, started, log, tmux.settings)


def status_rows(agent: Agent) -> list[str]:
    out = agent.run("status").stdout
    assert "what the last restore saw" in out, out
    rows = []
    for row in out.split("what the last restore saw")[1].splitlines()[2:]:
        if not row:
            break
        rows.append(row)
    return rows


def test_an_assistant_that_exits_at_once_is_reported_failed(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    bad = exiting_claude(tmp_path, "bad", NOT_FOUND.encode())
    failing = start(pane_of(server, "gone", tmp_path), str(bad), A)
    running = start(pane_of(server, "up", tmp_path), "claude", B)  # the stand-in stays up
    failures = run_watch(server, agent, [failing, running], "2")
    stats.cases_generated += 2
    want = f"failed: claude in gone:0.0 ({failing.pane_id}) exited within 2s: " + (
        NOT_FOUND.format(sid=A)
    )
    assert failures == [want]
    assert any(line.endswith(want) for line in log_lines(agent)), log_lines(agent)
    assert any(
        f"ok: claude in up:0.0 ({running.pane_id}) running after 2s" in line
        for line in log_lines(agent)
    )
    got = report(agent)
    assert got[A]["outcome"] == "failed" and got[A]["line"] == NOT_FOUND.format(sid=A)
    assert got[A]["address"] == "gone:0.0" and got[A]["pane_id"] == failing.pane_id
    assert got[B]["outcome"] == "ok" and got[B]["address"] == "up:0.0"
    assert (agent.resurrect_dir / watchmod.REPORT).stat().st_mode & 0o777 == 0o600
    rows = status_rows(agent)
    gone = next(r for r in rows if r.startswith("gone:0.0"))
    assert A in gone and "failed " in gone and gone.endswith(NOT_FOUND.format(sid=A)), gone
    up = next(r for r in rows if r.startswith("up:0.0"))
    assert B in up and "running (checked " in up, up


def test_an_assistant_seen_running_that_exits_is_reported_failed(
    agent: Agent, server: Any, tmp_path: Path
) -> None:
    """It ran for a second (seen by a poll), then printed why and exited."""
    late = exiting_claude(tmp_path, "late", b"Error: session {sid} is corrupt", delay=1)
    failing = start(pane_of(server, "late", tmp_path), str(late), A)
    failures = run_watch(server, agent, [failing], "6")
    assert failures == [
        f"failed: claude in late:0.0 ({failing.pane_id}) exited within 6s: "
        f"Error: session {A} is corrupt"
    ]


def test_an_assistant_that_prints_nothing(agent: Agent, server: Any, tmp_path: Path) -> None:
    """Its last screen line would be the line restore typed: `(no output)`."""
    quiet = exiting_claude(tmp_path, "quiet", b"")
    failing = start(pane_of(server, "quiet", tmp_path), str(quiet), A)
    failures = run_watch(server, agent, [failing], "1")
    assert failures == [
        f"failed: claude in quiet:0.0 ({failing.pane_id}) exited within 1s: (no output)"
    ]
    assert report(agent)[A]["line"] == ""


HOSTILE = {
    "escapes": b"\x1b[31m\x1b]0;title\x07\x1b[2J\x1b[HNo conversation found with session ID: {sid}",
    "control bytes": b"bad\x01\x02\x7fline \x08\x08{sid}",
    "invalid utf-8": b"caf\xc3 \xff\xfe {sid}",
    "endless": b"x" * 5000 + b" {sid}",
    "unicode": "会话 {sid} 不存在 \u202e\u2066".encode(),
}


@pytest.mark.parametrize("message", HOSTILE.values(), ids=list(HOSTILE))
def test_a_hostile_last_line_stays_one_bounded_line(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats, message: bytes
) -> None:
    program = exiting_claude(tmp_path, "hostile", message)
    failing = start(pane_of(server, "h", tmp_path), str(program), A)
    failures = run_watch(server, agent, [failing], "1")
    stats.cases_generated += 1
    assert len(failures) == 1
    line = report(agent)[A]["line"]
    assert 0 < len(line) <= watchmod.MAX_LINE
    assert "\n" not in line and "\x1b" not in line and "\x07" not in line
    for logged in log_lines(agent):  # the log escapes what is left
        assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in logged), logged
    assert any("exited within 1s" in logged for logged in log_lines(agent))
    rows = status_rows(agent)  # status prints it, one line, without a traceback
    assert len(rows) == 1 and rows[0].startswith("h:0.0") and "failed " in rows[0], rows


def test_runs_merge_into_one_report(agent: Agent, server: Any, tmp_path: Path) -> None:
    """restore, then `restore --pending` for another session: both entries; a
    later run for the same pane and session replaces its entry."""
    bad = exiting_claude(tmp_path, "bad", NOT_FOUND.encode())
    first = start(pane_of(server, "one", tmp_path), str(bad), A)
    run_watch(server, agent, [first], "1")
    second = start(pane_of(server, "two", tmp_path), "claude", B)
    run_watch(server, agent, [second], "1")
    got = report(agent)
    assert got[A]["outcome"] == "failed" and got[B]["outcome"] == "ok"
    again = start(server.sessions.get(session_name="one").windows[0].panes[0], "claude", A)
    run_watch(server, agent, [again], "1")
    doc = json.loads((agent.resurrect_dir / watchmod.REPORT).read_text())
    assert len(doc["entries"]) == 2
    assert report(agent)[A]["outcome"] == "ok"


CORRUPT = {
    "garbage": b"\x00\xff{",
    "wrong shape": b'{"version": 1, "entries": {"a": 1}}',
    "bad entries": b'{"version": 1, "entries": [1, {"address": 3}, {"outcome": "ok"}]}',
    "NaN time": (
        b'{"version": 1, "entries": [{"address": "x:0.0", "session_id": "s", "tool": "t",'
        b' "pane_id": "%1", "line": "", "outcome": "failed", "at": NaN}]}'
    ),
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=list(CORRUPT))
def test_a_corrupt_report_is_replaced(
    agent: Agent, server: Any, tmp_path: Path, content: bytes
) -> None:
    pane_of(server, "x", tmp_path)
    path = agent.resurrect_dir / watchmod.REPORT
    path.write_bytes(content)
    assert "what the last restore saw" not in agent.run("status").stdout
    bad = exiting_claude(tmp_path, "bad", NOT_FOUND.encode())
    started = start(pane_of(server, "c", tmp_path), str(bad), A)
    assert len(run_watch(server, agent, [started], "1")) == 1
    assert list(report(agent)) == [A]


def test_a_report_replaced_by_a_fifo_or_a_symlink(
    agent: Agent, server: Any, tmp_path: Path
) -> None:
    """Neither blocks status or restore, and the symlink's target is untouched."""
    pane = pane_of(server, "f", tmp_path)
    wait_for(lambda: pane.capture_pane(), what="prompt")
    path = agent.resurrect_dir / watchmod.REPORT
    os.mkfifo(path)
    assert "what the last restore saw" not in agent.run("status").stdout
    bad = exiting_claude(tmp_path, "bad", NOT_FOUND.encode())
    run_watch(server, agent, [start(pane, str(bad), A)], "1")
    assert path.is_file() and list(report(agent)) == [A]
    target = tmp_path / "precious"
    target.write_text("keep")
    path.unlink()
    path.symlink_to(target)
    assert "what the last restore saw" not in agent.run("status").stdout
    run_watch(server, agent, [start(pane, str(bad), B)], "1")
    assert target.read_text() == "keep"
    assert not path.is_symlink() and list(report(agent)) == [B]


def test_check_zero_turns_the_check_off(agent: Agent, server: Any, tmp_path: Path) -> None:
    bad = exiting_claude(tmp_path, "bad", NOT_FOUND.encode())
    failing = start(pane_of(server, "off", tmp_path), str(bad), A)
    assert run_watch(server, agent, [failing], "0") == []
    assert not (agent.resurrect_dir / watchmod.REPORT).exists()


SHELLS = {
    "bash": "bash",
    "zsh": "zsh -f",
    "fish": "fish --no-config",
    "dash": "dash -i",
}


@pytest.mark.parametrize("quiet", [False, True], ids=["message", "silent"])
@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_every_shell(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats, shell: str, quiet: bool
) -> None:
    """The line above the prompt each shell redraws, also when the typed `cd`
    changed the prompt."""
    if not shutil.which(shell):
        pytest.skip(f"{shell} is not installed (scripts/setup.d/60-shells.sh installs it)")
    program = exiting_claude(tmp_path, "bad", b"" if quiet else NOT_FOUND.encode())
    project = tmp_path / "project"
    project.mkdir()
    session = server.new_session("s", window_command=SHELLS[shell], start_directory=str(tmp_path))
    pane = session.windows[0].panes[0]
    wait_for(lambda: any(line.strip() for line in pane.capture_pane()), what=f"{shell} prompt")
    pane.send_keys(f"cd {project} && {program} --resume {A}", enter=True)
    failures = run_watch(server, agent, [Started(pane.pane_id, "s:0.0", "claude", A)], "2")
    stats.cases_generated += 1
    screen = pane.capture_pane()
    assert len(failures) == 1, screen
    want = "(no output)" if quiet else NOT_FOUND.format(sid=A)
    assert failures[0].endswith(f"exited within 2s: {want}"), (failures, screen)


TYPED = f"$ cd /srv/p && command claude --resume {A}"
SCREENS = {
    "message": ([TYPED, NOT_FOUND.format(sid=A), "$"], True, NOT_FOUND.format(sid=A)),
    "silent": ([TYPED, "$"], True, ""),
    "blank lines": ([TYPED, "", "Error: x", "", "", "$"], True, "Error: x"),
    "the ID mid-message": (
        [TYPED, f"session {A} is corrupt", "$"],
        True,
        f"session {A} is corrupt",
    ),
    "the tool and the ID in the message": (
        [TYPED, f"claude: session {A} not found", "$"],
        True,
        f"claude: session {A} not found",
    ),
    "quoted ID": ([f"> cd /p; and claude --resume '{A}'", "> "], True, ""),
    "a right prompt": ([f"vm% cd /p && claude --resume {A}       [main]", "vm%"], True, ""),
    "an older typed line": ([TYPED, "bye", TYPED, "$"], True, ""),
    "cleared screen": ([NOT_FOUND.format(sid=A), "$"], True, NOT_FOUND.format(sid=A)),
    "prompt changed by cd": ([TYPED.replace("$", "~ >"), "~/p [1]>"], True, ""),
    "dead pane": ([TYPED, "crashed", "Pane is dead (status 1)"], False, "Pane is dead (status 1)"),
    "empty screen": ([], True, ""),
    "long": ([TYPED, "y" * 1000, "$"], True, "y" * (watchmod.MAX_LINE - 1) + "…"),
}


@pytest.mark.parametrize(("screen", "at_shell", "want"), SCREENS.values(), ids=list(SCREENS))
def test_the_last_line_above_the_prompt(screen: list[str], at_shell: bool, want: str) -> None:
    started = Started("%1", "w:0.0", "claude", A)
    assert watchmod.last_line(screen, 2000, started, at_shell) == want


def wrapped(line: str, width: int) -> list[str]:
    """`line` in rows of `width` columns, as a line editor wraps it (ASCII)."""
    return [line[i : i + width] for i in range(0, len(line), width)] or [""]


TYPED_ZSH = f"vm# cd /p && claude --resume {A}"
ROWS = {
    # zsh wraps its line itself: the rows are full, tmux does not join them.
    "wrapped mid-ID": ([*wrapped(TYPED_ZSH, 32), "vm#"], 32, ""),
    "wrapped at the space before the ID": ([*wrapped(TYPED_ZSH, 29), "vm#"], 29, ""),
    "wrapped in 3 rows": ([*wrapped(TYPED, 19), "oops", "$"], 19, "oops"),
    "a message almost as wide as the pane": ([*wrapped(TYPED, 20), "e" * 18, "$"], 20, "e" * 18),
    "a message wrapped": ([*wrapped(TYPED, 20), *wrapped("f" * 50, 20), "$"], 20, "f" * 50),
    "wide characters fill the row": (
        [*wrapped(TYPED, 20), "会话" * 5, "不存在", "$"],
        20,
        "会话" * 5 + "不存在",
    ),
    "one column short, then an empty row": ([*wrapped(TYPED, 20), "x" * 19, "", "$"], 20, "x" * 19),
    "the typed line fills its row": (
        [TYPED, f"Error: {A} gone", "$"],
        len(TYPED),
        f"Error: {A} gone",
    ),
    "the typed line one column short of its row": (
        [TYPED, "Error: unknown option", "$"],
        len(TYPED) + 1,
        "Error: unknown option",
    ),
    "a prompt wider than the pane": (
        [*wrapped(TYPED, 20), "oops", *wrapped("user@host /a/very/long/cwd [1]#", 20)],
        20,
        "oops",
    ),
}


@pytest.mark.parametrize(("rows", "width", "want"), ROWS.values(), ids=list(ROWS))
def test_rows_a_line_editor_wrapped(rows: list[str], width: int, want: str) -> None:
    started = Started("%1", "w:0.0", "claude", A)
    assert watchmod.last_line([r.ljust(width) for r in rows], width, started, True) == want


def test_restore_reports_what_it_started(
    agent: Agent, server: Any, tmp_path: Path, fake_bin: Path, stats: Stats
) -> None:
    """Through the real `restore`: the claude it types cannot find its session
    and exits; the codex stays up. The restore log and status say so."""
    (fake_bin / "claude").write_text(
        EXITING.format(python=sys.executable, delay=0, message=NOT_FOUND.encode())
    )
    for name in ("a", "c"):
        pane = pane_of(server, name, tmp_path)
        wait_for(lambda p=pane: pane_prompt_ready(p), what=f"prompt in {name}")
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    server.cmd("set-option", "-g", "@assistant-resurrect-check", "2")
    layout = write_sidecar(
        agent, [entry("a:0.0", A, tmp_path), entry("c:0.0", B, tmp_path, tool="codex")]
    )
    agent.run("restore", "--layout", str(layout))
    stats.cases_generated += 2
    log = "\n".join(log_lines(agent))
    assert "failed: claude in a:0.0 (" in log, log
    assert f"exited within 2s: {NOT_FOUND.format(sid=A)}" in log, log
    assert "ok: codex in c:0.0 (" in log, log
    rows = status_rows(agent)
    assert len(rows) == 2, rows
    assert rows[0].startswith("a:0.0") and rows[0].endswith(NOT_FOUND.format(sid=A)), rows
    assert rows[1].startswith("c:0.0") and "running (checked " in rows[1], rows


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_narrow_panes_wrap_the_typed_line_anywhere(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats, shell: str
) -> None:
    """40-column panes and cwds of 12 lengths: the typed line wraps at every
    place around the session ID; each message (or its absence) is still read."""
    if not shutil.which(SHELLS[shell].split()[0]):
        pytest.skip(f"{shell} is not installed (scripts/setup.d/60-shells.sh installs it)")
    loud = exiting_claude(tmp_path, "loud", b"Error: no session {sid}.")
    quiet = exiting_claude(tmp_path, "quiet", b"")
    session = server.new_session("n", window_command=SHELLS[shell], x=40, y=30)
    server.cmd("set-option", "-g", "default-size", "40x30")
    started, want = [], {}
    for n in range(12):
        sid = f"{n:02d}{A[2:]}"
        win = session.windows[0] if n == 0 else session.new_window(window_shell=SHELLS[shell])
        pane = win.panes[0]
        wait_for(lambda p=pane: any(r.strip() for r in p.capture_pane()), what="a prompt")
        project = tmp_path / ("d" * (n * 3 + 1))
        project.mkdir()
        program = loud if n % 2 else quiet
        pane.send_keys(f"cd {project} && {program} --resume {sid}", enter=True)
        started.append(Started(pane.pane_id, f"n:{win.window_index}.0", "claude", sid))
        want[pane.pane_id] = f"Error: no session {sid}." if n % 2 else "(no output)"
    failures = run_watch(server, agent, started, "2")
    stats.cases_generated += len(started)
    got = {
        line.split(" (")[1].split(")")[0]: line.split("exited within 2s: ")[1] for line in failures
    }
    assert got == want
