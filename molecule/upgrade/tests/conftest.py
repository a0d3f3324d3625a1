import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared" / "testlib"))


from scenario_order import pytest_collection_modifyitems  # noqa: F401  (the run order)
