"""TPM from Debian's tmux-plugin-manager package (assistant_resurrect_tpm_from_package).

Dotfiles-bootstrap path: playbooks/localhost.yml as root with HOME pointing
at an empty scratch folder, OS packages managed by the role. The chain:
converge, start a tmux server on the tmux.conf the role wrote (so the
package's TPM really runs), converge again, uninstall with
assistant_resurrect_remove_plugins. The package itself is installed up front
with apt-get when it is missing (root only).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import Session, read, register_chain

pytestmark = pytest.mark.role

PACKAGE = "tmux-plugin-manager"
PACKAGE_TPM = Path("/usr/share/tmux-plugin-manager/tpm")
HOOKS = (
    "@resurrect-hook-post-save-layout",
    "@resurrect-hook-post-save-all",
    "@resurrect-hook-post-restore-all",
)


def _package_installed() -> bool:
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Status}", PACKAGE],
        capture_output=True,
        text=True,
    )
    return proc.returncode == 0 and proc.stdout.strip() == "install ok installed"


def _ensure_package() -> None:
    if shutil.which("dpkg-query") is None or shutil.which("apt-get") is None:
        pytest.skip("not a Debian-family host (no dpkg/apt-get)")
    if _package_installed():
        return
    if os.geteuid() != 0:
        pytest.skip(f"{PACKAGE} is not installed and installing it needs root")
    proc = subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", PACKAGE],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0 or not _package_installed():
        pytest.skip(f"apt-get install {PACKAGE} failed:\n{proc.stdout[-2000:]}")


def _tmux(sock: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["tmux", "-S", str(sock), *args], capture_output=True, text=True, env=env, timeout=60
    )


def _chain(s: Session) -> dict:
    _ensure_package()
    home = s.base / "home-tpmpkg"
    home.mkdir()
    # A tmux folder of its own: handlers reload only this chain's server.
    tmux_tmp = s.base / "tmux-tpmpkg"
    tmux_tmp.mkdir()
    env = {"HOME": str(home), "TMUX_TMPDIR": str(tmux_tmp)}
    extra = {
        "assistant_resurrect_tpm_from_package": True,
        "assistant_resurrect_state_dirs": [str(s.base / "state-tpmpkg")],
    }
    r: dict = {"home": home}
    r["converge1"] = s.playbook("localhost.yml", extra, env=env)
    plugins = home / ".tmux/plugins"
    r["plugins"] = sorted(p.name for p in plugins.iterdir()) if plugins.is_dir() else []
    r["clones"] = sorted(p.parent.name for p in plugins.glob("*/.git"))
    conf, snippet = home / ".tmux.conf", home / ".config/assistant-resurrect/tmux.conf"
    r["tmux_conf"] = read(conf) if conf.exists() else ""
    r["snippet"] = read(snippet) if snippet.exists() else ""

    # A tmux server on the tmux.conf the role wrote: the package's TPM runs.
    tmux_env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **env}
    sock = tmux_tmp / "tpmpkg"
    started = _tmux(sock, tmux_env, "-f", str(conf), "new-session", "-d", "-s", "t")
    r["tmux_started"] = started
    if started.returncode == 0:
        pid = _tmux(sock, tmux_env, "display-message", "-p", "#{pid}").stdout.strip()
        if pid.isdigit():
            s.tmux_pids.append(int(pid))
        r["tpm_env"] = _tmux(
            sock, tmux_env, "show-environment", "-g", "TMUX_PLUGIN_MANAGER_PATH"
        ).stdout.strip()
        r["hooks_loaded"] = {
            opt: _tmux(sock, tmux_env, "show-options", "-gqv", opt).stdout.strip() for opt in HOOKS
        }
        # TPM's install key (prefix + I): clones nothing, TPM least of all.
        r["install_key"] = subprocess.run(
            [str(PACKAGE_TPM.parent / "bin/install_plugins")],
            capture_output=True,
            text=True,
            env={**tmux_env, "TMUX": f"{sock},{pid},0", "GIT_TERMINAL_PROMPT": "0"},
            timeout=120,
        )
        r["plugins_after_install_key"] = sorted(p.name for p in plugins.iterdir())
        _tmux(sock, tmux_env, "kill-server")

    r["converge2"] = s.playbook("localhost.yml", extra, env=env)
    r["uninstall"] = s.playbook(
        "uninstall.yml", {**extra, "assistant_resurrect_remove_plugins": True}, env=env
    )
    r["after_uninstall"] = sorted(
        str(p.relative_to(home)) for p in home.rglob("*") if not p.name.startswith(".ansible")
    )
    r["package_after_uninstall"] = _package_installed()
    r["package_tpm_after_uninstall"] = PACKAGE_TPM.exists()
    return r


register_chain("tpm_package", _chain)


@pytest.fixture(scope="module")
def chain(role_session):
    return role_session.chain("tpm_package")


def test_tpm_package_converges(chain):
    run = chain["converge1"]
    assert run.rc == 0, run.explain()


def test_tpm_package_tpm_not_cloned_resurrect_and_continuum_are(chain):
    assert chain["plugins"] == ["tmux-continuum", "tmux-resurrect"]
    assert chain["clones"] == ["tmux-continuum", "tmux-resurrect"]


def test_tpm_package_snippet_runs_the_package_tpm(chain):
    home = chain["home"]
    conf, snippet = chain["tmux_conf"], chain["snippet"]
    assert f"source-file '{home}/.config/assistant-resurrect/tmux.conf'" in conf
    runs = [line for line in snippet.splitlines() if line.startswith("run")]
    assert runs == [f"run '{PACKAGE_TPM}'"]
    assert ".tmux/plugins/tpm" not in snippet + conf
    # Declaring TPM as a plugin would make TPM's install key clone it anyway.
    assert "@plugin 'tmux-plugins/tpm'" not in snippet
    for plugin in ("tmux-resurrect", "tmux-continuum"):
        assert f"set -g @plugin 'tmux-plugins/{plugin}'" in snippet


def test_tpm_package_tpm_runs_in_tmux(chain):
    started = chain["tmux_started"]
    assert started.returncode == 0, started.stderr
    # TPM from the package ran and found the plugins in the home's default folder.
    assert chain["tpm_env"].startswith("TMUX_PLUGIN_MANAGER_PATH=")
    assert chain["tpm_env"].rstrip("/").endswith(f"{chain['home']}/.tmux/plugins")
    for opt, value in chain["hooks_loaded"].items():
        assert "assistant-resurrect" in value, opt
    install = chain["install_key"]
    assert install.returncode == 0, install.stdout + install.stderr
    assert "Already installed" in install.stdout, install.stdout
    assert chain["plugins_after_install_key"] == ["tmux-continuum", "tmux-resurrect"]


def test_tpm_package_second_converge_reports_no_change(chain):
    run = chain["converge2"]
    assert run.rc == 0, run.explain()
    assert run.changed == 0, run.changed_tasks()


def test_tpm_package_uninstall_removes_ours_keeps_the_package(chain):
    run = chain["uninstall"]
    assert run.rc == 0, run.explain()
    assert chain["after_uninstall"] == []
    assert chain["package_after_uninstall"], f"{PACKAGE} was removed"
    assert chain["package_tpm_after_uninstall"], f"{PACKAGE_TPM} was removed"
