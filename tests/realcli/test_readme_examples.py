"""The resume lines the README shows use only flags the installed CLIs accept
(the first build showed `codex --full-auto`, which Codex 0.169 rejects)."""

from __future__ import annotations

import pytest

from tests.helpers import ROOT
from tests.realcli.conftest import CLI_BIN, RealEnv, cli_version

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]


def readme_examples() -> list[list[str]]:
    """The command lines of the README's first code block."""
    text = (ROOT / "README.md").read_text()
    block = text.split("```\n", 2)[1]
    return [line.split() for line in block.splitlines() if line.strip()]


def test_the_readme_shows_each_tool_once() -> None:
    assert sorted(line[0] for line in readme_examples()) == ["claude", "codex", "opencode"]


@pytest.mark.parametrize("line", readme_examples(), ids=lambda line: line[0])
def test_readme_example_flags_exist_in_installed_help(real: RealEnv, line: list[str]) -> None:
    tool = line[0]
    assert (CLI_BIN / tool).exists(), f"{tool} is not installed under {CLI_BIN}"
    proc = real.run([str(CLI_BIN / tool), "--help"], timeout=60)
    out = proc.stdout + proc.stderr  # opencode prints its help on stderr
    for token in line[1:]:
        if token.startswith("-"):
            assert token in out, f"{tool} {cli_version(tool)}: {token!r} is not in its --help"
