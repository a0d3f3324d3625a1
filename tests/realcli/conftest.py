"""Fixtures for running the real assistant CLIs (installed by
scripts/setup.d/30-assistant-clis.sh) inside tmux, as an ordinary user.

One session-wide environment (`real`):
- a throwaway ordinary user with a real home under /home (Claude refuses some
  flags as root; Codex refuses a home under /tmp);
- a virtualenv of the agent made from /usr/bin/python3 that this user can
  run (root's python may live in a private folder);
- a fake model API on 127.0.0.1 (fake_api.py) so that Claude stays up and
  answers, and Gemini CLI answers;
- Claude's first-run state (~/.claude.json) and our SessionStart/SessionEnd
  hooks in ~/.claude/settings.json; Gemini's auth and trust settings; Codex
  logged in with a dummy API key; our OpenCode plugin installed;
- one private tmux server (`tmux -L <unique>`) run as that user; each test
  opens its own window in its own working directory.
Afterwards the tmux server, every process left by the user (Codex's
app-server daemons ignore SIGTERM: SIGKILL, by PID) and the user are removed,
and the fake API is stopped.

Skipped, with the reason, when not root or when the CLIs are not installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from assistant_resurrect import assistants
from tests.realcli.fake_api import FakeModelAPI

ROOT = Path(__file__).resolve().parents[2]
CLI_PREFIX = Path(os.environ.get("AR_CLI_PREFIX", "/opt/assistant-clis"))
CLI_BIN = CLI_PREFIX / "node_modules" / ".bin"
PLUGIN = ROOT / "roles" / "assistant_resurrect" / "files" / "opencode" / "assistant-resurrect.js"
CLAUDE_KEY = "sk-ant-api03-realcli-test-key-0123456789abcdefghij"
NO_HOOK_ENV = "AR_TEST_NO_HOOK"
# A cwd whose Claude project folder name is cut at 200 and hashed, with a
# character outside the BMP (two UTF-16 units, two dashes).
CLAUDE_LONG_DIR = "claude-transcript-" + "x" * 180 + "-\u00e9\U0001f642"


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 30.0,
    what: str = "condition",
    interval: float = 0.2,
    on_fail: Optional[Callable[[], str]] = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{on_fail()}" if on_fail else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)


def wait_for_quietly(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> bool:
    """wait_for that gives up quietly: whether `predicate` held within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def answered(
    crash: Any, pane: str, text: str, landed: Callable[[], Any], each: float, last: float
) -> str:
    """What `landed()` names once the message `text`, already typed into
    `pane`, is in the tool's store: an Enter that came with the typed text
    can be taken as text, so Enter is pressed again after each `each` s
    (four times), then `last` s more with the screen in the failure."""
    for _ in range(4):
        try:
            return str(wait_for(landed, each, f"{text!r} answered"))
        except AssertionError:
            crash.keys(pane, "Enter")
    return str(wait_for(landed, last, f"{text!r} answered", on_fail=lambda: crash.capture(pane)))


