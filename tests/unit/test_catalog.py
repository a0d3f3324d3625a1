"""The registry is the one list of assistants: `assistants --json` and the
README's table are made from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from assistant_resurrect import assistants, catalog
from tests.helpers import ROOT, RUNTIME_SRC

BEGIN, END = catalog.README_BEGIN, catalog.README_END


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant_resurrect", "assistants", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(RUNTIME_SRC)),
        check=True,
    )


def test_json_lists_every_registered_assistant_in_order() -> None:
    doc = json.loads(run("--json").stdout)
    assert doc["version"] == catalog.SCHEMA_VERSION
    assert [a["name"] for a in doc["assistants"]] == assistants.names()
    for entry, a in zip(doc["assistants"], assistants.ASSISTANTS):
        assert entry["strategies"] == [n for n, _ in a.strategies()]
        assert entry["resume"][-1] == "ID" and entry["executables"] == list(a.executables)
        assert a.resume_argv("P", ["--x"], "ID") == ["P", "--x", *entry["resume"][2:-1], "ID"]


def test_readme_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert BEGIN in readme, "README lost its generated assistants table"
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    assert block == catalog.markdown(), (
        "README's assistants table is stale: replace it with the output of "
        "`assistant-resurrect assistants --markdown` (python3 scripts/sync-registry.py)"
    )
    assert run("--markdown").stdout == catalog.markdown()


def test_hooks_named_by_the_registry_exist() -> None:
    from assistant_resurrect.hooks import HOOKS

    declared = [h for a in assistants.ASSISTANTS for h in a.agent_hooks]
    assert declared and sorted(declared) == sorted(HOOKS)


def test_the_role_keeps_every_registered_assistant_out_of_resurrect_processes() -> None:
    role_vars = yaml.safe_load(
        (ROOT / "roles" / "assistant_resurrect" / "vars" / "main.yml").read_text()
    )
    assert role_vars["assistant_resurrect__assistants"] == assistants.names(), (
        "roles/assistant_resurrect/vars/main.yml: set assistant_resurrect__assistants to "
        f"{assistants.names()} (the registry; python3 scripts/sync-registry.py)"
    )


def test_plugin_files_named_by_the_registry_ship_with_the_role() -> None:
    files = ROOT / "roles" / "assistant_resurrect" / "files"
    declared = [f for a in assistants.ASSISTANTS for f in a.plugin_files]
    assert declared
    for rel in declared:
        assert (files / rel).is_file(), rel


def test_checked_versions_are_what_the_tests_run() -> None:
    """The README's "checked against" column: every assistant names the CLI
    version it was checked against; one marked as tested against the real CLI
    has its tests/realcli/test_<name>.py and that very version pinned in the
    setup script that installs the real CLIs."""
    import re

    setup = (ROOT / "scripts" / "setup.d" / "30-assistant-clis.sh").read_text()
    pin = r"AR_([A-Z0-9]+)_VERSION:-\$\(pin ([^)]+)\)\}"
    pinned = {m[0].lower(): m[1] for m in re.findall(pin, setup)}
    for a in assistants.ASSISTANTS:
        assert re.fullmatch(r"\d+\.\d+\.\d+\S*", a.checked_version), a.name
        if a.real_cli_test:
            assert (ROOT / "tests" / "realcli" / f"test_{a.name}.py").is_file(), a.name
            assert pinned.get(a.name) == a.checked_version, (a.name, pinned)


def test_readme_intro_names_every_registered_assistant() -> None:
    """The README's first paragraph names each assistant the registry ships."""
    intro = (ROOT / "README.md").read_text().split("\n\n")[1].replace("\n", " ")
    for a in assistants.ASSISTANTS:
        assert f"**{a.display_name or a.name}**".replace(" ", "") in intro.replace(" ", ""), a.name
