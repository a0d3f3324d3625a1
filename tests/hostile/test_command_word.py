"""No alias, function or abbreviation of the user's applies to the restored
program: restore types `command PROGRAM args...` (`alias codex='codex
--search'` made the resumed Codex exit with "--search cannot be used multiple
times"). Real panes of bash, zsh, fish and dash whose start-up files define
the tool's name as an alias and a function: the stand-in started by restore
gets exactly the saved argv and env."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from assistant_resurrect import assistants
from tests.helpers import Agent, records, wait_for
from tests.hostile.conftest import Stats, check_canaries, keep_server_alive

SESSION_ID = "11111111-2222-4333-8444-555555555555"
TOOLS = ("codex", "claude")

# Each rc defines both tools' names as a function that adds a flag, then as an
# alias that adds another (an alias named like a function must come after it:
# bash, zsh and dash would expand the alias inside the definition). The
# canary in the function body runs if the function is ever called.
POSIX_RC = """PS1='$ '
HISTFILE=/dev/null
{tool}() {{ arcanary; command {tool} --from-function "$@"; }}
alias {tool}='{tool} --search'
"""
SHELLS: dict[str, tuple[str, str, str]] = {
    # name: (rc file name, rc text, the pane's command with {rc} / {dir})
    "bash": (".bashrc-test", POSIX_RC, "bash --rcfile {rc} -i"),
    "zsh": (".zshrc", POSIX_RC, "env ZDOTDIR={dir} zsh"),
    "zsh-global-alias": (
        ".zshrc",
        "PS1='$ '\nHISTFILE=/dev/null\nalias -g {tool}='{tool} --search'\n",
        "env ZDOTDIR={dir} zsh",
    ),
    "dash": ("dashrc", POSIX_RC, "env ENV={rc} dash -i"),
    "fish-function": (
        "config.fish",
        "function {tool}; arcanary; command {tool} --from-function $argv; end\n",
        "fish --no-config -C 'source {rc}'",
    ),
    "fish-alias": (
        "config.fish",
        "alias {tool}='{tool} --search'\n",
        "fish --no-config -C 'source {rc}'",
    ),
    "fish-abbr": (
        "config.fish",
        "abbr -a {tool} '{tool} --search'\n",
        "fish --no-config -C 'source {rc}'",
    ),
}


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_restore_bypasses_aliases_and_functions_named_like_the_tool(
    shell: str,
    tool: str,
    agent: Agent,
    server: Any,
    tmp_path: Path,
    canary_bin: Path,
    stats: Stats,
) -> None:
    binary = shell.split("-")[0]
    if not shutil.which(binary):
        pytest.skip(f"{binary} is not installed")
    rc_name, rc_text, pane_command = SHELLS[shell]
    rc_dir = tmp_path / f"rc-{shell}"
    rc_dir.mkdir()
    rc = rc_dir / rc_name
    rc.write_text(rc_text.format(tool=tool))
    work = tmp_path / "work dir"
    work.mkdir()
    keep_server_alive(server)
    session = server.new_session(
        "cw",
        window_command=pane_command.format(rc=rc, dir=rc_dir),
        start_directory=str(tmp_path),
    )
    pane = session.windows[0].panes[0]
    server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
    server.cmd("set-option", "-g", "@assistant-resurrect-capture-env", "AR_MODE")
    cli_args = ["--model", "m1"] if tool == "codex" else ["--model", "opus"]
    layout = agent.fake_layout()
    layout.with_name("assistant_resurrect_20261125T120000.json").write_text(
        json.dumps(
            {
                "version": 1,
                "sessions": [
                    {
                        "pane": f"{session.name}:{session.windows[0].window_index}.0",
                        "pane_id": pane.pane_id,
                        "tool": tool,
                        "session_id": SESSION_ID,
                        "cwd": str(work),
                        "program": tool,
                        "cli_args": cli_args,
                        "env": {"AR_MODE": "restored"},
                    }
                ],
            }
        )
    )
    agent.run("restore", "--layout", str(layout), "--timeout", "20")
    got = wait_for(lambda: records(tool), timeout=15, what=f"{tool} restored in {shell}")
    stats.commands_typed_in_real_shells += 1
    assistant = assistants.by_name(tool)
    assert assistant is not None
    want = assistant.resume_argv(tool, cli_args, SESSION_ID)[1:]
    assert [r["argv"] for r in got] == [want], f"{shell}: {pane.capture_pane()}"
    assert got[0]["env"].get("AR_MODE") == "restored", shell
    assert Path(got[0]["cwd"]).resolve() == work.resolve()
    check_canaries(stats)