def cli_version(tool: str) -> Optional[str]:
    """The installed version of a CLI (from its package.json), None if absent."""
    pkg = {
        "claude": "@anthropic-ai/claude-code",
        "opencode": "opencode-ai",
        "codex": "@openai/codex",
        "gemini": "@google/gemini-cli",
    }[tool]
    try:
        data = json.loads((CLI_PREFIX / "node_modules" / pkg / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return str(data.get("version") or "") or None


class RealEnv:
    """The test user, its tmux server and helpers to drive panes."""

    def __init__(self, user: str, home: Path, venv: Path, api: FakeModelAPI) -> None:
        self.user = user
        self.home = home
        self.venv = venv
        self.api = api
        pw = pwd.getpwnam(user)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.socket = f"ar-realcli-{secrets.token_hex(4)}"
        self.state_dir = home / ".ar-state"
        self.resurrect_dir = home / ".tmux" / "resurrect"
        self.agent = venv / "bin" / "assistant-resurrect"
        self._windows = 0
        self.last_layout: Optional[Path] = None

    # -- running things as the user -------------------------------------------
    def base_env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "USER": self.user,
            "LOGNAME": self.user,
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "TERM": "xterm-256color",
            "PATH": f"{CLI_BIN}:{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "TMUX_ASSISTANT_RESURRECT_DIR": str(self.state_dir),
        }

    def run(
        self,
        argv: list[str],
        env: Optional[dict[str, str]] = None,
        timeout: float = 60,
        check: bool = True,
        input: Optional[str] = None,
        cwd: Optional[Path] = None,
    ) -> subprocess.CompletedProcess[str]:
        full = self.base_env()
        full.update(env or {})
        cmd = [
            "runuser",
            "-u",
            self.user,
            "--",
            "env",
            "-i",
            *[f"{k}={v}" for k, v in full.items()],
            *argv,
        ]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            cwd=str(cwd or self.home),
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{argv} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    def tmux(self, *args: str, check: bool = True) -> str:
        return self.run(["tmux", "-L", self.socket, *args], check=check).stdout

    def write(self, rel: str, text: str, mode: int = 0o644) -> Path:
        """A file in the user's home, owned by the user."""
        path = self.home / rel
        parts = Path(rel).parts[:-1]
        d = self.home
        for part in parts:
            d = d / part
            if not d.exists():
                d.mkdir(mode=0o755)
                os.chown(d, self.uid, self.gid)
        path.write_text(text)
        path.chmod(mode)
        os.chown(path, self.uid, self.gid)
        return path

    def workdir(self, name: str) -> Path:
        d = self.home / "work" / name
        if not d.exists():
            self.write(f"work/{name}/.keep", "")
        return d

    # -- panes -------------------------------------------------------------------
    def window(self, cwd: Path, env: Optional[dict[str, str]] = None) -> str:
        """A new window running a login bash in `cwd`; returns its pane id."""
        self._windows += 1
        args = [
            "new-window",
            "-d",
            "-P",
            "-F",
            "#{pane_id}",
            "-c",
            str(cwd),
            "-n",
            f"t{self._windows}",
        ]
        for k, v in (env or {}).items():
            args += ["-e", f"{k}={v}"]
        pane = self.tmux(*args).strip()
        wait_for(lambda: self.capture(pane).rstrip().endswith("$"), 15, f"prompt in {pane}")
        return pane

    def kill(self, pane: str) -> None:
        self.tmux("kill-pane", "-t", pane, check=False)

    def send(self, pane: str, text: str, enter: bool = True) -> None:
        self.tmux("send-keys", "-t", pane, "-l", text)
        if enter:
            time.sleep(0.4)  # TUIs take pasted text and Enter apart
            self.tmux("send-keys", "-t", pane, "Enter")

    def keys(self, pane: str, *keys: str) -> None:
        self.tmux("send-keys", "-t", pane, *keys)

    def capture(self, pane: str) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-t", pane, check=False)

    def pane_pid(self, pane: str) -> int:
        return int(self.tmux("display-message", "-p", "-t", pane, "#{pane_pid}").strip())

    def descendants(self, pid: int) -> list[tuple[int, list[str]]]:
        """(pid, argv) of every process below `pid`, parents first."""
        children: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(name))
        out: list[tuple[int, list[str]]] = []
        queue = [pid]
        while queue:
            p = queue.pop(0)
            for c in sorted(children.get(p, [])):
                try:
                    argv = Path(f"/proc/{c}/cmdline").read_bytes().split(b"\0")[:-1]
                except OSError:
                    continue
                out.append((c, [a.decode(errors="replace") for a in argv]))
                queue.append(c)
        return out

    def tool_pid(self, pane: str, marker: str, timeout: float = 30) -> int:
        """PID of the first process below the pane whose argv mentions `marker`."""

        def find() -> Optional[int]:
            for pid, argv in self.descendants(self.pane_pid(pane)):
                if any(marker in a for a in argv):
                    return pid
            return None

        return int(
            wait_for(
                find, timeout, f"{marker} running in {pane}", on_fail=lambda: self.capture(pane)
            )
        )

    def wait_screen(self, pane: str, text: str, timeout: float = 30) -> str:
        return str(
            wait_for(
                lambda: text in self.capture(pane) and self.capture(pane),
                timeout,
                f"{text!r} on {pane}",
                on_fail=lambda: self.capture(pane),
            )
        )

    def wait_gone(self, pid: int, timeout: float = 20) -> None:
        wait_for(
            lambda: not Path(f"/proc/{pid}").exists() or "zombie" in self._status(pid),
            timeout,
            f"pid {pid} to exit",
        )

    @staticmethod
    def _status(pid: int) -> str:
        try:
            return Path(f"/proc/{pid}/status").read_text().split("\n")[2].lower()
        except (OSError, IndexError):
            return "zombie"

    # -- the agent ---------------------------------------------------------------
    def save(self) -> dict[str, dict[str, Any]]:
        """Run `assistant-resurrect save` as the user (like the post-save-layout
        hook does); returns the sidecar's sessions by pane id."""
        stamp = time.strftime("%Y%m%dT%H%M%S") + secrets.token_hex(2)
        layout = self.write(f".tmux/resurrect/tmux_resurrect_{stamp}.txt", f"state\t{stamp}\n")
        self.run([str(self.agent), "-L", self.socket, "save", str(layout)])
        self.last_layout = layout
        sidecar = layout.parent / f"assistant_resurrect_{stamp}.json"
        doc = json.loads(sidecar.read_text())
        return {s["pane_id"]: s for s in doc["sessions"]}

    def restore(self) -> subprocess.CompletedProcess[str]:
        """Run `assistant-resurrect restore` for the last saved layout, typing
        into every pane at once (no client is attached in tests)."""
        assert self.last_layout is not None
        self.tmux("set-option", "-g", "@assistant-resurrect-start", "immediate")
        return self.run(
            [str(self.agent), "-L", self.socket, "restore", "--layout", str(self.last_layout)]
        )

    def save_log(self) -> str:
        try:
            return (self.resurrect_dir / "assistant-save.log").read_text()
        except OSError:
            return ""

    def state_file(self, tool: str, pid: int) -> Optional[dict[str, Any]]:
        try:
            data = json.loads((self.state_dir / f"{tool}-{pid}.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # -- cleanup -------------------------------------------------------------------
    def user_pids(self) -> list[int]:
        out = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    if os.stat(f"/proc/{name}").st_uid == self.uid:
                        out.append(int(name))
                except OSError:
                    continue
        return out

    def close(self) -> None:
        self.run(["tmux", "-L", self.socket, "kill-server"], check=False, timeout=15)
        deadline = time.monotonic() + 10
        while True:  # every process this test user still has was started by us
            pids = self.user_pids()
            if not pids or time.monotonic() > deadline:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)


def _skip_reason() -> Optional[str]:
    if os.geteuid() != 0:
        return "real-CLI tests create a throwaway user: run them as root"
    for tool in ("runuser", "useradd", "userdel", "tmux"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/usr/bin/python3").exists():
        return "/usr/bin/python3 is missing (the test user's virtualenv is made from it)"
    if not any((CLI_BIN / t).exists() for t in assistants.names()):
        return f"no assistant CLI under {CLI_BIN}: run scripts/setup.d/30-assistant-clis.sh"
    return None


def require(tool: str) -> None:
    if not (CLI_BIN / tool).exists():
        pytest.skip(f"{tool} is not installed under {CLI_BIN}")


def _make_venv(tmp: Path) -> Path:
    """A venv of the agent from /usr/bin/python3 with the role's entry point,
    world-readable."""
    venv = tmp / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True, timeout=120)
    src = tmp / "runtime-src"  # build from a copy: pip must not write into the repo
    shutil.copytree(
        ROOT / "runtime", src, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__")
    )
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, str(src)], check=True, timeout=300)
    # the entry point as the role installs it (Python -I -S, not pip's script)
    launcher = [str(venv / "bin" / "python"), "-I", "-m", "assistant_resurrect.launcher"]
    subprocess.run(launcher, check=True, timeout=60, stdout=subprocess.DEVNULL)
    subprocess.run(["chmod", "-R", "a+rX", str(tmp)], check=True)
    return venv


