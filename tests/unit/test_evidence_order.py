"""Evidence order in base.Assistant.find_session_id: a process's own record
takes an ID over from a pane whose command line merely names it; a fallback
strategy never does; a strategy's NO_CONVERSATION or `resumable` False makes
the entry a fresh start."""

from __future__ import annotations

from typing import Optional

from assistant_resurrect.assistants.base import (
    FRESH,
    NO_CONVERSATION,
    Assistant,
    Context,
    Found,
    Launch,
)
from assistant_resurrect.log import Log
from assistant_resurrect.procs import Snapshot

X = "11111111-2222-4333-8444-555555555555"


class Tool(Assistant):
    name = "tool"
    evidence = frozenset({"own-record"})

    def __init__(self) -> None:
        self.answers: dict[str, Optional[str]] = {}
        self.resumes: Optional[bool] = None

    def strategies(self):  # type: ignore[no-untyped-def]
        return [(n, lambda ctx, f, n=n: self.answers.get(n)) for n in ("own-record", "store")]

    def resumable(self, ctx: Context, found: Found, session_id: str) -> Optional[bool]:
        return self.resumes


def ctx_with_arg_claim(lines: list[str]) -> Context:
    ctx = Context(snap=Snapshot(), log=Log(None, echo=False), home="/nonexistent")
    ctx.log = lines.append  # type: ignore[assignment]
    ctx.claimed[X] = 1  # pane 1's command line names X (restored with it)
    ctx.from_args.add(X)
    return ctx


def found(pid: int) -> Found:
    return Found(pid=pid, launch=Launch("tool", "tool", [], True), start=0.0, cwd="/")


def test_the_process_record_outranks_another_panes_command_line() -> None:
    tool = Tool()
    tool.answers = {"own-record": X}
    lines: list[str] = []
    ctx = ctx_with_arg_claim(lines)
    assert tool.find_session_id(ctx, found(2)) == (X, "own-record")
    assert any("outranks pid 1's command line" in line for line in lines)


def test_a_store_guess_never_takes_a_claimed_id() -> None:
    tool = Tool()
    tool.answers = {"store": X}
    lines: list[str] = []
    assert tool.find_session_id(ctx_with_arg_claim(lines), found(2)) == (None, None)
    assert any("already saved for another pane" in line for line in lines)


def test_no_conversation_and_not_resumable_are_fresh_starts() -> None:
    tool = Tool()
    tool.answers = {"own-record": NO_CONVERSATION, "store": X}
    lines: list[str] = []
    ctx = Context(snap=Snapshot(), log=lines.append, home="/nonexistent")  # type: ignore[arg-type]
    assert tool.find_session_id(ctx, found(3)) == (None, FRESH)
    tool.answers = {"own-record": X}
    tool.resumes = False
    assert tool.find_session_id(ctx, found(3)) == (None, FRESH)
    tool.resumes = None
    assert tool.find_session_id(ctx, found(3)) == (X, "own-record")
