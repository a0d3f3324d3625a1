"""Gemini CLI's SessionStart / SessionEnd hooks (gemini_hooks.py), run as
Gemini runs them: a shell below the gemini process, which itself runs below
the gemini launcher (Gemini re-launches itself under node). Stand-ins named
`gemini` (shell scripts) form that chain; the state file must be keyed by the
OUTER one, the process detection saves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant_resurrect import procs
from tests.helpers import RUNTIME_SRC

S1 = "8d81a0fe-8eb4-45cb-84d1-c46d55fdca8f"
S2 = "0b9ae0da-3565-49ec-a555-9b9b096567df"


class Chain:
    """outer `gemini` -> inner `gemini` -> `sh -c` -> the hook, like Gemini."""

    def __init__(self, tmp: Path, state: Path) -> None:
        self.tmp = tmp
        self.state = state
        (tmp / "outer").mkdir()
        (tmp / "inner").mkdir()
        self.outer = tmp / "outer" / "gemini"
        self.inner = tmp / "inner" / "gemini"
        runner = (
            f"import sys; sys.path.insert(0, {str(RUNTIME_SRC)!r}); "
            "from assistant_resurrect import gemini_hooks; "
            "sys.exit(gemini_hooks.HOOKS[sys.argv[1]]())"
        )
        # Each script waits on its child (no exec of the last command), so the
        # chain stays as Gemini's is. The inner one runs each HOOK=PAYLOAD_FILE
        # argument in turn (one gemini process, several hook events).
        self.outer.write_text(f'#!/bin/sh\n{self.inner} "$@"\nexit $?\n')
        self.inner.write_text(
            "#!/bin/sh\nrc=0\n"
            'for spec in "$@"; do\n'
            f'  /bin/sh -c \'{sys.executable} -c "$0" "$1"; exit $?\' {_sq(runner)}'
            ' "${spec%%=*}" < "${spec#*=}"\n'
            "  rc=$?\n"
            "done\n"
            "exit $rc\n"
        )
        for script in (self.outer, self.inner):
            script.chmod(0o755)
        self.n = 0

    def argv(self, *events: tuple[str, Any]) -> list[str]:
        specs = []
        for hook, payload in events:
            self.n += 1
            path = self.tmp / f"payload-{self.n}"
            path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
            specs.append(f"{hook}={path}")
        return ["/bin/sh", str(self.outer), *specs]

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.tmp),
            "TMUX_ASSISTANT_RESURRECT_DIR": str(self.state),
        }

    def run(self, *events: tuple[str, Any]) -> subprocess.CompletedProcess[str]:
        """One gemini process running these hook events in turn."""
        return subprocess.run(
            self.argv(*events), capture_output=True, text=True, env=self.env(), timeout=60
        )


def _sq(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return Chain(tmp_path, tmp_path / "state")


def start_payload(sid: str, source: str = "startup") -> dict[str, str]:
    return {
        "session_id": sid,
        "transcript_path": f"/h/.gemini/tmp/p/chats/session-x-{sid[:8]}.jsonl",
        "cwd": "/h/work",
        "hook_event_name": "SessionStart",
        "timestamp": "2026-12-01T23:03:23.789Z",
        "source": source,
    }


def end_payload(sid: str, reason: str) -> dict[str, str]:
    return {"session_id": sid, "hook_event_name": "SessionEnd", "reason": reason}


def records(state: Path) -> dict[str, Any]:
    if not state.is_dir():
        return {}
    return {p.name: json.loads(p.read_text()) for p in state.glob("gemini-*.json")}


def test_start_keys_the_record_by_the_outer_gemini(chain: Chain) -> None:
    before = time.time()
    out = chain.run(("gemini-session-start", start_payload(S1)))
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""  # Gemini would read anything printed as hook output
    recs = records(chain.state)
    assert len(recs) == 1
    ((name, rec),) = recs.items()
    assert rec["session_id"] == S1 and rec["source"] == "startup" and rec["tool"] == "gemini"
    assert name == f"gemini-{rec['pid']}.json"
    assert rec["timestamp_epoch"] >= before - 1
    assert isinstance(rec["start_time"], float)


def test_the_pid_is_the_outer_process(chain: Chain) -> None:
    """The record is keyed by the process the chain was started as (the outer
    gemini), not by the inner one that runs the hook's shell."""
    proc = subprocess.Popen(
        chain.argv(("gemini-session-start", start_payload(S2))),
        env=chain.env(),
        stdin=subprocess.DEVNULL,
    )
    assert proc.wait(timeout=60) == 0
    recs = records(chain.state)
    assert list(recs) == [f"gemini-{proc.pid}.json"], (proc.pid, recs)
    assert recs[f"gemini-{proc.pid}.json"]["session_id"] == S2