def _prepare_home(env: RealEnv) -> None:
    h = env.home
    env.write(
        ".bashrc",
        "PS1='$ '\nHISTFILE=/dev/null\n"
        f"export PATH={CLI_BIN}:{env.venv / 'bin'}:$PATH\n"
        f"export TMUX_ASSISTANT_RESURRECT_DIR={env.state_dir}\n"
        "export DISABLE_AUTOUPDATER=1\n"
        # OpenCode: no network look-ups that would stall it offline.
        "export OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_AUTOUPDATE=1"
        " OPENCODE_DISABLE_LSP_DOWNLOAD=1 OPENCODE_DISABLE_SHARE=1\n",
    )
    env.write(".bash_profile", ". ~/.bashrc\n")
    env.write(".tmux/resurrect/.keep", "")
    # Claude: first-run screens skipped, the API key approved, our hooks.
    trusted = {
        str(h / "work" / n): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}
        for n in ("claude-hook", "claude-args", CLAUDE_LONG_DIR)
    }
    env.write(
        ".claude.json",
        json.dumps(
            {
                "hasCompletedOnboarding": True,
                "projects": trusted,
                "customApiKeyResponses": {"approved": [CLAUDE_KEY[-20:]], "rejected": []},
            }
        ),
    )
    hook = f'test -n "${NO_HOOK_ENV}" || {env.agent} hook claude-session-'
    env.write(
        ".claude/settings.json",
        json.dumps(
            {
                "hooks": {
                    "SessionStart": [
                        {"matcher": "", "hooks": [{"type": "command", "command": hook + "start"}]}
                    ],
                    "SessionEnd": [
                        {"matcher": "", "hooks": [{"type": "command", "command": hook + "end"}]}
                    ],
                }
            }
        ),
    )
    # OpenCode: its Anthropic provider pointed at the fake API (answers come
    # back at once), and our plugin where 1.18 loads plugins from.
    env.write(
        ".config/opencode/opencode.json",
        json.dumps(
            {
                "$schema": "https://opencode.ai/config.json",
                "model": "anthropic/claude-sonnet-4-5",
                "provider": {
                    "anthropic": {"options": {"baseURL": f"{env.api.url}/v1", "apiKey": CLAUDE_KEY}}
                },
            }
        ),
    )
    if PLUGIN.exists():
        env.write(".config/opencode/plugins/assistant-resurrect.js", PLUGIN.read_text())
    # Gemini CLI: API-key auth chosen, the test folders trusted.
    ghook = f'test -n "${NO_HOOK_ENV}" || {env.agent} hook gemini-session-'
    env.write(
        ".gemini/settings.json",
        json.dumps(
            {
                "security": {"auth": {"selectedType": "gemini-api-key"}},
                "hooks": {
                    "SessionStart": [
                        {"matcher": "", "hooks": [{"type": "command", "command": ghook + "start"}]}
                    ],
                    "SessionEnd": [
                        {"matcher": "", "hooks": [{"type": "command", "command": ghook + "end"}]}
                    ],
                },
            }
        ),
    )
    env.write(
        ".gemini/trustedFolders.json",
        json.dumps({str(h / "work"): "TRUST_PARENT", str(h / "work" / "gemini"): "TRUST_FOLDER"}),
    )
    # OpenCode's first run installs its plugin SDK (npm) and creates its
    # database: do it once here, not inside the first test's time limit.
    if (CLI_BIN / "opencode").exists():
        env.run(
            ["opencode", "session", "list"],
            check=False,
            timeout=180,
            env={"OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1"},
        )
    # Codex: a dummy key (it never reaches a server; threads are created anyway).
    if (CLI_BIN / "codex").exists():
        env.run(["codex", "login", "--with-api-key"], input="sk-realcli-dummy", check=False)


