"""default scenario: the role's hooks driven by the real tmux-continuum (an
interval save, then its auto-restore on a fresh server) and tmux-resurrect,
after the behaviour tests (see shared/testlib/plugin_cycle.py)."""

from plugin_cycle import mode_for_suite, run_cycle


def test_real_continuum_saves_and_restores_through_our_hooks(host):
    mode = mode_for_suite()
    stdout = run_cycle(host, mode)
    if mode == "continuum":
        assert "continuum's interval save" in stdout, stdout
        assert "continuum's auto-restore" in stdout, stdout