def test_clear_keeps_the_record_until_the_new_session_replaces_it(chain: Chain) -> None:
    # /clear: SessionEnd(clear) of S1, then SessionStart(clear) of S2. Between
    # the two the record stays (a save there must not fall back to argv).
    out = chain.run(
        ("gemini-session-start", start_payload(S1)),
        ("gemini-session-end", end_payload(S1, "clear")),
    )
    assert out.returncode == 0, out.stderr
    assert [r["session_id"] for r in records(chain.state).values()] == [S1]
    out = chain.run(
        ("gemini-session-start", start_payload(S1)),
        ("gemini-session-end", end_payload(S1, "clear")),
        ("gemini-session-start", start_payload(S2, "clear")),
    )
    assert out.returncode == 0, out.stderr
    assert sorted(r["session_id"] for r in records(chain.state).values()) == sorted([S1, S2])


def test_end_of_another_session_keeps_the_record(chain: Chain) -> None:
    out = chain.run(
        ("gemini-session-start", start_payload(S2)),
        ("gemini-session-end", end_payload(S1, "other")),
    )
    assert out.returncode == 0, out.stderr
    assert [r["session_id"] for r in records(chain.state).values()] == [S2]
    assert "kept" in (chain.state / "hooks.log").read_text()


@pytest.mark.parametrize(("ended", "reason"), [(S1, "exit"), (S2, "exit"), (S1, "logout")])
def test_end_removes_the_record(chain: Chain, ended: str, reason: str) -> None:
    """Exit removes it whatever session ends (after a /resume from the session
    browser, which fires no hook, the ending session is the resumed one)."""
    out = chain.run(
        ("gemini-session-start", start_payload(S1)),
        ("gemini-session-end", end_payload(ended, reason)),
    )
    assert out.returncode == 0, out.stderr
    assert records(chain.state) == {}
    assert chain.state.is_dir()  # the start did write one


@pytest.mark.parametrize("payload", ["not json", "[1]", json.dumps({"source": "startup"})])
def test_bad_payloads_record_nothing(chain: Chain, payload: str) -> None:
    out = chain.run(("gemini-session-start", payload))
    assert out.returncode == 0 and out.stderr == ""
    assert records(chain.state) == {}
    assert "nothing recorded" in (chain.state / "hooks.log").read_text()


def test_no_gemini_above_records_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code = (
        f"import sys; sys.path.insert(0, {str(RUNTIME_SRC)!r}); "
        "from assistant_resurrect import gemini_hooks; "
        "sys.exit(gemini_hooks.HOOKS['gemini-session-start']())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(start_payload(S1)),
        capture_output=True,
        text=True,
        env={**os.environ, "TMUX_ASSISTANT_RESURRECT_DIR": str(state)},
        timeout=60,
    )
    assert out.returncode == 0
    assert records(state) == {}
    assert "no gemini process above" in (state / "hooks.log").read_text()


def test_a_refused_state_dir_is_one_line_and_exit_1(chain: Chain) -> None:
    chain.state.mkdir(mode=0o700)
    chain.state.chmod(0o777)  # writable by others: refused
    out = chain.run(("gemini-session-start", start_payload(S1)))
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and "Gemini session IDs will not be saved" in lines[0]
    assert "Traceback" not in out.stderr
    assert records(chain.state) == {}


def test_find_gemini_stops_at_the_top_of_the_gemini_run() -> None:
    """The walk takes the outermost of consecutive gemini processes, and no
    gemini at all when none is above."""
    from assistant_resurrect import gemini_hooks

    me = procs.read_proc(os.getpid())
    assert me is not None
    assert gemini_hooks.find_gemini(os.getpid()) is None
