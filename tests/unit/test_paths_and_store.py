"""Resurrect dir resolution (as tmux-resurrect does it), state dir path order,
sidecar validation and the legacy format."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from assistant_resurrect import paths, store
from assistant_resurrect.errors import SidecarError


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return tmp_path


def test_resurrect_dir_option_expands_like_resurrect(fake_home: Path) -> None:
    got = paths.resurrect_dir("~/state/$HOSTNAME/$HOME")
    assert got == Path(f"{fake_home}/state/{socket.gethostname()}/{fake_home}")


def test_resurrect_dir_default_order(fake_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Neither folder yet: the one the pinned tmux-resurrect v4.0.0 creates at its
    # first save (its helpers.sh has no XDG fallback; later versions do).
    assert paths.resurrect_dir(None) == fake_home / ".tmux/resurrect"
    # A later tmux-resurrect already saved under XDG_DATA_HOME: follow it.
    (fake_home / ".local/share/tmux/resurrect").mkdir(parents=True)
    assert paths.resurrect_dir(None) == fake_home / ".local/share/tmux/resurrect"
    monkeypatch.setenv("XDG_DATA_HOME", str(fake_home / "xdg"))
    assert paths.resurrect_dir("") == fake_home / ".tmux/resurrect"
    (fake_home / "xdg/tmux/resurrect").mkdir(parents=True)
    assert paths.resurrect_dir("") == fake_home / "xdg/tmux/resurrect"
    (fake_home / ".tmux/resurrect").mkdir(parents=True)
    assert paths.resurrect_dir(None) == fake_home / ".tmux/resurrect"


def test_state_dir_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    monkeypatch.setenv("TMUX_ASSISTANT_RESURRECT_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    assert paths.state_dir_path() == tmp_path / "explicit"
    monkeypatch.delenv("TMUX_ASSISTANT_RESURRECT_DIR")
    assert paths.state_dir_path() == tmp_path / "run/assistant-resurrect"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert paths.state_dir_path() == tmp_path / f"tmp/assistant-resurrect-{os.getuid()}"
    monkeypatch.delenv("TMPDIR")
    assert paths.state_dir_path() == Path(f"/tmp/assistant-resurrect-{os.getuid()}")


def test_state_dir_created_private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TMUX_ASSISTANT_RESURRECT_DIR", str(tmp_path / "s"))
    d = paths.state_dir(create=True)
    assert d.is_dir() and (d.stat().st_mode & 0o777) == 0o700


def test_sidecar_names() -> None:
    layout = Path("/r/tmux_resurrect_20261125T120000.txt")
    assert store.sidecar_for(layout) == Path("/r/assistant_resurrect_20261125T120000.json")
    assert store.layout_for(store.sidecar_for(layout)) == layout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ('{"version": 1, "sess', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"version": 2, "sessions": []}', "newer than this agent reads"),
        ('{"version": "1", "sessions": []}', 'no valid "version"'),
        ('{"version": 1, "sessions": {}}', 'no "sessions" list'),
    ],
)
def test_bad_sidecars_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "assistant_resurrect_x.json"
    path.write_text(content)
    with pytest.raises(SidecarError) as exc:
        store.read(path)
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_legacy_format_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "assistant-sessions.json"
    path.write_text(
        json.dumps(
            {
                "timestamp": "t",
                "sessions": [
                    {
                        "pane": "a:1.0",
                        "tool": "opencode",
                        "session_id": "ses_abcdefgh12",
                        "cwd": "/x",
                        "pid": "77",
                        "model": "",
                        "cli_args": "--model 'a b' -c",
                        "env": {"tmux_pane": "%9", "shell": "/bin/zsh", "NODE_ENV": "dev"},
                    },
                    {
                        "pane": "a:2.0",
                        "tool": "claude",
                        "session_id": "",
                        "cli_args": "'unterminated",
                    },
                ],
            }
        )
    )
    doc = store.read(path)
    assert doc["version"] == 1 and doc["legacy"] is True
    first, second = doc["sessions"]
    assert first["cli_args"] == ["--model", "a b", "-c"]
    assert first["env"] == {"NODE_ENV": "dev"}
    assert first["pid"] == 77 and first["pane_id"] == "%9" and first["model"] is None
    assert second["session_id"] is None and second["cli_args"] is None


def test_sidecar_bytes_are_one_line_per_session_and_read_back_the_same() -> None:
    """store.encode writes with json's C encoder: one session per line, ASCII,
    and json.loads gives the document back unchanged."""
    from assistant_resurrect import store

    sessions = [
        {"pane": f"s:{i}.0", "tool": "claude", "session_id": f"id-{i}", "args": ["--x", "é\u2028"]}
        for i in range(3)
    ]
    doc = {"version": 3, "layout": "tmux_resurrect_x.txt", "sessions": sessions, "empty": []}
    raw = store.encode(doc)
    raw.decode("ascii")  # ASCII only
    assert json.loads(raw) == doc
    lines = raw.decode().splitlines()
    assert sum(1 for line in lines if '"pane": ' in line) == 3  # one line each
    # { } , version, layout, "sessions": [ , 3 sessions, ], "empty": []
    assert len(lines) == 2 + 2 + 1 + 3 + 1 + 1
