"""Shared fixtures: a throwaway HOME, stand-in assistants, the agent runner.

tmux servers come from libtmux's pytest plugin (`server`: a private socket per
test, killed afterwards). Stand-in assistants are small Python programs named
`claude`, `opencode`, `codex` and `gemini`: each records its argv, cwd and
environment into `$AR_RECORD_DIR/<tool>-<pid>.json`, optionally runs
`$AR_FAKE_HOOK` as a child (with the JSON in `$AR_FAKE_HOOK_STDIN` on its
stdin, the way Claude runs its hooks), then waits to be killed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from assistant_resurrect import assistants
from tests.tmuxinfo import tmux_version

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_SRC = ROOT / "runtime" / "src"

# The tmux version matrix: AR_TMUX names the tmux binary this run is for
# (scripts/test.sh sets it for each version of scripts/setup.d/20-tmux-versions.sh).
# Its folder goes first on PATH before any server starts, so libtmux, the agent,
# the hooks and the panes' shells all find that tmux, as a user's would.
if os.environ.get("AR_TMUX"):
    _tmux = Path(os.environ["AR_TMUX"])
    if _tmux.name != "tmux" or not os.access(_tmux, os.X_OK):
        raise pytest.UsageError(f"AR_TMUX={_tmux} is not an executable named tmux")
    os.environ["PATH"] = f"{_tmux.parent}{os.pathsep}{os.environ['PATH']}"


def pytest_report_header(config: pytest.Config) -> str:
    from assistant_resurrect import procs

    return (
        f"tmux under test: {tmux_version()} ({shutil.which('tmux')}); "
        f"process backend: {procs.backend().NAME}"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """AR_STRICT=1 (set by CI): a skip is a failure. Every skip site in this suite
    stands for a missing tool, binary or privilege that CI installs or has, so in
    CI a skip can only mean a broken set-up that would hide a regression."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("AR_STRICT") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"AR_STRICT=1: this test was skipped ({reason}); CI must run it"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(f"these tests ran against {tmux_version()}")


STAND_IN = r"""#!{python}
import json, os, signal, subprocess, sys, time
tool = os.path.basename(sys.argv[0])
record_dir = os.environ.get("AR_RECORD_DIR")
if record_dir:
    data = {{
        "tool": tool, "pid": os.getpid(), "argv": sys.argv[1:], "cwd": os.getcwd(),
        "pane": os.environ.get("TMUX_PANE"),
        "env": {{k: v for k, v in os.environ.items() if k.startswith("AR_")}},
    }}
    tmp = os.path.join(record_dir, f".{{tool}}-{{os.getpid()}}.tmp")
    with open(tmp, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, os.path.join(record_dir, f"{{tool}}-{{os.getpid()}}.json"))
hook = os.environ.get("AR_FAKE_HOOK")
if hook:
    subprocess.run(["/bin/sh", "-c", hook],
                   input=os.environ.get("AR_FAKE_HOOK_STDIN", "").encode())
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
signal.signal(signal.SIGHUP, lambda *a: sys.exit(0))
while True:
    time.sleep(3600)
"""

TOOLS = tuple(assistants.names())  # the registry is the one list of assistants


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """A folder of stand-in assistants."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        path = bin_dir / tool
        path.write_text(STAND_IN.format(python=sys.executable))
        path.chmod(0o755)
    return bin_dir


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_bin: Path) -> Path:
    """A throwaway HOME for this test (tmux servers started now inherit it), with a
    plain bash prompt, the stand-ins on PATH, a private state dir and record dir."""
    h = tmp_path / "home"
    h.mkdir()
    # tmux starts login shells: /etc/profile resets PATH, ~/.bash_profile runs.
    (h / ".bashrc").write_text(f"PS1='$ '\nHISTFILE=/dev/null\nexport PATH={fake_bin}:$PATH\n")
    (h / ".bash_profile").write_text(". ~/.bashrc\n")
    (h / ".tmux" / "resurrect").mkdir(parents=True)
    state = tmp_path / "state"
    records = tmp_path / "records"
    records.mkdir()
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.setenv("SHELL", "/bin/bash")
    monkeypatch.setenv("PATH", f"{fake_bin}:{os.environ['PATH']}")
    monkeypatch.setenv("TMUX_ASSISTANT_RESURRECT_DIR", str(state))
    monkeypatch.setenv("AR_RECORD_DIR", str(records))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("TMUX_PANE", raising=False)
    return h


@dataclass
class Agent:
    """Runs `python -m assistant_resurrect -L <socket> ...` like a hook would."""

    socket_name: str
    home: Path

    def run(
        self,
        *args: str,
        stdin: Optional[str] = None,
        check: bool = True,
        env: Optional[dict[str, str]] = None,
    ) -> subprocess.CompletedProcess[str]:
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = str(RUNTIME_SRC)
        if env:
            full_env.update(env)
        proc = subprocess.run(
            [sys.executable, "-m", "assistant_resurrect", "-L", self.socket_name, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=60,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"agent {args} exited {proc.returncode}\nstdout: {proc.stdout}\n"
                f"stderr: {proc.stderr}"
            )
        return proc

    @property
    def resurrect_dir(self) -> Path:
        return self.home / ".tmux" / "resurrect"

    def fake_layout(self, stamp: str = "20261125T120000") -> Path:
        """A layout file plus the `last` link, as tmux-resurrect leaves them."""
        layout = self.resurrect_dir / f"tmux_resurrect_{stamp}.txt"
        layout.write_text(f"state\t{stamp}\n")
        last = self.resurrect_dir / "last"
        if last.is_symlink() or last.exists():
            last.unlink()
        last.symlink_to(layout.name)
        return layout

    def sidecar(self, layout: Path) -> dict[str, Any]:
        name = layout.name.replace("tmux_resurrect_", "assistant_resurrect_").replace(
            ".txt", ".json"
        )
        return json.loads((layout.parent / name).read_text())


@pytest.fixture
def agent(server: Any, home: Path) -> Agent:
    return Agent(socket_name=server.socket_name, home=home)


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def records(tool: Optional[str] = None) -> list[dict[str, Any]]:
    """What the stand-ins recorded so far (each start is one record)."""
    out = []
    for path in sorted(Path(os.environ["AR_RECORD_DIR"]).glob("*.json")):
        data = json.loads(path.read_text())
        if tool is None or data["tool"] == tool:
            out.append(data)
    return out


def pane_prompt_ready(pane: Any) -> bool:
    """The pane's bash shows its prompt."""
    return any(line.strip() == "$" for line in pane.capture_pane())


def start_in_pane(pane: Any, command: str) -> None:
    """Type a command at the pane's prompt (waiting for the prompt first)."""
    wait_for(lambda: pane_prompt_ready(pane), what=f"prompt in {pane.pane_id}")
    pane.send_keys(command, enter=True)
