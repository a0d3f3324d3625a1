"""Factory Droid's SessionStart / SessionEnd hooks and Cursor Agent's
sessionStart / beforeSubmitPrompt hooks (hooks.py), run as the tools run
them: a shell below the tool's processes. Droid 0.225.2 runs its hooks from
its engine, below the native binary, below the node launcher: stand-ins
named `droid` form that chain, and the state file must be keyed by the
OUTERMOST one (the process detection saves). Cursor Agent is one process
(`cursor-agent`). The payloads are the fields each tool documents or builds
(Droid: its `buildSessionHookInput`, read from 0.225.2's code; Cursor: its
hooks documentation); Cursor's CLI itself was never run here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant_resurrect import assistants, procs
from tests.helpers import RUNTIME_SRC
from tests.unit.strategy_helpers import Proc, make_proc

S1 = "8d81a0fe-8eb4-45cb-84d1-c46d55fdca8f"
S2 = "0b9ae0da-3565-49ec-a555-9b9b096567df"
RUNNER = (
    f"import sys; sys.path.insert(0, {str(RUNTIME_SRC)!r}); "
    "from assistant_resurrect import hooks; "
    "sys.exit(hooks.HOOKS[sys.argv[1]]())"
)


def droid_payload(sid: str, event: str = "SessionStart", source: str = "startup") -> dict:
    """What Droid 0.225.2's buildSessionHookInput sends (plus SessionStart's extras)."""
    out: dict[str, Any] = {
        "session_id": sid,
        "transcript_path": f"/home/u/.factory/sessions/-tmp-p/{sid}.jsonl",
        "cwd": "/tmp/p",
        "permission_mode": "default",
        "hook_event_name": event,
    }
    if event == "SessionStart":
        out.update({"source": source, "CLAUDE_ENV_FILE": "/home/u/.factory/temp/env/x.sh"})
    return out


def cursor_payload(chat: str, event: str) -> dict:
    """Cursor's documented common hook input fields."""
    return {
        "conversation_id": chat,
        "generation_id": "0d6c2f8e-3a41-4f6b-9b1e-7c2d5e8f9a10",
        "hook_event_name": event,
        "workspace_roots": ["/tmp/p"],
        "cursor_version": "2026.08.31-4057e58",
    }


