"""The whole path with hostile values: a stand-in assistant is started with
hostile option values, working directory and environment; `save` reads
them from /proc; the assistant exits; `restore` types the command into the
pane's bash; the new process gets exactly what the assistant module kept."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from assistant_resurrect import assistants
from tests.helpers import Agent, records, wait_for
from tests.hostile.conftest import Stats, check_canaries, keep_server_alive
from tests.hostile.strategies import ENV_NAMES, dir_name, hostile_text
from tests.screens import screen_lines

PANES = 4
EXAMPLES = int(os.environ.get("AR_HOSTILE_CYCLE_EXAMPLES", "4"))
PHASES = (
    list(Phase)
    if os.environ.get("AR_HOSTILE_SHRINK")
    else [Phase.explicit, Phase.reuse, Phase.generate]
)
# Options each stand-in is started with; their values are generated.
OPTIONS = {
    "claude": ["--model", "--append-system-prompt", "--add-dir"],
    "codex": ["--model", "--config", "--profile"],
    "opencode": ["--model", "--agent"],
}
IDS = {
    "claude": st.uuids().map(str),
    "codex": st.uuids().map(str),
    "opencode": st.from_regex(r"ses_[A-Za-z0-9]{8,40}\Z", fullmatch=True),
}
# Launches the stand-in with an exact argv, cwd and environment from a JSON file.
LAUNCHER = (
    "import json, os, sys; d = json.load(open(sys.argv[1])); os.chdir(d['cwd']); "
    "os.environ.update(d['env']); os.execv(d['argv'][0], d['argv'])"
)


@dataclass
class Launch:
    tool: str
    session_id: str
    values: list[str]
    env: dict[str, str]
    cwd_name: str


def launch_strategy() -> st.SearchStrategy[Launch]:
    # Values that start with '-' read as options, not values: the module's
    # own scan decides, and the expectation below asks the module.
    value = hostile_text(long=False).filter(lambda v: v != "" and not v.startswith("-"))
    return st.sampled_from(sorted(OPTIONS)).flatmap(
        lambda tool: st.builds(
            Launch,
            tool=st.just(tool),
            session_id=IDS[tool],
            values=st.lists(value, min_size=len(OPTIONS[tool]), max_size=len(OPTIONS[tool])),
            env=st.dictionaries(ENV_NAMES, hostile_text(long=False), max_size=2),
            cwd_name=dir_name(),
        )
    )


def argv_of(launch: Launch) -> list[str]:
    args = [w for pair in zip(OPTIONS[launch.tool], launch.values) for w in pair]
    if launch.tool == "claude":
        return [*args, "--resume", launch.session_id]
    if launch.tool == "codex":
        return [*args, "resume", launch.session_id]
    return [*args, "-s", launch.session_id]


_n = itertools.count()


def current_command(server: Any, pane_id: str) -> str:
    out = server.cmd("display-message", "-p", "-t", pane_id, "#{pane_current_command}").stdout
    return out[0] if out else ""


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=PHASES,
    suppress_health_check=list(HealthCheck),
)
@given(
    launches=st.lists(launch_strategy(), min_size=PANES, max_size=PANES).filter(
        lambda ls: len({n for launch in ls for n in launch.env}) <= 6
    )
)
def test_save_then_restore_gives_the_assistant_its_hostile_arguments_back(
    launches: list[Launch],
    agent: Agent,
    server: Any,
    canary_bin: Path,
    tmp_path: Path,
    stats: Stats,
) -> None:
    n = next(_n)
    root = tmp_path / "cycle" / str(n)
    root.mkdir(parents=True)
    keep_server_alive(server)
    session = server.new_session(f"c{n}", start_directory=str(tmp_path))
    try:
        names = sorted({name for launch in launches for name in launch.env})
        server.cmd("set-option", "-g", "@assistant-resurrect-start", "immediate")
        server.cmd("set-option", "-g", "@assistant-resurrect-capture-env", " ".join(names))
        wins = [session.windows[0]] + [session.new_window() for _ in launches[1:]]
        expected = {}
        for i, (win, launch) in enumerate(zip(wins, launches)):
            pane = win.panes[0]
            cwd = root / launch.cwd_name
            cwd.mkdir(exist_ok=True)
            spec = root / f"launch-{i}.json"
            argv = [str(tmp_path / "bin" / launch.tool), *argv_of(launch)]
            spec.write_text(json.dumps({"argv": argv, "cwd": str(cwd), "env": launch.env}))
            wait_for(lambda p=pane: screen_lines(p), what="prompt")
            pane.send_keys(f"{sys.executable} -c {json.dumps(LAUNCHER)} {spec}", enter=True)
            tool = assistants.by_name(launch.tool)
            assert tool is not None
            expected[pane.pane_id] = {
                "argv": tool.resume_argv("x", tool.cli_args(argv[1:]), launch.session_id)[1:],
                "cwd": os.fsencode(cwd),
                "env": launch.env,
            }
        started = wait_for(
            lambda: (lambda r: r if len(r) == len(launches) else None)(records()),
            what="every stand-in",
        )
        layout = agent.fake_layout(f"20261125T{n:06d}")
        agent.run("save", str(layout))
        saved = {s["pane_id"]: s for s in agent.sidecar(layout)["sessions"]}
        assert {s["session_id"] for s in saved.values()} == {x.session_id for x in launches}
        for rec in started:
            os.kill(rec["pid"], signal.SIGTERM)
        for pane_id in expected:
            wait_for(lambda p=pane_id: current_command(server, p) == "bash", what="the shell")
        for p in Path(os.environ["AR_RECORD_DIR"]).iterdir():
            p.unlink()
        agent.run("restore", "--layout", str(layout))
        got = wait_for(
            lambda: (lambda r: r if len(r) == len(launches) else None)(records()),
            what="every restored assistant",
        )
        stats.cases_generated += len(launches)
        stats.commands_typed_in_real_shells += len(got)
        for rec in got:
            want = expected[rec["pane"]]
            assert [os.fsencode(a) for a in rec["argv"]] == [
                os.fsencode(a) for a in want["argv"]
            ], (rec["argv"], want["argv"])
            assert os.fsencode(rec["cwd"]) == want["cwd"]
            for name, value in want["env"].items():
                assert os.fsencode(rec["env"][name]) == os.fsencode(value), name
        check_canaries(stats)
    finally:
        # Not session.kill(): libtmux cannot parse listings of panes whose cwd
        # holds a newline, which these tests create on purpose.
        server.cmd("kill-session", "-t", session.session_id)
        for p in Path(os.environ["AR_RECORD_DIR"]).iterdir():
            p.unlink()
