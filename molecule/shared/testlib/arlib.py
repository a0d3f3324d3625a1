"""Helpers for the scenarios' testinfra tests: run things as the test user
inside the instance, read tmux options, wait for conditions, compare homes."""

from __future__ import annotations

import json
import shlex
import time

USER = "alice"  # managed by the role (molecule/shared/vars/common.yml: ar_role_users)
OTHER_USER = "bob"  # not managed: the role must leave this home alone
HOME = f"/home/{USER}"
ENTRY_POINT = f"{HOME}/.local/bin/assistant-resurrect"
LIB = "/usr/local/lib/ar-molecule"  # helpers copied by prepare
OTHER_TOOL = {
    "SessionStart": "/usr/local/bin/other-tool session-start",
    "SessionEnd": "/usr/local/bin/other-tool session-end",
    "PreToolUse": "/usr/local/bin/other-tool pre-tool",
}
HOOK_NAMES = (
    "post-save-layout",
    "post-save-all",
    "pre-restore-all",
    "pre-restore-pane-processes",
    "post-restore-all",
)


def as_user(host, script: str, user: str = USER, check: bool = True):
    """Run a bash script as `user` in a login shell (like a person would)."""
    cmd = host.run("su - %s -s /bin/bash -c %s", user, "set -o pipefail; " + script)
    if check:
        assert cmd.rc == 0, (
            f"as {user}: {script}\nrc={cmd.rc}\nstdout:\n{cmd.stdout}\nstderr:\n{cmd.stderr}"
        )
    return cmd


def out(host, script: str, user: str = USER) -> str:
    return as_user(host, script, user).stdout


def tmux_option(host, name: str, user: str = USER) -> str:
    return out(host, f"tmux show-option -gqv {shlex.quote(name)}", user).rstrip("\n")


def read_json(host, path: str):
    f = host.file(path)
    assert f.exists, f"{path} is missing"
    return json.loads(f.content_string)


def wait_for(what: str, probe, timeout: float = 60.0, interval: float = 0.5):
    """Call probe() until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})"
            )
        time.sleep(interval)


def hook_commands(settings: dict, event: str) -> list[str]:
    """Every command hook configured for a Claude event, in order."""
    cmds = []
    for group in (settings.get("hooks") or {}).get(event) or []:
        for h in group.get("hooks") or []:
            if h.get("type") == "command":
                cmds.append(h.get("command", ""))
    return cmds


def real_plugins(host) -> bool:
    """Whether prepare made the plugin repositories from the real plugins'
    bundles (../shared/mirrors) or from the stand-ins (files/fake-plugins)."""
    f = host.file("/var/lib/ar-molecule/plugins")
    assert f.exists, "prepare did not record which plugins it used"
    return f.content_string.strip() == "real"


FAKE_PLUGINS = (
    "!!! FAKE PLUGINS: ../shared/mirrors/*.bundle were absent (or AR_PLUGINS=fake), "
    "the role cloned the hand-made stand-ins; real tmux-resurrect/tmux-continuum NOT tested"
)


def manifest(host, user: str) -> list[str]:
    return out(host, f"python3 {LIB}/home-manifest.py /home/{user}", "root").splitlines()


def manifest_before(host, user: str) -> list[str]:
    f = host.file(f"/var/lib/ar-molecule/before-{user}.manifest")
    assert f.exists, "prepare did not record the manifest"
    return f.content_string.splitlines()


def manifest_diff(before: list[str], after: list[str]) -> str:
    b, a = set(before), set(after)
    lines = [f"- {x}" for x in sorted(b - a)] + [f"+ {x}" for x in sorted(a - b)]
    return "\n".join(lines)
