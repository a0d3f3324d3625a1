"""How an argv is recognised as an assistant, and what of it is replayed."""

from __future__ import annotations

import pytest

from assistant_resurrect import assistants
from assistant_resurrect.assistants.base import parse_launch

U1 = "3f1e8a1c-1111-4222-8333-444455556666"


@pytest.mark.parametrize(
    ("argv", "tool", "args"),
    [
        (["claude", "--resume", U1], "claude", ["--resume", U1]),
        (["/home/u/.local/bin/claude"], "claude", []),
        (["claude.exe", "-c"], "claude", ["-c"]),
        (
            ["node", "/usr/lib/node_modules/@openai/codex/bin/codex.js", "resume", U1],
            "codex",
            ["resume", U1],
        ),
        (
            ["node", "--no-warnings", "/x/@anthropic-ai/claude-code/cli.js", "--model", "opus"],
            "claude",
            ["--model", "opus"],
        ),
        (
            ["bun", "/home/u/.bun/bin/opencode", "-s", "ses_abcdefgh12"],
            "opencode",
            ["-s", "ses_abcdefgh12"],
        ),
        (["env", "FOO=1", "-u", "BAR", "claude", "--model", "x"], "claude", ["--model", "x"]),
        (["/bin/bash", "/home/u/.asdf/shims/codex", "--full-auto"], "codex", ["--full-auto"]),
        (
            ["python3.11", "/opt/tools/gemini", "--resume", "latest"],
            "gemini",
            ["--resume", "latest"],
        ),
        (["-bash"], None, None),
        (["node", "/usr/bin/npx", "@openai/codex"], None, None),
        (["bash", "-c", "claude"], None, None),
        (["vim", "claude.md"], None, None),
    ],
)
def test_match(argv: list[str], tool: str | None, args: list[str] | None) -> None:
    found = assistants.match(argv)
    if tool is None:
        assert found is None
        return
    assert assistants.by_name(tool) is not None, f"{tool} is no longer in the registry"
    assert found is not None
    assert found[0].name == tool
    assert found[1].args == args


def test_direct_launch_keeps_program_path() -> None:
    launch = parse_launch(["/opt/claude/bin/claude", "--model", "opus"])
    assert launch is not None and launch.direct and launch.program == "/opt/claude/bin/claude"
    via_node = parse_launch(["node", "/x/@openai/codex/bin/codex.js"])
    assert via_node is not None and not via_node.direct


@pytest.mark.parametrize(
    ("tool", "args", "kept", "model"),
    [
        (
            "claude",
            ["--dangerously-skip-permissions", "--resume", U1, "--model", "opus"],
            ["--dangerously-skip-permissions", "--model", "opus"],
            "opus",
        ),
        ("claude", ["-r", U1, "--add-dir", "/a", "fix the bug"], ["--add-dir", "/a"], None),
        (
            "claude",
            ["--continue", "--model=sonnet", "--session-id", U1],
            ["--model=sonnet"],
            "sonnet",
        ),
        ("claude", ["--resume", "--verbose"], ["--verbose"], None),
        (
            "opencode",
            ["--model", "anthropic/x", "-s", "ses_abcdefgh12", "/proj"],
            ["--model", "anthropic/x"],
            "anthropic/x",
        ),
        ("opencode", ["-c", "--prompt", "hello", "."], [], None),
        ("codex", ["--full-auto", "-m", "o3", "resume", U1], ["--full-auto", "-m", "o3"], "o3"),
        ("codex", ["resume", "--last", "-c", "model=x"], ["-c", "model=x"], None),
        ("codex", ["-C", "/w", "write tests"], ["-C", "/w"], None),
    ],
)
def test_cli_args_and_model(tool: str, args: list[str], kept: list[str], model: str | None) -> None:
    a = assistants.by_name(tool)
    assert a is not None
    assert a.cli_args(args) == kept
    assert a.model(args) == model


@pytest.mark.parametrize(
    ("tool", "args", "is_session"),
    [
        ("codex", ["app-server", "--listen", "x"], False),
        ("codex", ["exec", "do it"], False),
        ("codex", ["-m", "o3", "resume", U1], True),
        ("codex", ["-m", "o3"], True),
        ("codex", ["write a parser"], True),
        ("opencode", ["run", "hello"], False),
        ("opencode", ["serve"], False),
        ("opencode", ["/my/project"], True),
        ("opencode", [], True),
        ("claude", [], True),
    ],
)
def test_helpers_are_not_sessions(tool: str, args: list[str], is_session: bool) -> None:
    a = assistants.by_name(tool)
    assert a is not None
    assert a.is_session(args) is is_session


