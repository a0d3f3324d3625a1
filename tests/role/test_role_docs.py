"""The role's variables: the same in defaults and argument_specs, documented."""

from __future__ import annotations

import pytest
import yaml

from .conftest import ROLE

pytestmark = pytest.mark.role


def test_every_variable_is_documented_with_its_default():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    assert set(options) == set(defaults)
    for name, value in defaults.items():
        assert name.startswith("assistant_resurrect_") and not name.startswith(
            "assistant_resurrect__"
        )
        if "{{" not in str(value):
            assert options[name]["default"] == value, name


def test_claude_settings_backup_is_off_by_default():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert defaults["assistant_resurrect_claude_settings_backup"] is False
    readme = (ROLE / "README.md").read_text()
    rows = [row for row in readme.splitlines() if row.startswith("| `assistant_resurrect_")]
    line = next(row for row in rows if "`assistant_resurrect_claude_settings_backup`" in row)
    assert "uninstall does not remove" in line
