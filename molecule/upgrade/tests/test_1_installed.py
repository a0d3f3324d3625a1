"""upgrade scenario: after the upgrade the user has a complete install
(the same checks as a fresh install)."""

from installed_checks import *  # noqa: F403  (shared test functions)