@pytest.fixture(scope="session")
def real() -> Iterator[RealEnv]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    user = f"arrc{secrets.token_hex(3)}"
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", user], check=True, timeout=30)
    tmp = Path(tempfile.mkdtemp(prefix="ar-realcli-", dir="/var/tmp"))
    tmp.chmod(0o755)
    api = FakeModelAPI().start()
    env: Optional[RealEnv] = None
    try:
        # The agent's venv is built while the CLIs do their first-run work.
        with ThreadPoolExecutor(max_workers=1) as pool:
            building = pool.submit(_make_venv, tmp)
            env = RealEnv(user, Path(pwd.getpwnam(user).pw_dir), tmp / "venv", api)
            _prepare_home(env)
            assert building.result() == env.venv
        env.tmux("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "200", "-y", "50")
        yield env
    finally:
        if env is not None:
            env.close()
        api.stop()
        subprocess.run(["userdel", "-r", "-f", user], check=False, timeout=30, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def crash(real: RealEnv, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A tmux server with the real tmux-resurrect to crash and restore
    (tests/realcli/crash.py)."""
    from tests.realcli.crash import Crash, resurrect_plugin

    c = Crash(real, resurrect_plugin(real), request.node.name)
    try:
        yield c
    finally:
        c.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The switch suite's figures (tests/realcli/crash.py): crash cases and the
    measured change-to-saved delay."""
    from tests.realcli import crash

    line = crash.delay_summary()
    if line:
        terminalreporter.write_line(line)


def sessions_holding(db: Path, cwd: Path, text: str) -> list[str]:
    """The top-level sessions of `cwd` in an OpenCode-layout database (OpenCode,
    Kilo) whose stored messages hold `text` (their parts are in `part`; newer
    builds also keep `session_message`; a table this build lacks is passed over)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
    found: list[str] = []
    try:
        for table in ("part", "session_message"):
            try:
                rows = conn.execute(
                    f"SELECT DISTINCT t.session_id FROM {table} t JOIN session s "
                    "ON s.id = t.session_id WHERE s.directory = ? AND s.parent_id IS NULL "
                    "AND instr(t.data, ?) > 0",
                    (str(cwd), text),
                ).fetchall()
            except sqlite3.Error:
                continue
            found += [str(r[0]) for r in rows if str(r[0]) not in found]
    finally:
        conn.close()
    return found
