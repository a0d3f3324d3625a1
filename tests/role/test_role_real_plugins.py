"""The issue's done-when: a fresh real user runs playbooks/localhost.yml itself,
with ONLY the three ``*_repo`` variables, pointing at file:// mirrors of the
real plugins (made from ../shared/mirrors/*.bundle, owned by that user; the
test skips, saying so, where the bundles are absent).

The user has no git configuration of its own and passwordless sudo (a
developer's box; the packages are already there, so nothing is installed).
The chain: converge; converge again (changed=0); a tmux server of the user on
the tmux.conf the role wrote (TPM loads the real tmux-resurrect and
tmux-continuum) whose real save script fires our post-save-layout hook;
uninstall, which leaves the user's ~/.tmux.conf and ~/.claude/settings.json
byte-identical to what they were before the first run.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import wait_for

from .conftest import PLAYBOOKS, ROOT, RUNUSER, VENV_BIN, Run, Session, register_chain

pytestmark = pytest.mark.role

USER_TMUX_CONF = b"# mine\nset -g history-limit 50000\nbind r source-file ~/.tmux.conf\n"
USER_SETTINGS = (
    json.dumps({"model": "opus", "permissions": {"allow": ["Bash(ls:*)"]}}, indent=4) + "\n"
).encode()


def _as_user(user: str, home: Path, *cmd: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(home),
        "USER": user,
        "LOGNAME": user,
        "LANG": "C.UTF-8",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    return subprocess.run(
        [RUNUSER, "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *cmd],
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def _playbook(user: str, home: Path, name: str, extra: dict[str, str]) -> Run:
    args = ["-i", "localhost,", "-c", "local", str(PLAYBOOKS / name)]
    for key, value in extra.items():
        args += ["-e", f"{key}={value}"]
    proc = _as_user(user, home, str(VENV_BIN / "ansible-playbook"), *args)
    return Run(args, proc.returncode, proc.stdout, 0.0)


def _chain(s: Session) -> dict:
    from tests import mirrors

    r: dict = {}
    if not mirrors.bundles_present():
        r["skip"] = f"no plugin bundles in {mirrors.BUNDLES}"
        return r
    user, home = s.new_user("real")
    pw = pwd.getpwnam(user)
    sudoers = Path(f"/etc/sudoers.d/arr-{user}")
    sudoers.write_text(f"{user} ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    try:
        return _run(s, user, home, pw.pw_uid, r)
    finally:
        sudoers.unlink()


def _run(s: Session, user: str, home: Path, uid: int, r: dict) -> dict:
    from tests import mirrors

    (home / ".claude").mkdir()
    (home / ".tmux.conf").write_bytes(USER_TMUX_CONF)
    (home / ".claude" / "settings.json").write_bytes(USER_SETTINGS)
    mirror = mirrors.make(s.base / f"mirror-{user}")
    subprocess.run(["chown", "-R", f"{user}:", str(mirror.repos["tpm"].parent)], check=True)
    for p in (home / ".tmux.conf", home / ".claude", home / ".claude" / "settings.json"):
        shutil.chown(p, user, user)
    r["home"], r["user"], r["heads"] = home, user, mirror.heads
    r["gitconfig"] = [p.name for p in home.glob(".gitconfig")]
    extra = mirror.role_vars(versions=False)  # the three *_repo variables, nothing else
    r["extra"] = extra
    r["converge1"] = _playbook(user, home, "localhost.yml", extra)
    r["converge2"] = _playbook(user, home, "localhost.yml", extra)
    plugins = home / ".tmux/plugins"
    r["clones"] = {
        name: _as_user(
            user, home, "git", "-C", str(plugins / name), "rev-parse", "HEAD"
        ).stdout.strip()
        for name in mirrors.PLUGINS
    }
    r["submodule"] = sorted(p.name for p in (plugins / "tpm/lib/tmux-test").glob("*"))

    # The user's tmux on the tmux.conf the role wrote: TPM loads the real plugins.
    sock = f"/tmp/tmux-{uid}/default"
    started = _as_user(user, home, "tmux", "new-session", "-d", "-s", "t", timeout=120)
    r["tmux_started"] = started
    if started.returncode == 0:
        pid = _as_user(user, home, "tmux", "-S", sock, "display-message", "-p", "#{pid}")
        if pid.stdout.strip().isdigit():
            s.tmux_pids.append(int(pid.stdout.strip()))

        def save_script() -> str:
            out = _as_user(
                user,
                home,
                "tmux",
                "-S",
                sock,
                "show-options",
                "-gqv",
                "@resurrect-save-script-path",
            )
            return out.stdout.strip()

        try:
            script = wait_for(save_script, timeout=120, what="tmux-resurrect loaded by TPM")
        except AssertionError as exc:
            script = ""
            r["save_error"] = str(exc)
        r["save_script"] = script
        if script:
            r["save"] = _as_user(user, home, "tmux", "-S", sock, "run-shell", script, timeout=120)
        rdir = home / ".tmux/resurrect"
        r["saved"] = sorted(p.name for p in rdir.glob("*")) if rdir.is_dir() else []
        _as_user(user, home, "tmux", "-S", sock, "kill-server", timeout=60)

    r["uninstall"] = _playbook(user, home, "uninstall.yml", extra)
    r["after"] = {
        ".tmux.conf": (home / ".tmux.conf").read_bytes(),
        ".claude/settings.json": (home / ".claude/settings.json").read_bytes(),
    }
    return r


register_chain("real_plugins", _chain)


@pytest.fixture(scope="module")
def chain(role_session):
    r = role_session.chain("real_plugins")
    if "skip" in r:
        pytest.skip(r["skip"])
    return r


def test_real_user_converges_from_the_mirrors_with_only_the_repo_variables(chain):
    assert sorted(chain["extra"]) == [
        "assistant_resurrect_continuum_repo",
        "assistant_resurrect_resurrect_repo",
        "assistant_resurrect_tpm_repo",
    ]
    assert chain["gitconfig"] == []
    run = chain["converge1"]
    assert run.rc == 0, run.explain()
    # The pinned versions of the real plugins, without TPM's submodule.
    assert chain["clones"] == chain["heads"]
    assert chain["submodule"] == []


def test_real_user_second_converge_changes_nothing(chain):
    run = chain["converge2"]
    assert run.rc == 0, run.explain()
    assert run.changed == 0, run.changed_tasks()


def test_real_plugins_loaded_by_tpm_fire_our_save_hook(chain):
    started = chain["tmux_started"]
    assert started.returncode == 0, started.stdout
    assert chain["save_script"].endswith("/.tmux/plugins/tmux-resurrect/scripts/save.sh"), (
        chain.get("save_error")
    )
    assert chain["save"].returncode == 0, chain["save"].stdout
    saved = chain["saved"]
    assert "last" in saved
    assert any(n.startswith("tmux_resurrect_") for n in saved), saved
    # Our post-save-layout hook wrote the layout's sidecar.
    assert any(n.startswith("assistant_resurrect_") and n.endswith(".json") for n in saved), saved


def test_real_user_uninstall_leaves_the_user_files_byte_identical(chain):
    run = chain["uninstall"]
    assert run.rc == 0, run.explain()
    assert chain["after"][".tmux.conf"] == USER_TMUX_CONF
    assert chain["after"][".claude/settings.json"] == USER_SETTINGS


def test_no_sudoers_file_left(chain):
    assert not any(p.name == f"arr-{chain['user']}" for p in Path("/etc/sudoers.d").iterdir())
    assert os.path.isdir("/etc/sudoers.d")
