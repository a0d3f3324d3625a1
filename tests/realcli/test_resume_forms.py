"""The resume command lines restore types exist in the installed versions'
`--help` (flags change between releases: see docs/assistants.md)."""

from __future__ import annotations

import pytest

from assistant_resurrect import assistants
from tests.realcli.conftest import CLI_BIN, RealEnv, cli_version

pytestmark = [pytest.mark.realcli, pytest.mark.asuser]

SID = {
    "claude": "3f1e8a1c-1111-4222-8333-444455556666",
    "opencode": "ses_dec46f6b1ffeMD0xVvvpugyEQY",
    "codex": "01a213ba-f4f7-7ec2-a779-4b4fbad59e5b",
    "gemini": "7607a433-a71d-4cb7-ace3-bad103be0317",
}
# Where each resume form is documented in the CLI's own help, and what it says.
HELP = {
    "claude": (["--help"], ["-r, --resume", "--session-id <uuid>", "-c, --continue"]),
    "opencode": (["--help"], ["-s, --session", "-c, --continue"]),
    "codex": (["resume", "--help"], ["Usage: codex resume [OPTIONS] [SESSION_ID]", "--last"]),
    "gemini": (["--help"], ["-r, --resume", "--session-id"]),
}


@pytest.mark.parametrize("tool", sorted(HELP))
def test_resume_form_matches_installed_help(real: RealEnv, tool: str) -> None:
    if not (CLI_BIN / tool).exists():
        pytest.skip(f"{tool} is not installed")
    help_args, expected = HELP[tool]
    proc = real.run([str(CLI_BIN / tool), *help_args], timeout=60)
    out = proc.stdout + proc.stderr  # opencode prints its help on stderr
    for text in expected:
        assert text in out, f"{tool} {cli_version(tool)}: {text!r} not in its help"
    assistant = assistants.by_name(tool)
    assert assistant is not None
    argv = assistant.resume_argv(tool, ["--model", "x"], SID[tool])
    assert argv[0] == tool and argv[-1] == SID[tool]
    for token in argv[1:-1]:
        if token.startswith("-") or token == "resume":
            assert token in out or token in help_args, (
                f"{tool} {cli_version(tool)}: {token!r} of {argv} not in its help"
            )
