"""tests/mirrors.py: bare repositories of the real plugins from the bundles,
else stand-ins tagged alike (what the role tests clone)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import mirrors

pytestmark = pytest.mark.role


def _clone(url: str, version: str, dest: Path) -> str:
    subprocess.run(
        [
            "git",
            "-c",
            "advice.detachedHead=false",
            "clone",
            "-q",
            "--branch",
            version,
            url,
            str(dest),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return subprocess.run(
        ["git", "-C", str(dest), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_pinned_versions_are_the_role_defaults():
    assert mirrors.pinned_versions() == {
        "tpm": "v3.1.0",
        "tmux-resurrect": "v4.0.0",
        "tmux-continuum": "v3.1.0",
    }


def test_without_bundles_stand_ins_at_the_pinned_tags(tmp_path, monkeypatch):
    monkeypatch.setattr(mirrors, "BUNDLES", tmp_path / "no-such-mirrors")
    repos = mirrors.make(tmp_path / "m")
    assert not repos.real
    assert "no plugin bundles" in repos.why
    for name, (infix, entry) in mirrors.PLUGINS.items():
        version = repos.versions[name]
        head = _clone(repos.urls()[name], version, tmp_path / "c" / name)
        assert head == repos.heads[name]
        assert (tmp_path / "c" / name / entry).is_file()
        assert repos.role_vars()[f"assistant_resurrect_{infix}_version"] == version
    assert sorted(repos.role_vars(versions=False)) == [
        "assistant_resurrect_continuum_repo",
        "assistant_resurrect_resurrect_repo",
        "assistant_resurrect_tpm_repo",
    ]


def test_with_bundles_the_real_plugins(tmp_path):
    if not mirrors.bundles_present():
        pytest.skip(f"no plugin bundles in {mirrors.BUNDLES}")
    repos = mirrors.make(tmp_path / "m")
    assert repos.real
    for name, bare in repos.repos.items():
        assert bare == tmp_path / "m" / f"{name}.git"
        head = _clone(repos.urls()[name], repos.versions[name], tmp_path / "c" / name)
        assert head == repos.heads[name]
    # The real ones: tmux-resurrect's save script, TPM's submodule declared.
    assert (tmp_path / "c/tmux-resurrect/scripts/save.sh").is_file()
    assert "lib/tmux-test" in (tmp_path / "c/tpm/.gitmodules").read_text()
    # copy_for keeps everything but the folder.
    copy = repos.copy_for(tmp_path / "copy")
    assert copy.heads == repos.heads and copy.real
    assert copy.repos["tpm"] == tmp_path / "copy" / "tpm.git"
