"""upgrade scenario: after the upgrade tests, a save and a restore through the
real tmux-resurrect's own scripts run the upgraded hooks (continuum loaded;
see shared/testlib/plugin_cycle.py)."""

from plugin_cycle import run_cycle


def test_real_resurrect_saves_and_restores_through_our_hooks(host):
    run_cycle(host, "light")
