"""Restore types only into a shell at its prompt, once per pane: never into
an editor, a pager, a program reading stdin or a running assistant, never
twice (sequential or concurrent restores), never with an invalid session ID."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

import pytest

from assistant_resurrect.tmux import Tmux
from tests.helpers import RUNTIME_SRC, Agent, pane_prompt_ready, records, start_in_pane, wait_for
from tests.hostile.conftest import Stats, check_canaries
from tests.hostile.strategies import CANARIES
from tests.screens import occurrences, screen_lines, screen_lines_at, screen_text
from tests.tmuxinfo import tmux_release

IDS = [
    "11111111-2222-4333-8444-555555555555",
    "21111111-2222-4333-8444-555555555555",
    "31111111-2222-4333-8444-555555555555",
    "41111111-2222-4333-8444-555555555555",
    "51111111-2222-4333-8444-555555555555",
    "61111111-2222-4333-8444-555555555555",
]


def entry(pane: str, session_id: str, tmp_path: Path, tool: str = "claude") -> dict[str, Any]:
    return {
        "pane": pane,
        "tool": tool,
        "session_id": session_id,
        "cwd": str(tmp_path),
        "program": tool,
        "cli_args": [],
        "env": {},
    }


def write_sidecar(agent: Agent, sessions: list[dict[str, Any]]) -> Path:
    layout = agent.fake_layout()
    layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
        json.dumps({"version": 1, "sessions": sessions})
    )
    return layout


def marker(server: Any, pane_id: str) -> str:
    return server.cmd("show-options", "-pqv", "-t", pane_id, "@assistant-resurrect-restored").stdout


# Foreground programs restore must not type into: (command, what it is).
BUSY = {
    "pager": "less {file}",
    "editor": "vim -u NONE -i NONE -N -n {file}",
    "reader": "cat > {file}",
    "repl": "python3 -q",
    "assistant": "codex resume 71111111-2222-4333-8444-555555555555",
    "sleeping": "sleep 600",
}


def stable_screens(panes: dict[str, Any]) -> Optional[dict[str, list[str]]]:
    """The panes' screens, once they stay the same for 0.3 s."""
    first = {k: screen_lines(p) for k, p in panes.items()}
    time.sleep(0.3)
    second = {k: screen_lines(p) for k, p in panes.items()}
    return second if first == second else None


