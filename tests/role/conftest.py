"""Fixtures for the role tests: ansible-playbook against throwaway homes.

Every run is `ansible-playbook -c local` on this machine. Nothing touches
root's real home: ansible-playbook runs with HOME, ANSIBLE_HOME and its temp
folders inside one session folder, TPM/resurrect/continuum come from local
bare repositories (the real plugins at their pinned versions when
../shared/mirrors has their bundles, else stand-ins: tests/mirrors.py), the
agent from a snapshot of runtime/ and its dependencies from a local wheel
folder (pip --no-index --find-links), the documented offline path.

Scenarios run as their own users (created per session) or as root with
HOME pointing at a scratch folder (the dotfiles-bootstrap path). Each
scenario is one chain of playbook runs started once per session, in the
background, so that the chains share the two cores; tests then assert on
what each chain recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "assistant_resurrect"
PLAYBOOKS = ROOT / "playbooks"
VENV_BIN = Path(os.environ.get("AR_DEV_VENV", ROOT / ".venv")) / "bin"
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
WHEEL_CACHE = Path("/var/tmp/assistant-resurrect-role-wheels")
RECAP = re.compile(r"^\S+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)

pytestmark = pytest.mark.role

# Scenario chains, registered by the test modules when they are imported:
# all of them start together at the first request, so they share the cores.
CHAINS: dict[str, Callable[..., Any]] = {}


def register_chain(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    CHAINS[name] = func
    return func


def _need(condition: bool, why: str) -> None:
    if not condition:
        pytest.skip(why)


@dataclass
class Run:
    """One ansible-playbook run."""

    args: list[str]
    rc: int
    output: str
    seconds: float
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0

    def __post_init__(self) -> None:
        match = RECAP.search(self.output)
        if match:
            self.ok, self.changed, self.unreachable, self.failed = map(int, match.groups())

    def explain(self) -> str:
        return f"ansible-playbook {' '.join(self.args)} -> rc {self.rc}\n{self.output[-6000:]}"

    def changed_tasks(self) -> list[str]:
        """Names of the tasks that reported a change (for failure messages)."""
        names, current = [], None
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                current = line
            elif line.startswith("changed:") and current:
                names.append(current)
        return names


@dataclass
class Session:
    base: Path
    repos: dict[str, Path]
    tags: dict[str, str]  # plugin -> commit the role clones
    versions: dict[str, str]  # plugin -> tag the role clones
    source: Path
    wheels: Optional[Path]
    env: dict[str, str]
    executor: ThreadPoolExecutor
    users: list[str] = field(default_factory=list)
    tmux_pids: list[int] = field(default_factory=list)
    chains: dict[str, Future] = field(default_factory=dict)
    timings: list[tuple] = field(default_factory=list)

    def common_vars(self) -> dict[str, Any]:
        v: dict[str, Any] = {
            "ansible_python_interpreter": "/usr/bin/python3",
            "assistant_resurrect_python": "/usr/bin/python3",
            "assistant_resurrect_source": str(self.source),
            # The real plugins (tests/mirrors.py), else stand-ins tagged alike.
            "assistant_resurrect_tpm_repo": f"file://{self.repos['tpm']}",
            "assistant_resurrect_tpm_version": self.versions["tpm"],
            "assistant_resurrect_resurrect_repo": f"file://{self.repos['tmux-resurrect']}",
            "assistant_resurrect_resurrect_version": self.versions["tmux-resurrect"],
            "assistant_resurrect_continuum_repo": f"file://{self.repos['tmux-continuum']}",
            "assistant_resurrect_continuum_version": self.versions["tmux-continuum"],
        }
        if self.wheels:
            v["assistant_resurrect_pip_extra_args"] = f"--no-index --find-links {self.wheels}"
        return v

    def playbook(
        self,
        name: str,
        extra: dict[str, Any],
        *,
        check: bool = False,
        env: Optional[dict[str, str]] = None,
        inventory: str = "localhost,",
    ) -> Run:
        merged = {**self.common_vars(), **extra}
        vars_file = self.base / f"vars-{uuid.uuid4().hex[:8]}.json"
        vars_file.write_text(json.dumps(merged))
        args = ["-i", inventory, "-c", "local", str(PLAYBOOKS / name), "-e", f"@{vars_file}"]
        if check:
            args += ["--check", "--diff"]
        start = time.monotonic()
        proc = subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), *args],
            env={**self.env, **(env or {})},
            cwd=str(ROOT),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        run = Run(args, proc.returncode, proc.stdout, time.monotonic() - start)
        self.timings.append((name, check, round(run.seconds, 1), run.changed))
        return run

    def new_user(self, tag: str) -> tuple[str, Path]:
        """An ordinary user with a real home inside the session folder."""
        name = f"arr{tag}{uuid.uuid4().hex[:6]}"
        home = self.base / f"home-{tag}"
        subprocess.run(
            ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", name],
            check=True,
        )
        self.users.append(name)
        return name, home

    def repos_for(self, user: str) -> dict[str, Any]:
        """Copies of the plugin repositories owned by ``user`` (git refuses
        to serve a repository another user owns) as role variables."""
        out: dict[str, Any] = {}
        for name, bare in self.repos.items():
            copy = self.base / f"repos-{user}" / bare.name
            shutil.copytree(bare, copy)
            subprocess.run(["chown", "-R", f"{user}:", str(copy.parent)], check=True)
            key = {"tpm": "tpm", "tmux-resurrect": "resurrect", "tmux-continuum": "continuum"}[name]
            out[f"assistant_resurrect_{key}_repo"] = f"file://{copy}"
        return out

    def as_user(self, user: str, *cmd: str, **kw: Any) -> subprocess.CompletedProcess:
        return subprocess.run(
            [RUNUSER, "-u", user, "--", *cmd],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "HOME": pwd.getpwnam(user).pw_dir, "LANG": "C.UTF-8"},
            **kw,
        )

    def start_tmux(self, user: str) -> Path:
        """A tmux server of ``user`` on its default socket, no configuration."""
        uid = pwd.getpwnam(user).pw_uid
        self.as_user(user, "tmux", "-f", "/dev/null", "new-session", "-d", "-s", "t", check=True)
        sock = Path(f"/tmp/tmux-{uid}/default")
        pid = self.as_user(user, "tmux", "-S", str(sock), "display-message", "-p", "#{pid}")
        self.tmux_pids.append(int(pid.stdout.strip()))
        return sock

    def tmux_option(self, user: str, sock: Path, option: str) -> str:
        out = self.as_user(user, "tmux", "-S", str(sock), "show-options", "-gqv", option)
        return out.stdout.strip()

    def chain(self, name: str) -> Any:
        """Wait for a scenario chain (starting every registered one first)."""
        for other, func in CHAINS.items():
            if other not in self.chains:
                self.chains[other] = self.executor.submit(func, self)
        return self.chains[name].result()


def _wheelhouse() -> Optional[Path]:
    """psutil and setuptools wheels for pip --no-index (downloaded once per machine)."""
    marker = WHEEL_CACHE / ".complete"
    if marker.exists():
        return WHEEL_CACHE
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            "/usr/bin/python3" if not (VENV_BIN / "pip").exists() else str(VENV_BIN / "pip"),
            "download",
            "--quiet",
            "--dest",
            str(WHEEL_CACHE),
            "--only-binary=:all:",
            "psutil>=5.9",
            "setuptools>=61",
            "wheel",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        return None  # fall back to the index
    marker.touch()
    return WHEEL_CACHE


@pytest.fixture(scope="session")
def role_session(plugin_mirrors):
    _need(os.geteuid() == 0, "role tests run as root (they create users)")
    for tool in ("useradd", "userdel", "runuser", "sudo", "tmux", "git"):
        _need(shutil.which(tool) is not None, f"{tool} is missing")
    _need((VENV_BIN / "ansible-playbook").exists(), "the dev venv has no ansible-playbook")

    base = Path(tempfile.mkdtemp(prefix="arrole-", dir="/tmp"))
    base.chmod(0o755)
    # Plugins cloned from bare repositories owned by root (repos_for copies them
    # for other users): the real ones when ../shared/mirrors has them.
    plugins = plugin_mirrors.copy_for(base / "repos")
    source = base / "runtime-src"
    shutil.copytree(
        ROOT / "runtime",
        source,
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "*.pyc"),
    )
    ctl_home = base / "controller-home"
    ctl_home.mkdir()
    env = {
        "PATH": f"{VENV_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(ctl_home),
        "LANG": "C.UTF-8",
        "ANSIBLE_HOME": str(ctl_home / ".ansible"),
        "ANSIBLE_LOCAL_TEMP": str(base / "ansible-local"),
        "ANSIBLE_REMOTE_TMP": str(base / "ansible-remote"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        "ANSIBLE_CONFIG": str(base / "no-ansible.cfg"),
        "TMUX_TMPDIR": str(base / "root-tmux"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "ANSIBLE_PIPELINING": "1",
    }
    (base / "root-tmux").mkdir()
    # Modules running as a test user make their temp folders here too.
    (base / "ansible-remote").mkdir()
    (base / "ansible-remote").chmod(0o1777)
    session = Session(
        base=base,
        repos=plugins.repos,
        tags=plugins.heads,
        versions=plugins.versions,
        source=source,
        wheels=_wheelhouse(),
        env=env,
        executor=ThreadPoolExecutor(max_workers=3),
    )
    try:
        yield session
    finally:
        session.executor.shutdown(wait=True)
        for name, check, seconds, changed in session.timings:
            print(f"role run {name}{' --check' if check else ''}: {seconds}s changed={changed}")
        for pid in session.tmux_pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 15)
        for user in session.users:
            subprocess.run(["userdel", user], check=False)
        shutil.rmtree(base, ignore_errors=True)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def owner(path: Path) -> str:
    return pwd.getpwuid(path.lstat().st_uid).pw_name
