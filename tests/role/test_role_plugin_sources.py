"""Where the tmux plugins come from: any mirror, submodules only when asked,
and a clear stop when a clone or TPM's package is missing.

One chain, as root with HOME pointing at a scratch folder (the
dotfiles-bootstrap path), OS packages not managed; every run after the first
reuses the agent the first one installed and clones into a plugin folder of
its own:
- TPM from a repository whose submodule (like TPM's ``lib/tmux-test``) has a
  URL nobody can reach: converges, the submodule is not fetched;
- the same with ``assistant_resurrect_plugins_recursive``: stops and says so;
- tmux-resurrect from a URL that does not exist: stops, naming the plugin, the
  URL and the variables to set;
- TPM from the package with a package path that does not exist: stops and
  says to install the package or let the role manage packages.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from .conftest import ROLE, Session, register_chain

pytestmark = pytest.mark.role

_spec = importlib.util.spec_from_file_location(
    "ar_role_filters_sources", ROLE / "filter_plugins" / "assistant_resurrect.py"
)
assert _spec is not None and _spec.loader is not None
_filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_filters)
clone_failures = _filters.clone_failures

UNREACHABLE = "file:///nonexistent/assistant-resurrect-test/tmux-test.git"


def _git(*args: str) -> str:
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "safe.directory=*"]
    return subprocess.run(
        ["git", *ident, *args], check=True, capture_output=True, text=True, timeout=120
    ).stdout.strip()


def _tpm_with_submodule(base: Path, version: str) -> Path:
    """A TPM stand-in whose ``lib/tmux-test`` submodule points nowhere reachable."""
    work = base / "tpm-sub-src"
    _git("init", "-q", "-b", "main", str(work))
    (work / "tpm").write_text("#!/usr/bin/env bash\nexit 0\n")
    (work / "tpm").chmod(0o755)
    (work / ".gitmodules").write_text(
        f'[submodule "lib/tmux-test"]\n\tpath = lib/tmux-test\n\turl = {UNREACHABLE}\n'
    )
    _git("-C", str(work), "add", "-A")
    # A gitlink entry: the submodule's commit, without fetching it.
    fake_commit = "1" * 40
    _git(
        "-C",
        str(work),
        "update-index",
        "--add",
        "--cacheinfo",
        f"160000,{fake_commit},lib/tmux-test",
    )
    _git("-C", str(work), "commit", "-qm", "tpm with a submodule")
    _git("-C", str(work), "tag", version)
    bare = base / "tpm-sub.git"
    _git("clone", "-q", "--bare", str(work), str(bare))
    return bare


def _chain(s: Session) -> dict:
    home = s.base / "home-sources"
    home.mkdir()
    tmux_tmp = s.base / "tmux-sources"
    tmux_tmp.mkdir()
    env = {"HOME": str(home), "TMUX_TMPDIR": str(tmux_tmp)}
    base = {
        "assistant_resurrect_manage_packages": False,
        "assistant_resurrect_reload_tmux": False,
        "assistant_resurrect_state_dirs": [str(s.base / "state-sources")],
    }
    tpm_sub = _tpm_with_submodule(s.base, s.versions["tpm"])
    r: dict = {"home": home}

    def run(key: str, **extra: object) -> None:
        plugins = home / f"plugins-{key}"
        r[key] = s.playbook(
            "localhost.yml",
            {**base, "assistant_resurrect_plugins_dir": str(plugins), **extra},
            env=env,
        )
        r[f"{key}_plugins"] = plugins

    run("submodule", assistant_resurrect_tpm_repo=f"file://{tpm_sub}")
    run(
        "recursive",
        assistant_resurrect_tpm_repo=f"file://{tpm_sub}",
        assistant_resurrect_plugins_recursive=True,
    )
    run("bad_url", assistant_resurrect_resurrect_repo="file:///nonexistent/tmux-resurrect.git")
    run(
        "no_package",
        assistant_resurrect_tpm_from_package=True,
        assistant_resurrect_tpm_package_path="/nonexistent/tmux-plugin-manager/tpm",
    )
    return r


register_chain("plugin_sources", _chain)


@pytest.fixture(scope="module")
def chain(role_session):
    return role_session.chain("plugin_sources")


def test_clone_failures_names_plugin_url_and_variables():
    results = {
        "results": [
            {"failed": False, "item": {"name": "tpm", "repo": "file:///a", "version": "v1"}},
            {
                "failed": True,
                "msg": "Failed to clone",
                "stderr": "fatal: repository\n 'x' does not exist",
                "item": {"name": "tmux-continuum", "repo": "https://m/c.git", "version": "v3"},
            },
        ]
    }
    msg = clone_failures(results, False)
    assert msg.startswith("could not clone tmux-continuum from https://m/c.git at v3: ")
    assert "fatal: repository 'x' does not exist" in msg
    assert "assistant_resurrect_continuum_repo" in msg
    assert "assistant_resurrect_continuum_version" in msg
    assert "tpm" not in msg
    assert "assistant_resurrect_plugins_recursive" not in msg
    assert "assistant_resurrect_plugins_recursive" in clone_failures(results, "true")
    assert clone_failures({"results": results["results"][:1]}, False) == ""


def test_plugins_cloned_without_their_submodules(chain):
    run = chain["submodule"]
    assert run.rc == 0, run.explain()
    tpm = chain["submodule_plugins"] / "tpm"
    assert (tpm / "tpm").is_file()
    sub = tpm / "lib" / "tmux-test"
    assert not sub.exists() or not any(sub.iterdir()), "the submodule was fetched"


def test_recursive_clone_stops_and_names_the_switch(chain):
    run = chain["recursive"]
    assert run.rc != 0, run.explain()
    assert "Stop when a plugin could not be cloned" in run.output, run.explain()
    assert "could not clone tpm from file://" in run.output, run.explain()
    assert "assistant_resurrect_tpm_repo" in run.output
    assert "set assistant_resurrect_plugins_recursive to false" in run.output


def test_unreachable_repo_stops_with_the_url_and_the_variables(chain):
    run = chain["bad_url"]
    assert run.rc != 0, run.explain()
    assert (
        "could not clone tmux-resurrect from file:///nonexistent/tmux-resurrect.git at "
        in run.output
    ), run.explain()
    assert "set assistant_resurrect_resurrect_repo to a repository you can reach" in run.output
    assert "assistant_resurrect_resurrect_version to a tag, branch or commit" in run.output
    # The others were cloned; only the failing one is named.
    assert "could not clone tpm" not in run.output
    assert "could not clone tmux-continuum" not in run.output


def test_missing_tpm_package_stops_and_says_what_to_do(chain):
    run = chain["no_package"]
    assert run.rc != 0, run.explain()
    text = " ".join(run.output.split())
    assert "/nonexistent/tmux-plugin-manager/tpm does not exist" in text, run.explain()
    assert "Install the tmux-plugin-manager package" in text
    assert "set assistant_resurrect_manage_packages to true" in text
    # It stopped before cloning anything.
    assert not (chain["no_package_plugins"]).exists()
