"""upgrade scenario: after the upgrade the user has a complete install
(the same checks as a fresh install)."""

from installed_checks import (  # the shared checks, collected here by name
    test_agent_venv_made_from_a_python_the_user_can_run,
    test_claude_hooks_once_each,
    test_doctor_is_happy,
    test_entry_point_runs_as_the_user,
    test_no_other_resurrect_hook_runs_our_agent_twice,
    test_one_managed_block_in_tmux_conf,
    test_opencode_plugin_installed,
    test_other_tools_claude_hooks_and_settings_kept,
    test_plugins_loaded_from_the_configured_repositories,
    test_resurrect_does_not_relaunch_assistants,
    test_resurrect_hooks_loaded_by_tmux,
    test_unmanaged_users_home_untouched,
    test_users_opencode_config_untouched,
    test_users_own_tmux_lines_kept_once,
    test_users_own_tmux_settings_still_apply,
    tmux_server,
)
