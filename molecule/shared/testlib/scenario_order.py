"""The run order of a scenario's verify step, declared instead of left to file
names: the installed-file checks (test_1_*) read the files before the behaviour
tests (test_2_*) start real assistants, which may touch them; the cycles
through the real tmux plugins (test_3_*) come last. A scenario's
conftest.py imports the hook below."""

from __future__ import annotations

import pathlib

ORDER = ("test_1_", "test_2_", "test_3_")


def pytest_collection_modifyitems(items: list) -> None:
    def rank(item) -> int:
        name = pathlib.Path(str(item.fspath)).name
        return next((i for i, prefix in enumerate(ORDER) if name.startswith(prefix)), len(ORDER))

    items.sort(key=rank)  # stable: the order inside each file is kept
