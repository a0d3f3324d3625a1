"""Restore into real shells in real tmux panes, with hostile saved values.

Each generated example is a sidecar of several sessions (tool, session ID,
CLI args, env values and a working directory full of quotes, `;`, `$()`,
backticks, newlines, control characters, unicode, undecodable bytes, very
long strings and canaries). `assistant-resurrect restore` types one command
per pane into bash, zsh, fish or dash; the stand-in assistant it starts
records its argv, cwd and env, which must be exactly what was saved, and no
canary may ever run.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from assistant_resurrect import assistants
from tests.helpers import Agent, records, wait_for
from tests.hostile.conftest import Stats, check_canaries, keep_server_alive
from tests.hostile.strategies import ENV_NAMES, dir_name, hostile_text
from tests.screens import screen_lines

PANES = 6
EXAMPLES = int(os.environ.get("AR_HOSTILE_SHELL_EXAMPLES", "6"))
# Shrinking re-runs real panes for minutes; the failure report already shows
# the whole failing example. AR_HOSTILE_SHRINK=1 turns it on.
PHASES = (
    list(Phase)
    if os.environ.get("AR_HOSTILE_SHRINK")
    else [Phase.explicit, Phase.reuse, Phase.generate]
)

SHELLS: dict[str, list[str]] = {
    "bash": ["bash"],  # reads the throwaway HOME's .bashrc: PS1='$ ', no history file
    "zsh": ["zsh", "-f"],
    "fish": ["fish", "--no-config"],
    "dash": ["dash", "-i"],
    # The same shells in the C locale: typed non-ASCII text must still arrive.
    "bash-C": ["env", "LC_ALL=C", "bash"],
    "zsh-C": ["env", "LC_ALL=C", "zsh", "-f"],
    "fish-C": ["env", "LC_ALL=C", "fish", "--no-config"],
}
# Shells that can be given control characters (with their own escapes).
ESCAPING_SHELLS = {"bash", "zsh", "fish", "bash-C", "zsh-C", "fish-C"}

SESSION_IDS = {
    "claude": st.uuids().map(str),
    "codex": st.uuids().map(str),
    "opencode": st.from_regex(r"ses_[A-Za-z0-9]{8,40}\Z", fullmatch=True),
}


def shell_program(shell: str) -> str:
    return shell.split("-")[0]


@dataclass
class Case:
    tool: str
    session_id: str
    cli_args: list[str]
    env: dict[str, str]
    cwd_name: Optional[str]
    program: Optional[str] = None  # relative to the pane's directory; default: the stand-in


def case_strategy() -> st.SearchStrategy[Case]:
    return st.sampled_from(sorted(SESSION_IDS)).flatmap(
        lambda tool: st.builds(
            Case,
            tool=st.just(tool),
            session_id=SESSION_IDS[tool],
            cli_args=st.lists(hostile_text(), max_size=4),
            env=st.dictionaries(ENV_NAMES, hostile_text(nul=False, long=False), max_size=2),
            cwd_name=st.none() | dir_name(),
        )
    )


def has_control(value: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F or 0xDC80 <= ord(c) <= 0xDCFF for c in value)


def case_has_control(case: Case) -> bool:
    values = [*case.cli_args, *case.env.values(), case.cwd_name or ""]
    return any(has_control(v) for v in values)


def case_has_nul(case: Case) -> bool:
    """NUL, or a lone surrogate (no text): values no shell can be given."""
    return any(
        "\x00" in v or any(0xD800 <= ord(c) <= 0xDFFF and not 0xDC80 <= ord(c) <= 0xDCFF for c in v)
        for v in [*case.cli_args, *case.env.values()]
    )


_example = itertools.count()


def as_bytes(argv: list[str]) -> list[bytes]:
    return [os.fsencode(a) for a in argv]


def first_difference(want: list[str], got: list[str]) -> str:
    """Where two argvs part, with a little context, for the failure message."""
    if len(want) != len(got):
        return f"{len(want)} args expected, {len(got)} received: {got!r}"[:2000]
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            at = next((j for j, (a, b) in enumerate(zip(w, g)) if a != b), min(len(w), len(g)))
            return (
                f"arg {i} differs at char {at}: expected {w[max(0, at - 20) : at + 20]!r}, "
                f"received {g[max(0, at - 20) : at + 20]!r}"
            )
    return "no difference"


def run_example(
    shell: str, cases: list[Case], agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    n = next(_example)
    fake_bin = tmp_path / "bin"
    cwd_root = tmp_path / "cwds" / str(n)
    cwd_root.mkdir(parents=True)
    keep_server_alive(server)
    # Panes that can show a whole generated line (up to ~16 KB): restore presses
    # Enter only on a line it has read back, and a line taller than its pane
    # cannot be (fish then shows part of it): such a line is refused, cleared
    # and logged, which tests/hostile/test_careful_typing.py covers.
    server.cmd("set-option", "-g", "default-size", "250x100")
    session = server.new_session(
        f"h{n}", window_command=" ".join(SHELLS[shell]), start_directory=str(tmp_path)
    )
    try:
        server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
        # Restore replays only the env names this option lists now.
        names = sorted({name for case in cases for name in case.env})
        server.cmd("set-option", "-g", "@assistant-resurrect-capture-env", " ".join(names))
        windows = [session.windows[0]]
        for _ in range(len(cases) - 1):
            windows.append(
                session.new_window(
                    window_shell=" ".join(SHELLS[shell]), start_directory=str(tmp_path)
                )
            )
        entries = []
        expected: dict[str, Optional[dict[str, Any]]] = {}
        address: dict[str, str] = {}
        plain: dict[str, bool] = {}
        for win, case in zip(windows, cases):
            pane = win.panes[0]
            cwd = None
            if case.cwd_name is not None:
                cwd = cwd_root / case.cwd_name
                cwd.mkdir(exist_ok=True)
            program = str(fake_bin / case.tool)
            if case.program is not None:
                target = tmp_path / case.program
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    shutil.copy2(fake_bin / case.tool, target)
                program = case.program
            address[pane.pane_id] = f"{session.name}:{win.window_index}.{pane.pane_index}"
            words = [*case.cli_args, *case.env.values(), case.cwd_name or "", case.program or ""]
            plain[pane.pane_id] = (
                all(all(" " <= ch <= "~" for ch in w) for w in words)
                and sum(map(len, words)) < 1500
            )
            entries.append(
                {
                    "pane": address[pane.pane_id],
                    "pane_id": pane.pane_id,
                    "tool": case.tool,
                    "session_id": case.session_id,
                    "cwd": None if cwd is None else str(cwd),
                    "program": program,
                    "cli_args": case.cli_args,
                    "env": case.env,
                }
            )
            tool = assistants.by_name(case.tool)
            assert tool is not None
            typable = not case_has_nul(case) and (
                shell in ESCAPING_SHELLS or not case_has_control(case)
            )
            expected[pane.pane_id] = (
                {
                    "tool": case.tool,
                    "argv": tool.resume_argv(program, case.cli_args, case.session_id)[1:],
                    "cwd": os.path.realpath(cwd if cwd is not None else tmp_path),
                    "env": case.env,
                }
                if typable
                else None
            )
        # The user lists the captured names (restore replays no other name).
        names = sorted({name for case in cases for name in case.env})
        server.cmd("set-option", "-g", "@assistant-resurrect-capture-env", " ".join(names))
        server.cmd("set-option", "-g", "@assistant-resurrect-capture-secret-env", "on")
        stamp = f"20261125T{n:06d}"
        layout = agent.fake_layout(stamp)
        sidecar = layout.with_name(f"assistant_resurrect_{stamp}.json")
        sidecar.write_text(json.dumps({"version": 1, "sessions": entries}))
        stats.cases_generated += len(cases)

        agent.run("restore", "--layout", str(layout), "--timeout", "20")

        # Restore presses Enter only on a line it read back from the screen. A
        # line with characters the shell draws with other widths than the
        # terminal (bash under LC_ALL=C, fish with unassigned code points) may
        # not read back: it is cleared, logged and never run. A plain line
        # (printable ASCII, not huge) must always read back and run.
        log_text = (agent.resurrect_dir / "assistant-restore.log").read_text()
        refused = {
            pid
            for pid, addr in address.items()
            if f"skip {addr}: the line read back as " in log_text
        }
        for pid in refused:
            assert not plain[pid], f"{shell}: a plain line did not read back: {address[pid]}"
        stats.lines_refused_unreadable += len(refused)
        want = {pid for pid, exp in expected.items() if exp is not None and pid not in refused}

        def arrived() -> Optional[tuple[dict[str, dict[str, Any]]]]:
            got = {r["pane"]: r for r in records() if r["pane"] in expected}
            return (got,) if want <= set(got) else None

        try:
            (got,) = wait_for(arrived, timeout=15, what="every typable pane's assistant")
        except AssertionError:
            try:
                screens = {
                    w.panes[0].pane_id: "\n".join(screen_lines(w.panes[0])[-8:]) for w in windows
                }
            except Exception as exc:  # a screen that cannot be read must not hide the log
                screens = {"?": f"unreadable: {exc}"}
            log = (agent.resurrect_dir / "assistant-restore.log").read_text()
            raise AssertionError(
                f"not every command ran in {shell}.\nscreens: {screens}\nlog: {log[-3000:]}"
            ) from None
        stats.commands_typed_in_real_shells += len(got)
        for pane_id, exp in expected.items():
            rec = got.get(pane_id)
            if exp is None or pane_id in refused:
                assert rec is None, f"{shell}: an untypable or refused command ran: {rec}"
                continue
            assert rec is not None
            assert rec["tool"] == exp["tool"]
            # Compared as bytes: two undecodable bytes saved side by side may
            # form valid UTF-8 when the receiving process decodes its argv.
            assert as_bytes(rec["argv"]) == as_bytes(exp["argv"]), (
                f"{shell}: {first_difference(exp['argv'], rec['argv'])}"
            )
            assert os.fsencode(os.path.realpath(rec["cwd"])) == os.fsencode(exp["cwd"]), shell
            for name, value in exp["env"].items():
                got_value = rec["env"].get(name)
                assert got_value is not None and os.fsencode(got_value) == os.fsencode(value), (
                    f"{shell}: env {name}: {first_difference([value], [got_value or ''])}"
                )
        log = (agent.resurrect_dir / "assistant-restore.log").read_text(errors="replace")
        if None in expected.values():
            assert any(w in log for w in ("cannot be given safely", "NUL", "surrogate")), log[
                -2000:
            ]
        # Anything typed must have run by now; a few more ms for stray input.
        check_canaries(stats)
    finally:
        # Not session.kill(): libtmux cannot parse listings of panes whose cwd
        # holds a newline, which these tests create on purpose.
        server.cmd("kill-session", "-t", session.session_id)
        shutil.rmtree(cwd_root, ignore_errors=True)
        # The next example may get the same pane IDs (a server whose last
        # session ends exits, and the next one counts from %0 again).
        for rec in Path(os.environ["AR_RECORD_DIR"]).iterdir():
            rec.unlink()


@pytest.mark.parametrize("shell", sorted(SHELLS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=PHASES,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(cases=st.lists(case_strategy(), min_size=PANES, max_size=PANES))
def test_restore_types_exactly_the_saved_argv(
    shell: str,
    cases: list[Case],
    agent: Agent,
    server: Any,
    canary_bin: Path,
    tmp_path: Path,
    stats: Stats,
) -> None:
    if not shutil.which(shell_program(shell)):
        pytest.skip(f"{shell} is not installed (scripts/setup.d/60-shells.sh installs it)")
    run_example(shell, cases, agent, server, tmp_path, stats)


# Words each shell gives a meaning of its own even though they hold no quote
# or metacharacter; too rare for the generator to hit on its own.
EDGE_WORDS = ["=ls", "=", "%self", "%1", "a=b", "-", "--", "\uf616", "x\ufdd0y", "\uf6ff"]


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_edge_words_reach_the_program_unchanged(
    shell: str, agent: Agent, server: Any, canary_bin: Path, tmp_path: Path, stats: Stats
) -> None:
    if not shutil.which(shell_program(shell)):
        pytest.skip(f"{shell} is not installed (scripts/setup.d/60-shells.sh installs it)")
    cases = [
        Case("claude", "0f8fad5b-d9cb-469f-a165-70867728950e", EDGE_WORDS, {}, None),
        # A program path that reads like an assignment (`X=y/claude`).
        Case(
            "claude",
            "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            ["--model", "a=b"],
            {},
            None,
            program="X=y/claude",
        ),
        Case("codex", "16fd2706-8baf-433b-82eb-8c7fada847da", EDGE_WORDS[::-1], {}, "=ls"),
        Case("opencode", "ses_EdgeWords0001", ["%self"], {"AR_HEDGE": "=ls"}, "%self"),
        # A sidecar can hold what no argv can: NUL, a lone surrogate. Skipped.
        Case("claude", "9a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b", ["a\x00b"], {}, None),
        Case("codex", "8a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b", ["x\ud800"], {}, None),
    ]
    run_example(shell, cases, agent, server, tmp_path, stats)
