import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared" / "testlib"))

# The run order is part of the scenario: the installed-file checks (test_1_*)
# read the files before the behaviour tests (test_2_*) start real assistants,
# which may touch them. Declared here rather than left to file-name order.
ORDER = ("test_1_", "test_2_")


def pytest_collection_modifyitems(items: list) -> None:
    def rank(item) -> int:
        name = pathlib.Path(str(item.fspath)).name
        return next((i for i, prefix in enumerate(ORDER) if name.startswith(prefix)), len(ORDER))

    items.sort(key=rank)  # stable: the order inside each file is kept
