"""Logs stay bounded and never break the command that writes them."""

from __future__ import annotations

from pathlib import Path

from assistant_resurrect import log as logmod


def test_log_rotates_past_the_bound(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(logmod, "MAX_BYTES", 100)
    path = tmp_path / "assistant-save.log"
    path.write_text("x" * 150)
    log = logmod.Log(path)
    log("first line after rotation")
    assert (tmp_path / "assistant-save.log.1").read_text() == "x" * 150
    assert path.read_text().endswith("first line after rotation\n")
    assert (path.stat().st_mode & 0o777) == 0o600


def test_unwritable_log_is_ignored(tmp_path: Path) -> None:
    log = logmod.Log(tmp_path / "missing-dir" / "x.log")
    log("nothing breaks")  # must not raise
    assert not (tmp_path / "missing-dir").exists()
