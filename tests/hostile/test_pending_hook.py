"""The `attached` start mode arms a tmux hook whose command carries paths we do
not choose: the state dir ($TMUX_ASSISTANT_RESURRECT_DIR) and the server's
socket. That command goes through tmux's parser, run-shell's format expansion
and sh. Hostile paths must reach the agent unchanged and run nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import RUNTIME_SRC, Agent, records, wait_for
from tests.hostile.conftest import Stats, check_canaries
from tests.screens import capture_args, occurrences, screen_lines_at

pytestmark = pytest.mark.skipif(
    not shutil.which("script"), reason="needs script(1) (util-linux) to attach a tmux client"
)

SESSION_ID = "7e57ab1e-0000-4000-8000-00000000a77a"

# (state dir name, socket name): no '/', sockets short (sun_path is 108 bytes).
HOSTILE = [
    ("st'$(arcanary)'`arcanary`;arcanary", "s;arcanary"),
    ('st"#{pane_id}##{?1,x,y}$HOME~%%"', "s#{q}'"),
    ("st\\;arcanary\\'|arcanary&&arcanary", "s$(arcanary)"),
    ("st\nnl\tarcanary\n", "s'\\'"),
    ("st é 日本 \u2028 {a,b} *", "s é*"),
]


@pytest.fixture
def short_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="arh-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize(("state_name", "socket_name"), HOSTILE)
def test_the_attach_hook_survives_hostile_paths(
    state_name: str,
    socket_name: str,
    home: Path,
    canary_bin: Path,
    short_dir: Path,
    tmp_path: Path,
    stats: Stats,
) -> None:
    state = tmp_path / state_name
    state.mkdir(mode=0o700)
    socket = short_dir / socket_name
    env = dict(os.environ, TMUX_ASSISTANT_RESURRECT_DIR=str(state), TERM="xterm")
    tmux = ["tmux", "-S", str(socket), "-f", "/dev/null"]
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "work", "-x", "100", "-y", "30", "-c", str(tmp_path)],
        env=env,
        check=True,
    )
    client = None
    try:
        agent = Agent(socket_name="unused", home=home)
        layout = agent.fake_layout()
        layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
            json.dumps(
                {
                    "version": 1,
                    "sessions": [
                        {
                            "pane": "work:0.0",
                            "tool": "claude",
                            "session_id": SESSION_ID,
                            "cwd": str(tmp_path),
                            "program": "claude",
                            "cli_args": ["--model", state_name],
                            "env": {},
                        }
                    ],
                }
            )
        )
        wait_for(
            lambda: subprocess.run(
                [*tmux, *capture_args("work")], capture_output=True, text=True
            ).stdout.strip(),
            what="the prompt",
        )
        run_env = dict(env, PYTHONPATH=str(RUNTIME_SRC))
        agent_argv = [sys.executable, "-m", "assistant_resurrect", "-S", str(socket)]
        subprocess.run([*agent_argv, "restore", "--layout", str(layout)], env=run_env, check=True)
        stats.cases_generated += 1
        log = (agent.resurrect_dir / "assistant-restore.log").read_text()
        assert "waiting for a client" in log, log
        assert records() == [], log
        # A client shows the session: the hook runs the agent, which types.
        client = subprocess.Popen(
            ["script", "-qfec", f"{' '.join(map(_sh, tmux))} attach -t work", "/dev/null"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            (rec,) = wait_for(lambda: records("claude"), timeout=20, what="the hook's restore")
        except AssertionError:
            hooks = subprocess.run([*tmux, "show-hooks", "-g"], capture_output=True, text=True)
            log = (agent.resurrect_dir / "assistant-restore.log").read_text()
            raise AssertionError(f"hooks: {hooks.stdout}\nlog: {log}") from None
        assert rec["argv"] == ["--model", state_name, "--resume", SESSION_ID]
        time.sleep(0.3)
        check_canaries(stats)
    finally:
        if client is not None:
            client.terminate()
            client.wait()
        subprocess.run([*tmux, "kill-server"], env=env, capture_output=True)


def _sh(word: str) -> str:
    import shlex

    return shlex.quote(word)


def test_attached_mode_restore_run_three_times_types_once(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """Three restores (two of them at once) leave the sessions waiting; the
    first client to show them gets each command typed once."""
    ids = [f"{i}e57ab1e-0000-4000-8000-00000000a77a" for i in range(1, 5)]
    session = server.new_session("wait", start_directory=str(tmp_path))
    wins = [session.windows[0]] + [session.new_window() for _ in ids[1:]]
    pane_ids = [w.panes[0].pane_id for w in wins]
    for p in pane_ids:
        wait_for(lambda p=p: screen_lines_at(server, p), what="prompt")
    layout = agent.fake_layout()
    layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
        json.dumps(
            {
                "version": 1,
                "sessions": [
                    {
                        "pane": f"wait:{w.window_index}.0",
                        "tool": "claude",
                        "session_id": sid,
                        "cwd": str(tmp_path),
                        "program": "claude",
                    }
                    for w, sid in zip(wins, ids)
                ],
            }
        )
    )
    env = dict(os.environ, PYTHONPATH=str(RUNTIME_SRC))
    argv = [
        sys.executable,
        "-m",
        "assistant_resurrect",
        "-L",
        agent.socket_name,
        "restore",
        "--layout",
        str(layout),
    ]
    agent.run("restore", "--layout", str(layout))
    runs = [subprocess.Popen(argv, env=env) for _ in range(2)]
    assert [r.wait(timeout=60) for r in runs] == [0, 0]
    stats.cases_generated += len(ids) * 3
    assert records() == []
    client = subprocess.Popen(
        ["script", "-qfec", f"tmux -L {_sh(agent.socket_name)} attach -t wait", "/dev/null"],
        env=dict(os.environ, TERM="xterm"),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(records("claude")) >= len(ids), timeout=20, what="the typed claudes")
        time.sleep(1.0)  # a second copy would arrive now
        assert sorted(r["pane"] for r in records("claude")) == sorted(pane_ids)
        for p in pane_ids:
            screen = screen_lines_at(server, p)
            assert occurrences(screen, "--resume") == 1, screen
    finally:
        client.terminate()
        client.wait()
