"""The registry imports a tool's module only when a process could be that
tool (assistants/_index.py): the save and hook paths load base.py and the
modules of the tools actually running, nothing for the other ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant_resurrect import assistants, catalog
from assistant_resurrect.assistants.base import parse_launch
from tests.helpers import RUNTIME_SRC

INDEX = RUNTIME_SRC / "assistant_resurrect" / "assistants" / "_index.py"
TOOL_MODULES = {f"assistant_resurrect.assistants.{m}" for m, _ in assistants.REGISTRY}


def loaded_after(code: str) -> set[str]:
    """The tool modules a fresh interpreter holds after running `code`."""
    probe = (
        f"{code}\nimport sys, json\n"
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.startswith('assistant_resurrect.assistants.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(RUNTIME_SRC)),
    ).stdout
    return set(json.loads(out.splitlines()[-1])) & TOOL_MODULES


def test_the_index_is_the_generated_one() -> None:
    assert INDEX.read_text() == catalog.index_source(), (
        "assistants/_index.py is stale: run python3 scripts/sync-registry.py"
    )


def test_the_save_and_hook_modules_import_no_tool() -> None:
    assert loaded_after("import assistant_resurrect.save, assistant_resurrect.hooks") == set()


def test_matching_imports_only_the_tools_a_process_could_be() -> None:
    code = (
        "from assistant_resurrect import assistants as a\n"
        "for argv in (['bash'], ['vim', 'x'], ['node', '/usr/lib/node_modules/npm/bin/npm-cli.js'],"
        " ['claude', '--resume', 'x'], ['node', '/opt/n/@openai/codex/bin/codex.js']):\n"
        "    a.match(argv)\n"
    )
    assert loaded_after(code) == {
        "assistant_resurrect.assistants.claude",
        "assistant_resurrect.assistants.codex",
    }


def test_by_name_imports_that_tool_only() -> None:
    code = "from assistant_resurrect import assistants as a\nassert a.by_name('gemini')"
    assert loaded_after(code) == {"assistant_resurrect.assistants.gemini"}


def argv_corpus() -> list[list[str]]:
    """Command lines of every registered tool (direct, under node and bun,
    helpers) and of programs that are none of them."""
    out = [["bash"], ["node", "server.js"], ["python3", "-m", "http.server"], ["kilo", "notes"]]
    for a in assistants.ASSISTANTS:
        for program in a.executables:
            out += [[program], [program, "--help"], [f"/usr/local/bin/{program}", "-c"]]
        for marker in a.script_markers:
            script = f"/opt/x/node_modules/{marker}index.js"
            out += [["node", script], ["bun", script, "--version"], [script]]
    return out


@pytest.mark.parametrize("argv", argv_corpus(), ids=lambda v: " ".join(v)[:60])
def test_the_index_finds_what_a_scan_of_every_tool_finds(argv: list[str]) -> None:
    launch = parse_launch(argv)
    scanned = next((a for a in assistants.ASSISTANTS if launch and a.match(launch)), None)
    got = assistants.match(argv)
    assert (got[0] if got else None) is scanned


def test_a_tool_matches_only_under_its_names_and_markers() -> None:
    """The contract the index relies on: match() no wider than executables and
    script_markers (a program named after no tool, with no marker, is no tool)."""
    for a in assistants.ASSISTANTS:
        launch = parse_launch(["node", "/opt/elsewhere/unrelated-cli/index.js"])
        assert launch is not None and not a.match(launch), a.name


def test_matches_are_kept_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """match() answers from the argv alone; the sentinel serves save after save
    with the same processes: a second ask is the kept answer, and the kept
    answers never grow past MATCHES_KEPT."""
    monkeypatch.setattr(assistants, "_matched", {})
    argv = ["claude", "--resume", "0a7c2f4e-1b2c-4d3e-8f90-123456789abc"]
    first = assistants.match(argv)
    assert first is not None and first[0].name == "claude"
    assert assistants.match(list(argv)) is first
    assert assistants.match(["bash", "-l"]) is None
    monkeypatch.setattr(assistants, "MATCHES_KEPT", 3)
    for i in range(10):
        assistants.match(["sleep", str(i)])
        assert len(assistants._matched) <= 3