class Chain:
    """`names[0]` -> ... -> `names[-1]` (stand-in scripts, each waiting on the
    next) -> `sh -c` -> the hook, once per HOOK=PAYLOAD_FILE argument."""

    def __init__(self, tmp: Path, state: Path, *names: str) -> None:
        self.tmp, self.state, self.n = tmp, state, 0
        self.scripts = []
        for i, name in enumerate(names):
            (tmp / f"level{i}").mkdir()
            self.scripts.append(tmp / f"level{i}" / name)
        for i, script in enumerate(self.scripts):
            if i + 1 < len(self.scripts):
                script.write_text(f'#!/bin/sh\n{self.scripts[i + 1]} "$@"\nexit $?\n')
            else:
                q = "'" + RUNNER.replace("'", "'\\''") + "'"
                script.write_text(
                    "#!/bin/sh\nrc=0\n"
                    'for spec in "$@"; do\n'
                    f'  /bin/sh -c \'{sys.executable} -c "$0" "$1"; exit $?\' {q}'
                    ' "${spec%%=*}" < "${spec#*=}"\n'
                    "  rc=$?\n"
                    "done\n"
                    "exit $rc\n"
                )
            script.chmod(0o755)

    def run(self, *events: tuple[str, Any]) -> subprocess.CompletedProcess[str]:
        specs = []
        for hook, payload in events:
            self.n += 1
            path = self.tmp / f"payload-{self.n}"
            path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
            specs.append(f"{hook}={path}")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.tmp),
            "TMUX_ASSISTANT_RESURRECT_DIR": str(self.state),
        }
        return subprocess.run(
            ["/bin/sh", str(self.scripts[0]), *specs],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    def files(self) -> dict[str, dict]:
        if not self.state.is_dir():
            return {}
        return {p.name: json.loads(p.read_text()) for p in self.state.glob("*-*.json")}


@pytest.fixture
def droid_chain(tmp_path: Path) -> Chain:
    return Chain(tmp_path, tmp_path / "state", "droid", "droid", "droid")


@pytest.fixture
def cursor_chain(tmp_path: Path) -> Chain:
    return Chain(tmp_path, tmp_path / "state", "cursor-agent")


def test_droid_session_start_keys_the_outermost_droid(droid_chain: Chain) -> None:
    """The hook runs three droids deep (launcher, binary, engine): the file is
    the outermost's, with its start time and the payload's session."""
    result = droid_chain.run(("droid-session-start", droid_payload(S1)))
    assert result.returncode == 0, result.stderr
    [(name, record)] = droid_chain.files().items()
    pid = record["pid"]
    assert name == f"droid-{pid}.json"
    assert record["session_id"] == S1 and record["source"] == "startup"
    assert record["event"] == "droid-session-start" and record["tool"] == "droid"
    # the shell ran the outermost stand-in: nothing above it is a droid
    proc = procs.read_proc(pid)
    assert proc is None or record["start_time"] == proc.start


def test_droid_new_session_replaces_and_end_keeps_the_new_one(droid_chain: Chain) -> None:
    """/new: SessionEnd of the old session, SessionStart (source clear) of the
    new; a late SessionEnd of the old one keeps the new record."""
    result = droid_chain.run(
        ("droid-session-start", droid_payload(S1)),
        ("droid-session-end", droid_payload(S1, "SessionEnd")),
        ("droid-session-start", droid_payload(S2, source="clear")),
        ("droid-session-end", droid_payload(S1, "SessionEnd")),
    )
    assert result.returncode == 0, result.stderr
    [record] = droid_chain.files().values()
    assert record["session_id"] == S2 and record["source"] == "clear"


def test_droid_session_end_removes_its_record(droid_chain: Chain) -> None:
    result = droid_chain.run(
        ("droid-session-start", droid_payload(S1)),
        ("droid-session-end", droid_payload(S1, "SessionEnd")),
    )
    assert result.returncode == 0 and droid_chain.files() == {}


@pytest.mark.parametrize("payload", [droid_payload("unknown"), "not json", "[]", "{}"])
def test_droid_without_a_session_id_records_nothing(droid_chain: Chain, payload: Any) -> None:
    """Droid sends `session_id: "unknown"` when it has none yet."""
    result = droid_chain.run(("droid-session-start", payload))
    assert result.returncode == 0 and droid_chain.files() == {}


def test_droid_state_dir_refused_is_one_line_and_exit_1(tmp_path: Path) -> None:
    state = tmp_path / "elsewhere"
    state.mkdir()
    (tmp_path / "state").symlink_to(state)
    chain = Chain(tmp_path, tmp_path / "state", "droid")
    result = chain.run(("droid-session-start", droid_payload(S1)))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "droid session IDs will not be saved" in result.stderr


def test_cursor_hooks_record_the_chat_and_answer_cursor(cursor_chain: Chain) -> None:
    """sessionStart and beforeSubmitPrompt both name the chat; each prints the
    JSON answer Cursor reads (the prompt goes on)."""
    result = cursor_chain.run(
        ("cursor-session-start", cursor_payload(S1, "sessionStart")),
        ("cursor-prompt", cursor_payload(S2, "beforeSubmitPrompt")),
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{}, {"continue": True}]
    [(name, record)] = cursor_chain.files().items()
    assert name == f"cursor-agent-{record['pid']}.json"
    assert record["session_id"] == S2 and record["event"] == "cursor-prompt"


def test_cursor_hook_never_blocks_even_when_nothing_can_be_written(tmp_path: Path) -> None:
    state = tmp_path / "elsewhere"
    state.mkdir()
    (tmp_path / "state").symlink_to(state)
    chain = Chain(tmp_path, tmp_path / "state", "cursor-agent")
    result = chain.run(("cursor-prompt", cursor_payload(S1, "beforeSubmitPrompt")))
    assert result.returncode == 0 and json.loads(result.stdout) == {"continue": True}


def test_cursor_hook_from_the_editor_records_nothing(tmp_path: Path) -> None:
    """The Cursor editor reads ~/.cursor/hooks.json too: no cursor-agent above."""
    chain = Chain(tmp_path, tmp_path / "state", "cursor")
    result = chain.run(("cursor-session-start", cursor_payload(S1, "sessionStart")))
    assert result.returncode == 0 and json.loads(result.stdout) == {}
    assert chain.files() == {}


# -- the state-file strategies ---------------------------------------------------


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    monkeypatch.delenv("FACTORY_HOME_OVERRIDE", raising=False)
    monkeypatch.delenv("CURSOR_CONFIG_DIR", raising=False)
    yield from make_proc(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("tool", "argv"),
    [
        ("droid", ["node", "/usr/lib/node_modules/@factory/cli/bin/droid", "--resume", S2]),
        ("cursor-agent", ["cursor-agent", "--resume", S2]),
    ],
)
def test_state_file_outranks_the_command_line(proc: Proc, tool: str, argv: list[str]) -> None:
    """The hook's record (the session shown now) wins over `--resume <other>`;
    a record of an earlier process with this PID is ignored."""
    assert proc.find(tool, argv) == (S2, "args")
    proc.state_file(tool, {"tool": tool, "pid": proc.pid, "session_id": S1, "start_time": 1.0})
    assert proc.find(tool, argv) == (S2, "args")  # an earlier process's: ignored
    proc.state_file(
        tool, {"tool": tool, "pid": proc.pid, "session_id": S1, "start_time": proc.start}
    )
    assert proc.find(tool, argv) == (S1, "state-file")
    proc.state_file(
        tool, {"tool": tool, "pid": proc.pid, "session_id": "unknown", "start_time": proc.start}
    )
    assert proc.find(tool, argv) == (S2, "args")


def test_the_hooks_are_registered() -> None:
    from assistant_resurrect.hooks import HOOKS

    for name in ("droid", "cursor-agent"):
        tool = assistants.by_name(name)
        assert tool is not None and tool.agent_hooks
        assert all(h in HOOKS for h in tool.agent_hooks)
        assert tool.strategies()[0][0] == "state-file" and "state-file" in tool.evidence
