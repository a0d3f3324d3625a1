"""Git repositories of TPM, tmux-resurrect and tmux-continuum for the tests.

When the real plugins' bundles are there (``<repo's parent>/shared/mirrors/
NAME.bundle``, see ../shared/README.md section 6), each becomes a bare
repository (``git clone --bare BUNDLE DIR/NAME.git``), as a fleet's internal
mirror would be, and the role clones the real plugins at their pinned
versions. Else hand-made stand-ins are made (one executable entry script
each, committed and tagged with the pinned version), and ``real`` is False:
the role tests still run, the tests that need the real plugins skip, and the
fixture warns that it fell back.

Nothing here copies a plugin's files into this repository: the bare
repositories are made in a temporary folder per test session.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
BUNDLES = Path(os.environ.get("AR_SHARED_DIR", str(ROOT.parent / "shared"))) / "mirrors"
DEFAULTS = ROOT / "roles" / "assistant_resurrect" / "defaults" / "main.yml"
# Plugin name -> (role variable infix, entry script of the stand-in).
PLUGINS = {
    "tpm": ("tpm", "tpm"),
    "tmux-resurrect": ("resurrect", "resurrect.tmux"),
    "tmux-continuum": ("continuum", "continuum.tmux"),
}


def pinned_versions() -> dict[str, str]:
    """The versions the role pins (``assistant_resurrect_<x>_version`` defaults)."""
    text = DEFAULTS.read_text(encoding="utf-8")
    out = {}
    for name, (infix, _entry) in PLUGINS.items():
        match = re.search(rf"^assistant_resurrect_{infix}_version:\s*(\S+)\s*$", text, re.M)
        if match is None:
            raise RuntimeError(f"{DEFAULTS} pins no assistant_resurrect_{infix}_version")
        out[name] = match.group(1).strip("'\"")
    return out


def bundles_present() -> bool:
    return all((BUNDLES / f"{name}.bundle").is_file() for name in PLUGINS)


def _git(*args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "safe.directory=*", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.stdout.strip()


@dataclass
class PluginRepos:
    """Bare repositories of the three plugins, and what the role needs to clone them."""

    real: bool
    repos: dict[str, Path]  # plugin name -> bare repository
    versions: dict[str, str]  # plugin name -> tag the role clones
    heads: dict[str, str]  # plugin name -> commit of that tag
    why: str = ""  # when not real: why the stand-ins were used

    def urls(self) -> dict[str, str]:
        return {name: f"file://{path}" for name, path in self.repos.items()}

    def role_vars(self, *, versions: bool = True) -> dict[str, str]:
        """The ``*_repo`` (and, unless ``versions`` is False, ``*_version``) role variables."""
        out = {}
        for name, url in self.urls().items():
            infix = PLUGINS[name][0]
            out[f"assistant_resurrect_{infix}_repo"] = url
            if versions:
                out[f"assistant_resurrect_{infix}_version"] = self.versions[name]
        return out

    def copy_for(self, dest: Path, user: Optional[str] = None) -> PluginRepos:
        """The same repositories again under ``dest``, owned by ``user`` (git
        refuses a repository another user owns)."""
        dest.mkdir(parents=True, exist_ok=True)
        repos = {}
        for name, bare in self.repos.items():
            repos[name] = dest / bare.name
            shutil.copytree(bare, repos[name], symlinks=True)
        if user is not None:
            subprocess.run(["chown", "-R", f"{user}:", str(dest)], check=True)
        return PluginRepos(self.real, repos, dict(self.versions), dict(self.heads), self.why)


def _real(dest: Path) -> PluginRepos:
    versions = pinned_versions()
    repos, heads = {}, {}
    for name in PLUGINS:
        bare = dest / f"{name}.git"
        _git("clone", "--quiet", "--bare", str(BUNDLES / f"{name}.bundle"), str(bare))
        heads[name] = _git("-C", str(bare), "rev-parse", f"{versions[name]}^{{commit}}")
        repos[name] = bare
    return PluginRepos(True, repos, versions, heads)


def _stand_in(dest: Path, name: str, entry: str, version: str) -> tuple[Path, str]:
    work = dest / "plugin-src" / name
    work.mkdir(parents=True)
    script = work / entry
    script.write_text(f"#!/usr/bin/env bash\n# test stand-in for {name}\nexit 0\n")
    script.chmod(0o755)
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    _git("init", "-q", "-b", "main", str(work))
    _git("-C", str(work), *ident, "add", "-A")
    _git("-C", str(work), *ident, "commit", "-qm", f"stand-in {name}")
    _git("-C", str(work), *ident, "tag", version)
    head = _git("-C", str(work), "rev-parse", "HEAD")
    bare = dest / f"{name}.git"
    _git("clone", "-q", "--bare", str(work), str(bare))
    shutil.rmtree(work)
    return bare, head


def _stand_ins(dest: Path, why: str) -> PluginRepos:
    versions = pinned_versions()
    repos, heads = {}, {}
    for name, (_infix, entry) in PLUGINS.items():
        repos[name], heads[name] = _stand_in(dest, name, entry, versions[name])
    return PluginRepos(False, repos, versions, heads, why)


def make(dest: Path) -> PluginRepos:
    """Bare repositories of the real plugins when the bundles are there, else of
    stand-ins (``real`` False, ``why`` says why)."""
    dest.mkdir(parents=True, exist_ok=True)
    if not bundles_present():
        return _stand_ins(dest, f"no plugin bundles in {BUNDLES}")
    return _real(dest)
