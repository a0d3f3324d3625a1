"""Real behaviour: assistants in tmux panes survive a tmux server restart
through the role-configured resurrect hooks (see shared/testlib/behaviour.py)."""

import shlex

import pytest
from behaviour import run_scenario


@pytest.fixture(scope="module")
def run(host):
    return run_scenario(host)


def last_command(line):
    """Tokens of the last command of a typed line (after any `cd ... &&`), without
    the `command` restore puts before the program (so no alias applies)."""
    parts = line.split(" && ")
    toks = shlex.split(parts[-1])
    assert toks[:1] == ["command"], toks
    return toks[1:]


def test_save_recorded_each_assistant_with_its_session_id(run):
    sc = run["sidecar"]
    assert sc is not None, (
        f"no sidecar at {run['sidecar_path']}\n{run['save_output'].stdout}\n{run.get('save_log')}"
    )
    by_pane = {s["pane"]: s for s in sc["sessions"]}
    s = run["sessions"]
    want = {
        "work:0.0": ("claude", s["claude"]),
        "work:0.1": ("opencode", s["opencode"]),
        "work:1.0": ("codex", s["codex"]),
    }
    got = {p: (e.get("tool"), e.get("session_id")) for p, e in by_pane.items()}
    assert got == want, (
        f"sidecar sessions differ\nsave log:\n{run.get('save_log')}\nstatus:\n{run.get('status')}"
    )


def test_claude_cli_args_saved(run):
    by_pane = {e["pane"]: e for e in run["sidecar"]["sessions"]}
    assert by_pane["work:0.0"]["cli_args"] == ["--model", "sonnet"]


def test_restore_waits_for_a_client(run):
    # @assistant-resurrect-start defaults to `attached`
    typed = {a: v for a, v in run["typed_before_attach"].items() if v}
    assert typed == {}, typed


def test_restore_typed_claude_resume(run):
    lines = run["typed"]["work:0.0"]
    assert lines and len(lines) == 1, f"typed into work:0.0: {lines}\n{run['restore_log']}"
    toks = last_command(lines[0])
    assert toks[0].rsplit("/", 1)[-1] == "claude", toks
    i = toks.index("--resume")
    assert toks[i + 1] == run["sessions"]["claude"]
    assert toks[toks.index("--model") + 1] == "sonnet", toks


def test_restore_typed_opencode_session(run):
    lines = run["typed"]["work:0.1"]
    assert lines and len(lines) == 1, f"typed into work:0.1: {lines}\n{run['restore_log']}"
    toks = last_command(lines[0])
    assert toks[0].rsplit("/", 1)[-1] == "opencode", toks
    flag = "-s" if "-s" in toks else "--session"
    assert toks[toks.index(flag) + 1] == run["sessions"]["opencode"], toks


def test_restore_typed_codex_resume(run):
    lines = run["typed"]["work:1.0"]
    assert lines and len(lines) == 1, f"typed into work:1.0: {lines}\n{run['restore_log']}"
    toks = last_command(lines[0])
    assert toks[0].rsplit("/", 1)[-1] == "codex", toks
    i = toks.index("resume")
    assert toks[i + 1] == run["sessions"]["codex"], toks


def test_nothing_typed_into_the_plain_shell(run):
    assert run["typed"]["work:1.1"] == [], run["typed"]["work:1.1"]


@pytest.mark.parametrize("addr", ["work:0.0", "work:0.1", "work:1.0"])
def test_resumed_assistant_runs(run, addr):
    sid = {
        "work:0.0": run["sessions"]["claude"],
        "work:0.1": run["sessions"]["opencode"],
        "work:1.0": run["sessions"]["codex"],
    }[addr]
    procs = run["running"][addr]
    assert any(sid in p for p in procs), f"{addr}: no process resuming {sid}; processes: {procs}"


def test_second_restore_types_nothing(run):
    assert run["typed_again"] == run["typed"], (run["typed"], run["typed_again"])