@pytest.mark.parametrize(
    ("tool", "program", "cli_args", "sid", "expected"),
    [
        (
            "claude",
            "claude",
            ["--dangerously-skip-permissions"],
            U1,
            ["claude", "--dangerously-skip-permissions", "--resume", U1],
        ),
        ("opencode", "opencode", [], "ses_abcdefgh12", ["opencode", "-s", "ses_abcdefgh12"]),
        ("codex", "codex", ["--full-auto"], U1, ["codex", "--full-auto", "resume", U1]),
        (
            "gemini",
            "gemini",
            ["-m", "gemini-2.5-pro"],
            U1,
            ["gemini", "-m", "gemini-2.5-pro", "--resume", U1],
        ),
        ("pi", "pi", ["--provider", "openai"], U1, ["pi", "--provider", "openai", "--session", U1]),
        ("omp", "omp", [], U1, ["omp", "--resume", U1]),
        ("qwen", "qwen", ["--yolo"], U1, ["qwen", "--yolo", "--resume", U1]),
        (
            "copilot",
            "copilot",
            ["--allow-all-tools"],
            U1,
            ["copilot", "--allow-all-tools", "--resume", U1],
        ),
        ("kilo", "kilo", [], "ses_abcdefgh12", ["kilo", "-s", "ses_abcdefgh12"]),
        ("crush", "crush", ["--yolo"], U1, ["crush", "--yolo", "--session", U1]),
        ("droid", "droid", [], U1, ["droid", "--resume", U1]),
        (
            "cursor-agent",
            "cursor-agent",
            ["--force"],
            U1,
            ["cursor-agent", "--force", "--resume", U1],
        ),
        # A launcher path the user typed is kept as the program word.
        ("qwen", "/opt/clis/bin/qwen", [], U1, ["/opt/clis/bin/qwen", "--resume", U1]),
    ],
)
def test_resume_argv(
    tool: str, program: str, cli_args: list[str], sid: str, expected: list[str]
) -> None:
    a = assistants.by_name(tool)
    assert a is not None
    assert a.resume_argv(program, cli_args, sid) == expected


@pytest.mark.parametrize(
    ("tool", "good", "bad"),
    [
        ("claude", U1, "../../etc/passwd"),
        ("codex", U1, "$(touch x)"),
        ("opencode", "ses_4f2a9c1b7e3d5a8f6b0c2d4e6f", "ses_'; rm -rf ~"),
    ],
)
def test_session_id_charset(tool: str, good: str, bad: str) -> None:
    a = assistants.by_name(tool)
    assert a is not None
    assert a.valid_session_id(good)
    assert not a.valid_session_id(bad)
    assert not a.valid_session_id(good + "\n")


# The resume form of every tool is written out above from its --help (the
# issue's table), not derived from the code: a registry tool missing here
# fails, so a new assistant must state its resume form.
def test_every_registered_tool_has_its_resume_form_checked() -> None:
    checked = {
        mark.args[1][i][0]
        for mark in test_resume_argv.pytestmark  # type: ignore[attr-defined]
        if mark.name == "parametrize"
        for i in range(len(mark.args[1]))
    }
    assert checked == {a.name for a in assistants.all_assistants()}


CREDENTIALED = [a for a in assistants.ASSISTANTS if a.credential_options]


def test_the_tools_with_a_key_option_name_it() -> None:
    """Pi, Oh My Pi and Qwen Code take an API key on the command line."""
    assert {"pi", "omp", "qwen"} <= {a.name for a in CREDENTIALED}


@pytest.mark.parametrize("a", CREDENTIALED, ids=lambda a: a.name)
def test_a_credential_on_the_command_line_is_never_saved(a: assistants.Assistant) -> None:
    for option in sorted(a.credential_options):
        assert option in a.value_options, option  # its value is consumed, not a prompt
        forms = [[option, "sk-secret-1234", "--x"]]
        if option.startswith("--"):
            forms.append([f"{option}=sk-secret-1234"])
        for argv in forms:
            kept = a.cli_args(argv)
            assert not any("sk-secret" in x for x in kept), (option, kept)


@pytest.mark.parametrize("a", list(assistants.all_assistants()), ids=lambda a: a.name)
@pytest.mark.parametrize(
    "bad",
    ["", "../../etc/passwd", "$(touch x)", "a;rm -rf ~", "ses_abc\n", "-rf", "x" * 4096],
)
def test_no_tool_accepts_a_session_id_that_could_hurt(a: assistants.Assistant, bad: str) -> None:
    """A saved ID is typed into a shell: every tool refuses these."""
    assert not a.valid_session_id(bad)
