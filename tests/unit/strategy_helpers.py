"""Shared arrangement for the per-strategy tests (test_strategies_<tool>.py).

Each strategy test starts a real process (`sleep`) in a folder of its own,
builds the `Found` the save code would build for it, arranges files that only
the strategy under test can answer from, and checks that
`find_session_id` answers with that strategy's name: removing the strategy
from the assistant's list makes the test fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

from assistant_resurrect import procs
from assistant_resurrect.assistants import by_name
from assistant_resurrect.assistants.base import Assistant, Context, Found, parse_launch

ENV_NAMES = (
    "CLAUDE_CONFIG_DIR",
    "OPENCODE_DB",
    "XDG_DATA_HOME",
    "CODEX_HOME",
    "CODEX_SQLITE_HOME",
    "GEMINI_CLI_HOME",
    "XDG_RUNTIME_DIR",
)


@dataclass
class Proc:
    """A live process standing in for an assistant, and where it works."""

    pid: int
    start: float
    cwd: Path
    home: Path
    state: Path
    log_lines: list[str]

    def found(self, argv: list[str], cwd: Optional[Path] = None) -> Found:
        launch = parse_launch(argv)
        assert launch is not None
        return Found(
            pid=self.pid, launch=launch, start=self.start, cwd=str(cwd or self.cwd), pids=[self.pid]
        )

    def ctx(self, claimed: Optional[dict[str, int]] = None) -> Context:
        snap = procs.snapshot()
        log: Any = self.log_lines.append
        return Context(snap=snap, log=log, home=str(self.home), claimed=dict(claimed or {}))

    def find(
        self,
        tool: str,
        argv: list[str],
        claimed: Optional[dict[str, int]] = None,
        cwd: Optional[Path] = None,
    ) -> tuple[Optional[str], Optional[str]]:
        assistant: Optional[Assistant] = by_name(tool)
        assert assistant is not None, f"{tool} is not registered"
        return assistant.find_session_id(self.ctx(claimed), self.found(argv, cwd))

    def write(self, rel: str, text: str, before_start: bool = False) -> Path:
        """A file under HOME; written now (after the start) unless `before_start`."""
        path = self.home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if before_start:
            old = self.start - 120
            os.utime(path, (old, old))
        return path

    def state_file(self, tool: str, data: dict[str, Any]) -> Path:
        self.state.mkdir(mode=0o700, exist_ok=True)
        path = self.state / f"{tool}-{self.pid}.json"
        path.write_text(json.dumps(data))
        path.chmod(0o600)
        return path


def make_proc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra_env: Optional[dict[str, str]] = None
) -> Iterator[Proc]:
    """Body of each test module's `proc` fixture (`extra_env`: the stand-in
    assistant's own environment, which the strategies read)."""
    home = tmp_path / "home"
    cwd = tmp_path / "work" / "my.project"
    cwd.mkdir(parents=True)
    home.mkdir()
    state = tmp_path / "state"
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMUX_ASSISTANT_RESURRECT_DIR", str(state))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **(extra_env or {})}
    child = subprocess.Popen(["sleep", "300"], cwd=cwd, env=env)
    try:
        deadline = time.monotonic() + 5
        p = procs.read_proc(child.pid)
        while p is None and time.monotonic() < deadline:
            time.sleep(0.01)
            p = procs.read_proc(child.pid)
        assert p is not None
        time.sleep(0.05)  # files written from now on are newer than the start
        yield Proc(pid=child.pid, start=p.start, cwd=cwd, home=home, state=state, log_lines=[])
    finally:
        child.kill()
        child.wait()
