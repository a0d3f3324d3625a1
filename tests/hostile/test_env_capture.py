"""Env capture in real panes: names that look like secrets are captured only
with `@assistant-resurrect-capture-secret-env on`; values never reach a log."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Agent, records, start_in_pane, wait_for
from tests.hostile.conftest import Stats

SESSION_ID = "6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b"
PLAIN = ["AR_PLAIN", "AR_REGION"]
SECRETS = [
    "AR_API_KEY",
    "AR_GH_TOKEN",
    "AR_MY_SECRET",
    "AR_DB_PASSWORD",
    "AR_AWS_CREDENTIALS",
    "ar_lower_token",
    "AR_KEYRING",
]


def values() -> dict[str, str]:
    """A distinctive value per name, to look for in every file later."""
    tag = os.urandom(4).hex()
    return {n: f"v{tag}-{n.lower()}-x" for n in PLAIN + SECRETS}


def start(server: Any, tmp_path: Path, env: dict[str, str], secret_env: str) -> Any:
    session = server.new_session("work", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    server.cmd("set-option", "-g", "@assistant-resurrect-capture-env", " ".join(env))
    if secret_env:
        server.cmd("set-option", "-g", "@assistant-resurrect-capture-secret-env", secret_env)
    pane = session.windows[0].panes[0]
    exports = "; ".join(f"export {k}={v}" for k, v in env.items())
    start_in_pane(pane, f"{exports}; clear; claude --resume {SESSION_ID}")
    wait_for(lambda: records("claude"), what="claude to start")
    return pane


def logs(agent: Agent) -> dict[str, str]:
    state = Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"])
    found = {}
    for folder in (agent.resurrect_dir, state):
        if folder.is_dir():
            for p in folder.iterdir():
                if ".log" in p.name:
                    found[p.name] = p.read_text(errors="replace")
    return found


@pytest.mark.parametrize("secret_env", ["", "off", "on"])
def test_secret_names_are_captured_only_when_allowed_and_never_logged(
    secret_env: str, agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    env = values()
    start(server, tmp_path, env, secret_env)
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    stats.cases_generated += 1
    (entry,) = agent.sidecar(layout)["sessions"]
    allowed = secret_env == "on"
    want = {n: env[n] for n in PLAIN + (SECRETS if allowed else [])}
    assert entry["env"] == want
    saved_log = logs(agent)["assistant-save.log"]
    if not allowed:
        for name in SECRETS:
            assert name in saved_log, f"no log line names the refused {name}"
    for name, text in logs(agent).items():
        for value in env.values():
            assert value not in text, f"{name} holds a captured value"


def test_restore_never_logs_captured_values(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    env = {n: v for n, v in values().items() if n in PLAIN}
    start(server, tmp_path, env, "")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    (rec,) = records("claude")
    os.kill(rec["pid"], signal.SIGTERM)
    for p in Path(os.environ["AR_RECORD_DIR"]).iterdir():
        p.unlink()
    agent.run("restore", "--layout", str(layout))
    (again,) = wait_for(lambda: records("claude"), what="the restored claude")
    assert {n: again["env"].get(n) for n in env} == env  # the values did get through
    for name, text in logs(agent).items():
        for value in env.values():
            assert value not in text, f"{name} holds a captured value"
