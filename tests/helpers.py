"""Test helpers shared by the suites (imported as `from tests.helpers import ...`;
the fixtures that use them are in conftest.py).

Stand-in assistants are small Python programs named after each registered
assistant: each records its argv, cwd and environment into
`$AR_RECORD_DIR/<tool>-<pid>.json`, optionally runs `$AR_FAKE_HOOK` as a child
(with the JSON in `$AR_FAKE_HOOK_STDIN` on its stdin, the way Claude runs its
hooks), then waits to be killed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from assistant_resurrect import assistants

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_SRC = ROOT / "runtime" / "src"

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


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
    on_fail: Optional[Callable[[], str]] = None,
) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout`
    (with what `on_fail` returns, e.g. a log)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{on_fail()}" if on_fail else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
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
