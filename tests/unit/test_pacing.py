"""The stagger (pacing.Pacer) and its settings: a start in one process makes
the next process wait; a clock set back never makes a wait endless; a state
file that is corrupt, hostile or missing is no history, never an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant_resurrect import pacing
from assistant_resurrect.pacing import Pacer
from assistant_resurrect.settings import (
    DEFAULT_CHECK,
    DEFAULT_STAGGER,
    OPTIONS,
    START_MODES,
    Settings,
)
from tests.helpers import RUNTIME_SRC

STAGGER = 300.0  # far above any delay between two lines of a test


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("TMUX_ASSISTANT_RESURRECT_DIR", str(path))
    return path


def pacer(seconds: float = STAGGER) -> Pacer:
    return Pacer.of(Settings({"@assistant-resurrect-stagger": f"{seconds:g}"}))


def start_in_another_process(tool: str, seconds: float = STAGGER) -> None:
    """A restore (or `restore --pending`) run that starts one `tool` session."""
    code = (
        "from assistant_resurrect.pacing import Pacer\n"
        "from assistant_resurrect.settings import Settings\n"
        f"Pacer.of(Settings({{'@assistant-resurrect-stagger': '{seconds:g}'}})).started({tool!r})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(RUNTIME_SRC)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


def stored(state: Path) -> dict[str, float]:
    doc = json.loads((state / pacing.FILE).read_text())
    return dict(doc["last_start"])


def test_a_start_in_another_process_makes_the_next_wait(state: Path) -> None:
    first = pacer()
    assert first.wait_for("claude") == 0.0
    start_in_another_process("claude")
    second = pacer()  # another run, after the first one's start
    wait = second.wait_for("claude")
    assert 0.0 < wait <= STAGGER
    assert second.wait_for("codex") == 0.0  # per tool
    assert first.wait_for("claude") > 0.0  # also a pacer made before that start
    assert (state / pacing.FILE).stat().st_mode & 0o777 == 0o600


def test_a_start_in_this_process_makes_the_next_wait(state: Path) -> None:
    p = pacer()
    p.started("gemini")
    assert 0.0 < p.wait_for("gemini") <= STAGGER


def test_no_wait_once_the_stagger_has_passed(state: Path) -> None:
    state.mkdir(mode=0o700)
    doc = {"version": 1, "last_start": {"claude": time.time() - 2 * STAGGER}}
    (state / pacing.FILE).write_text(json.dumps(doc))
    assert pacer().wait_for("claude") == 0.0


def test_a_start_in_the_future_counts_as_now(state: Path) -> None:
    """A clock set back an hour: the stored start is an hour ahead. The wait is
    one stagger at most, and the start is stored as now, so the waits that
    follow get shorter instead of staying at the full stagger for an hour."""
    state.mkdir(mode=0o700)
    doc = {"version": 1, "last_start": {"claude": time.time() + 3600}}
    (state / pacing.FILE).write_text(json.dumps(doc))
    wait = pacer().wait_for("claude")
    assert 0.0 < wait <= STAGGER
    assert stored(state)["claude"] <= time.time()


def test_zero_turns_the_stagger_off(state: Path) -> None:
    p = pacer(0)
    p.started("claude")
    assert p.wait_for("claude") == 0.0
    assert not state.exists()  # nothing written either


CORRUPT = {
    "garbage": b"\x00\xff{not json",
    "truncated": b'{"version": 1, "last_start": {"claude": 17',
    "a list": b"[1, 2, 3]",
    "starts not a mapping": b'{"version": 1, "last_start": [1796150049.9]}',
    "a string time": b'{"version": 1, "last_start": {"claude": "1796150049.9"}}',
    "a boolean time": b'{"version": 1, "last_start": {"claude": true}}',
    "NaN": b'{"version": 1, "last_start": {"claude": NaN}}',
    "Infinity": b'{"version": 1, "last_start": {"claude": Infinity}}',
    "an integer beyond floats": b'{"version": 1, "last_start": {"claude": 1' + b"0" * 400 + b"}}",
    "huge": b'{"version": 1, "pad": "' + b"x" * (pacing.MAX_BYTES + 10) + b'"}',
    "empty": b"",
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=list(CORRUPT))
def test_a_corrupt_file_is_no_history(state: Path, content: bytes) -> None:
    state.mkdir(mode=0o700)
    (state / pacing.FILE).write_bytes(content)
    p = pacer()
    assert p.wait_for("claude") == 0.0
    p.started("claude")  # replaced by a good file
    assert 0.0 < pacer().wait_for("claude") <= STAGGER
    assert set(stored(state)) == {"claude"}


def test_a_fifo_never_blocks(state: Path) -> None:
    state.mkdir(mode=0o700)
    os.mkfifo(state / pacing.FILE)  # an open for reading would wait for a writer
    p = pacer()
    assert p.wait_for("claude") == 0.0
    p.started("claude")
    assert (state / pacing.FILE).is_file()
    assert 0.0 < pacer().wait_for("claude") <= STAGGER


def test_a_symlink_is_not_followed(state: Path, tmp_path: Path) -> None:
    """A stagger file replaced by a symlink is neither read nor written through."""
    state.mkdir(mode=0o700)
    target = tmp_path / "precious.json"
    doc = json.dumps({"version": 1, "last_start": {"claude": time.time()}})
    target.write_text(doc)
    (state / pacing.FILE).symlink_to(target)
    p = pacer()
    assert p.wait_for("claude") == 0.0
    p.started("codex")
    assert target.read_text() == doc
    assert not (state / pacing.FILE).is_symlink()


def test_an_unusable_state_dir_paces_this_run_only(state: Path) -> None:
    state.write_text("not a directory")
    lines: list[str] = []
    p = Pacer.of(Settings({"@assistant-resurrect-stagger": f"{STAGGER:g}"}), log=lines.append)
    assert p.wait_for("claude") == 0.0
    p.started("claude")
    p.started("claude")
    assert 0.0 < p.wait_for("claude") <= STAGGER
    assert len(lines) == 1 and "stagger kept in this run only" in lines[0], lines
    assert state.read_text() == "not a directory"


def test_a_directory_in_the_files_place(state: Path) -> None:
    (state / pacing.FILE).mkdir(parents=True)
    state.chmod(0o700)
    lines: list[str] = []
    p = Pacer.of(Settings({"@assistant-resurrect-stagger": f"{STAGGER:g}"}), log=lines.append)
    assert p.wait_for("claude") == 0.0
    p.started("claude")
    assert 0.0 < p.wait_for("claude") <= STAGGER  # this process still paces itself
    assert len(lines) == 1 and "cannot write" in lines[0], lines


# The settings.


def test_the_options_are_read_with_the_others() -> None:
    assert "@assistant-resurrect-stagger" in OPTIONS
    assert "@assistant-resurrect-check" in OPTIONS
    assert "prompt" in START_MODES


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", DEFAULT_STAGGER), ("0", 0.0), ("0.5", 0.5), (" 3 ", 3.0), ("2s", 2.0), ("10 s", 10.0)],
)
def test_good_values(value: str, expected: float) -> None:
    s = Settings({"@assistant-resurrect-stagger": value, "@assistant-resurrect-check": value})
    assert s.stagger == expected
    assert s.check_seconds == (DEFAULT_CHECK if value == "" else expected)
    assert s.timing_problems() == []


@pytest.mark.parametrize("value", ["-1", "abc", "nan", "inf", "1e9", "601", "2m", "0x10", "½"])
def test_bad_values_give_the_default_and_one_line_each(value: str) -> None:
    s = Settings({"@assistant-resurrect-stagger": value, "@assistant-resurrect-check": value})
    assert s.stagger == DEFAULT_STAGGER
    assert s.check_seconds == DEFAULT_CHECK
    lines: list[str] = []
    s.check_timings(lines.append)
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"@assistant-resurrect-stagger is {value!r}")
    assert lines[0].endswith(f"using {DEFAULT_STAGGER:g}")
    assert lines[1].startswith(f"@assistant-resurrect-check is {value!r}")


def test_prompt_is_a_start_mode() -> None:
    lines: list[str] = []
    assert Settings({"@assistant-resurrect-start": "prompt"}).start_mode(lines.append) == "prompt"
    assert Settings({"@assistant-resurrect-start": "promptly"}).start_mode(lines.append) == (
        "attached"
    )
    assert len(lines) == 1 and "prompt" in lines[0]
