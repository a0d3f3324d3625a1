"""default scenario: a fresh install, checked file by file and in tmux
(before test_2_behaviour runs real assistants, which may touch their files)."""

from installed_checks import *  # noqa: F403  (shared test functions)
