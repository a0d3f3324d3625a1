"""Fixtures and hooks: a throwaway HOME, stand-in assistants, the agent runner,
the tmux version matrix (AR_TMUX) and AR_STRICT.

tmux servers come from libtmux's pytest plugin (`server`: a private socket per
test, killed afterwards). Helpers are in tests/helpers.py.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import mirrors
from tests.helpers import STAND_IN, TOOLS, Agent
from tests.tmuxinfo import tmux_version

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`host_only` tests run once, on the host's tmux with the default process
    backend: the tmux-matrix (AR_TMUX) and psutil (ASSISTANT_RESURRECT_PROCS)
    runs leave them out (deselected, so AR_STRICT counts no skip)."""
    if not (os.environ.get("AR_TMUX") or os.environ.get("ASSISTANT_RESURRECT_PROCS")):
        return
    kept = [i for i in items if i.get_closest_marker("host_only") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


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
    for line in _PLUGIN_NOTES:
        terminalreporter.write_line(line)


_PLUGIN_NOTES: list[str] = []


@pytest.fixture(scope="session")
def plugin_mirrors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[mirrors.PluginRepos]:
    """Bare repositories of TPM, tmux-resurrect and tmux-continuum (tests/mirrors.py):
    the real plugins from ../shared/mirrors/*.bundle when they are there, else
    hand-made stand-ins, with a warning and a line in the terminal summary."""
    dest = tmp_path_factory.mktemp("plugin-mirrors")
    dest.chmod(0o755)
    repos = mirrors.make(dest)
    if repos.real:
        _PLUGIN_NOTES.append(
            "tmux plugins: the real ones, from "
            + ", ".join(f"{name} {v}" for name, v in repos.versions.items())
        )
    else:
        note = f"tmux plugins: FELL BACK to hand-made stand-ins ({repos.why})"
        _PLUGIN_NOTES.append(note)
        warnings.warn(note, stacklevel=1)
    yield repos
    shutil.rmtree(dest, ignore_errors=True)


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
    # Servers started now read this: no stagger between two starts of one tool
    # and no exit check after a restore, so that the suites do not wait 2 s and
    # 5 s per restore. The tests of those two options set them themselves
    # (tests/hostile/test_stagger.py, test_exit_report.py). No event saves
    # either (a sentinel saving behind a test's back): tests/integration/
    # test_event_save.py turns them on.
    (h / ".tmux.conf").write_text(
        "set -g @assistant-resurrect-stagger 0\nset -g @assistant-resurrect-check 0\n"
        "set -g @assistant-resurrect-event-save off\n"
    )
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


@pytest.fixture
def agent(server: Any, home: Path) -> Agent:
    return Agent(socket_name=server.socket_name, home=home)