def test_restore_never_types_into_a_busy_pane(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    session = server.new_session("busy", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    panes = {}
    sessions = []
    busy = {k: c for k, c in BUSY.items() if shutil.which(c.split()[0])}
    for i, (kind, cmd) in enumerate(busy.items()):
        win = session.windows[0] if i == 0 else session.new_window()
        f = tmp_path / f"{kind}.txt"
        f.write_text("untouched\n" if kind != "reader" else "")
        start_in_pane(win.panes[0], cmd.format(file=f))
        panes[kind] = win.panes[0]
        sessions.append(entry(f"busy:{win.window_index}.0", IDS[i], tmp_path))
    wait_for(
        lambda: all(
            p.cmd("display-message", "-p", "#{pane_current_command}").stdout[0] not in ("bash", "")
            for p in panes.values()
        ),
        what="every pane's program to be in the foreground",
    )
    screens = wait_for(lambda: stable_screens(panes), what="every screen to settle")
    layout = write_sidecar(agent, sessions)
    agent.run("restore", "--layout", str(layout), "--timeout", "3")
    stats.cases_generated += len(sessions)
    time.sleep(0.3)
    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    for kind, pane in panes.items():
        assert screen_lines(pane) == screens[kind], f"{kind}: its screen changed"
        assert not marker(server, pane.pane_id), kind
        assert f"busy:{pane.window_index}.0: " in log
    assert (tmp_path / "reader.txt").read_text() == ""
    for kind in {"pager", "editor"} & set(busy):
        assert (tmp_path / f"{kind}.txt").read_text() == "untouched\n"
    assert records("claude") == []
    assert log.count("not a shell") == len(busy), log


def test_the_guard_can_fail(agent: Agent, server: Any, tmp_path: Path) -> None:
    """Counter-check for the test above: at a shell prompt the command is typed."""
    session = server.new_session("idle", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    pane = session.windows[0].panes[0]
    wait_for(lambda: pane_prompt_ready(pane), what="prompt")
    layout = write_sidecar(agent, [entry("idle:0.0", IDS[0], tmp_path)])
    agent.run("restore", "--layout", str(layout))
    wait_for(lambda: records("claude"), what="the typed claude")


def test_restore_never_types_into_a_shell_script_reading_stdin(
    agent: Agent, server: Any, tmp_path: Path
) -> None:
    session = server.new_session("script", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    pane = session.windows[0].panes[0]
    answer = tmp_path / "answer.txt"
    start_in_pane(
        pane, f'bash -c \'printf "Delete everything? "; read -r a; printf %s "$a" > {answer}\''
    )
    wait_for(lambda: "Delete everything?" in screen_text(pane), what="question")
    layout = write_sidecar(agent, [entry("script:0.0", IDS[0], tmp_path)])
    agent.run("restore", "--layout", str(layout), "--timeout", "3")
    time.sleep(0.5)
    assert not answer.exists(), f"the script read {answer.read_text()!r}"


def current_command(pane: Any) -> str:
    out = pane.cmd("display-message", "-p", "#{pane_current_command}").stdout
    return out[0] if out else ""


def agent_cmd(agent: Agent, *args: str) -> list[str]:
    return [sys.executable, "-m", "assistant_resurrect", "-L", agent.socket_name, *args]


def twice_layout(agent: Agent, server: Any, tmp_path: Path) -> tuple[list[Any], Path]:
    session = server.new_session("twice", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    wins = [session.windows[0]] + [session.new_window() for _ in IDS[1:]]
    for w in wins:
        wait_for(lambda w=w: pane_prompt_ready(w.panes[0]), what="prompt")
    sessions = [entry(f"twice:{w.window_index}.0", i, tmp_path) for w, i in zip(wins, IDS)]
    return wins, write_sidecar(agent, sessions)


def times_typed(wins: list[Any]) -> dict[str, int]:
    """How often each pane shows its resume command (the shell's or the tty's
    echo: a second copy typed while the assistant runs waits in its input)."""
    return {w.panes[0].pane_id: occurrences(screen_lines(w.panes[0]), "--resume") for w in wins}


def test_restore_run_again_types_nothing(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """A second run while the assistants run, and a third after they exited
    (the pane marker), type nothing."""
    wins, layout = twice_layout(agent, server, tmp_path)
    agent.run("restore", "--layout", str(layout))
    wait_for(lambda: len(records("claude")) == len(IDS), what="every pane's claude")
    agent.run("restore", "--layout", str(layout))  # assistants running: skipped
    stats.cases_generated += len(IDS) * 3
    for rec in records("claude"):
        os.kill(rec["pid"], signal.SIGTERM)
    for w in wins:
        wait_for(lambda w=w: current_command(w.panes[0]) == "bash", what="the shell")
    for p in Path(os.environ["AR_RECORD_DIR"]).iterdir():
        p.unlink()
    agent.run("restore", "--layout", str(layout))  # back at the shell: the marker
    time.sleep(1.0)
    assert records("claude") == []
    assert times_typed(wins) == {w.panes[0].pane_id: 1 for w in wins}
    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    assert log.count("already restored") >= len(IDS), log
    assert log.count("already runs in it") + log.count("already restored") >= 2 * len(IDS)


def test_concurrent_restores_type_once(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    wins, layout = twice_layout(agent, server, tmp_path)
    env = dict(os.environ, PYTHONPATH=str(RUNTIME_SRC))
    runs = [
        subprocess.Popen(agent_cmd(agent, "restore", "--layout", str(layout)), env=env)
        for _ in range(4)
    ]
    assert [p.wait(timeout=60) for p in runs] == [0] * len(runs)
    stats.cases_generated += len(IDS) * len(runs)
    wait_for(lambda: len(records("claude")) >= len(IDS), what="every pane's claude")
    time.sleep(0.5)
    assert times_typed(wins) == {w.panes[0].pane_id: 1 for w in wins}


def test_invalid_session_ids_are_skipped_with_a_log_line(
    agent: Agent, server: Any, canary_bin: Path, tmp_path: Path, stats: Stats
) -> None:
    """Saved IDs holding canaries, or merely outside the tool's charset: the
    entry is skipped with a log line and nothing is typed."""
    session = server.new_session("ids", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    bad = [
        *(f"{IDS[0]}{c}" for c in CANARIES),
        "ses_abc$(arcanary)",
        IDS[0].upper().replace("-", "_"),
        "",
        " ",
        "../../etc/passwd",
        "-c",
        "--help",
    ]
    tools = ("claude", "codex", "opencode")
    # One pane each (two entries for one pane would be de-duplicated first).
    windows = [session.windows[0]] + [
        session.new_window(start_directory=str(tmp_path)) for _ in bad[1:]
    ]
    sessions = [
        entry(f"ids:{w.window_index}.0", sid, tmp_path, tools[i % 3])
        for i, (w, sid) in enumerate(zip(windows, bad))
    ]
    panes = [w.panes[0] for w in windows]
    for pane in panes:
        wait_for(lambda pane=pane: pane_prompt_ready(pane), what="prompt")
    screens = [screen_lines(pane) for pane in panes]
    layout = write_sidecar(agent, sessions)
    agent.run("restore", "--layout", str(layout))
    stats.cases_generated += len(bad)
    time.sleep(0.3)
    assert [screen_lines(pane) for pane in panes] == screens
    assert records() == []
    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    for w in windows:
        skipped = [line for line in log.splitlines() if f"skip ids:{w.window_index}.0:" in line]
        assert len(skipped) == 1, log
    check_canaries(stats)


def test_save_ignores_an_invalid_session_id_with_a_log_line(
    agent: Agent, server: Any, canary_bin: Path, stats: Stats
) -> None:
    """An ID taken from a command line is checked against the tool's charset."""
    session = server.new_session("save")
    start_in_pane(session.windows[0].panes[0], "codex resume 'x$(arcanary)'")
    wait_for(lambda: records("codex"), what="codex")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    stats.cases_generated += 1
    (saved,) = agent.sidecar(layout)["sessions"]
    assert saved["session_id"] is None
    log = (agent.resurrect_dir / "assistant-save.log").read_text()
    assert "invalid session ID" in log, log
    check_canaries(stats)


SESSION_NAMES = [
    "a b",
    "it's",
    'q"uote',
    "$(arcanary)",
    "`arcanary`",
    "日本 é",
    "tab\there",
    "semi;colon",
    "a##b#",
    "-dash",
    "%1",
    "$HOME",
    "~",
    "x\x1by",
    "{a,b}",
]


@pytest.mark.parametrize("mode", ["immediate", "attached"])
def test_hostile_session_names_get_their_own_commands(
    mode: str, agent: Agent, server: Any, canary_bin: Path, tmp_path: Path, stats: Stats
) -> None:
    """Pane addresses are built from session names: every pane still gets its
    own command and nothing runs (attached mode: the sessions wait, untouched)."""
    keep = server.new_session("keep", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", mode)
    created = {}  # tmux session ID -> our session ID
    names = SESSION_NAMES
    if tmux_release() >= (3, 7):  # 3.7 refuses control characters in session names
        names = [n for n in SESSION_NAMES if all(0x20 <= ord(c) != 0x7F for c in n)]
        assert len(names) < len(SESSION_NAMES)
    for i, name in enumerate(names):
        res = server.cmd(
            "new-session", "-d", "-P", "-F", "#{session_id}", "-s", name, "-c", str(tmp_path)
        )
        assert res.stdout, (name, res.stderr)
        out = res.stdout
        created[out[0]] = f"{i + 1:08d}-2222-4333-8444-555555555555"
    # Addresses as tmux holds them (and as save would have recorded them), read
    # with the agent's escaping-proof formats (tmux 3.4/3.5 escape raw output).
    listing = Tmux(socket_name=server.socket_name).query(
        ["list-panes", "-a", "-F"], ["session_id", "pane_id", "session_name"]
    )
    sessions, want = [], {}
    for sid, pane_id, name in listing:
        if sid in created:
            sessions.append(entry(f"{name}:0.0", created[sid], tmp_path))
            want[pane_id] = created[sid]
    assert len(sessions) == len(names), listing
    for pane_id in want:
        wait_for(lambda p=pane_id: screen_lines_at(server, p), what="prompt")
    layout = write_sidecar(agent, sessions)
    agent.run("restore", "--layout", str(layout))
    stats.cases_generated += len(sessions)
    if mode == "immediate":
        got = wait_for(
            lambda: (lambda r: r if len(r) == len(sessions) else None)(records("claude")),
            what="every session's claude",
        )
        assert {r["pane"]: r["argv"][-1] for r in got} == want
    else:
        time.sleep(1.0)
        assert records() == []
    check_canaries(stats)
    keep.kill()


@pytest.mark.parametrize(
    "tampered",
    [
        {"program": "true"},
        {"program": "/bin/sh", "cli_args": ["-c", ":"]},
        {"env": {"BASH_ENV": "/dev/null", "LD_PRELOAD": "/nonexistent.so"}},
    ],
)
def test_a_tampered_sidecar_cannot_choose_what_runs(
    tampered: dict[str, Any], agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    session = server.new_session("t", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    pane = session.windows[0].panes[0]
    wait_for(lambda: pane_prompt_ready(pane), what="prompt")
    layout = write_sidecar(agent, [{**entry("t:0.0", IDS[0], tmp_path), **tampered}])
    agent.run("restore", "--layout", str(layout))
    stats.cases_generated += 1
    time.sleep(1.0)
    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    if "program" in tampered:
        assert f"skip t:0.0: its saved program {tampered['program']!r} is not claude" in log
    else:  # env names the user did not list are dropped, by name, and never typed
        assert "t:0.0: not replaying BASH_ENV, LD_PRELOAD" in log, log
        typed = [line for line in log.splitlines() if "restored claude in t:0.0" in line]
        assert typed and "BASH_ENV" not in typed[0] and "LD_PRELOAD" not in typed[0], log


def test_sigkill_of_restore_never_leads_to_a_second_copy(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """Restore killed at random moments, then run again to completion: no pane
    ever holds its command twice (typed, or typed and waiting for Enter), and
    nothing else is typed."""
    rng = random.Random(int(os.environ.get("AR_HOSTILE_SEED", "7")))
    env = dict(os.environ, PYTHONPATH=str(RUNTIME_SRC))
    keep = server.new_session("keep")
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    for round_ in range(int(os.environ.get("AR_HOSTILE_RESTORE_KILLS", "6"))):
        session = server.new_session(f"k{round_}", start_directory=str(tmp_path))
        wins = [session.windows[0]] + [session.new_window() for _ in IDS[1:]]
        for w in wins:
            wait_for(lambda w=w: pane_prompt_ready(w.panes[0]), what="prompt")
        layout = write_sidecar(
            agent, [entry(f"k{round_}:{w.window_index}.0", i, tmp_path) for w, i in zip(wins, IDS)]
        )
        proc = subprocess.Popen(agent_cmd(agent, "restore", "--layout", str(layout)), env=env)
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stats.faults_injected += 1
        agent.run("restore", "--layout", str(layout))
        time.sleep(0.5)

        def once(wins: list[Any] = wins) -> Optional[dict[str, int]]:
            counts = times_typed(wins)
            return counts if all(n == 1 for n in counts.values()) else None

        try:  # a bound for a loaded machine: the rerun has typed, the shells echo it
            counts = wait_for(once, timeout=30, what="every pane's command exactly once")
        except AssertionError:
            raise AssertionError(f"typed per pane: {times_typed(wins)}") from None
        # Exactly once: a kill before, while or after typing is finished by the rerun.
        stats.panes_unrestored_after_killed_restore += sum(n == 0 for n in counts.values())
        stats.cases_generated += len(IDS)
        server.cmd("kill-session", "-t", session.session_id)
    keep.kill()
