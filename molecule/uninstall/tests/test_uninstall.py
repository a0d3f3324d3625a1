"""uninstall scenario: after `assistant_resurrect_state: absent`, nothing of
ours is left and every user's home is byte-identical to before install."""

import pytest
from arlib import ENTRY_POINT, OTHER_USER, USER, as_user, manifest, manifest_before, manifest_diff


@pytest.mark.parametrize("user", [USER, OTHER_USER])
def test_home_identical_to_before_install(host, user):
    before, after = manifest_before(host, user), manifest(host, user)
    assert before == after, f"{user}'s home differs (- before, + now):\n" + manifest_diff(
        before, after
    )


def test_entry_point_gone(host):
    assert not host.file(ENTRY_POINT).exists


def test_no_file_of_ours_anywhere(host):
    r = host.run(
        "find / -xdev \\( -path /proc -o -path /sys -o -path /usr/local/lib/ar-molecule "
        "-o -path /var/lib/ar-molecule \\) -prune -o "
        "\\( -iname '*assistant-resurrect*' -o -iname '*assistant_resurrect*' \\) -print"
    )
    assert r.stdout.strip() == "", r.stdout


def test_no_process_of_ours(host):
    r = host.run("ps -eo args=")
    assert "assistant-resurrect" not in r.stdout, r.stdout


def test_tmux_starts_clean_without_our_hooks(host):
    as_user(host, "tmux kill-server 2>/dev/null; tmux new-session -d -s check")
    try:
        hooks = as_user(host, "tmux show-options -g | grep -i resurrect-hook || true").stdout
        assert hooks.strip() == "", hooks
        assert as_user(host, "tmux show-option -gqv mouse").stdout.strip() == "on"
    finally:
        as_user(host, "tmux kill-server", check=False)
