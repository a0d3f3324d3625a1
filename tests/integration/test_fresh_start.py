"""A session saved with no conversation yet (`id_source` `fresh`) is restored
as a new session of the same tool with the same arguments, once; an entry
without an ID that is not marked fresh is still skipped."""

from __future__ import annotations

from libtmux import Server

from tests.helpers import Agent, records, wait_for
from tests.integration.test_attach import entry, new_pane, tmux, write_sidecar


def fresh(pane: str, pid: int = 4242) -> dict:
    e = entry(pane, None)  # type: ignore[arg-type]
    e.update({"id_source": "fresh", "cli_args": ["--model", "opus"], "pid": pid})
    return e


def test_dry_run_types_the_tool_with_its_arguments_and_no_resume(
    server: Server, agent: Agent
) -> None:
    new_pane(server, "w")
    new_pane(server, "v")
    unknown = entry("v:0.0", None)  # type: ignore[arg-type]
    write_sidecar(agent, [fresh("w:0.0"), unknown])
    out = agent.run("restore", "--dry-run").stdout.splitlines()
    assert "w:0.0: command claude --model opus" in out, out
    assert "skip v:0.0: no session ID was found when it was saved" in out, out


def test_restore_starts_it_once(server: Server, agent: Agent) -> None:
    new_pane(server, "w")
    tmux(server, "set-option", "-g", "@assistant-resurrect-start", "immediate")
    write_sidecar(agent, [fresh("w:0.0")])
    agent.run("restore")
    started = wait_for(lambda: records("claude"), what="claude started")
    assert started[0]["argv"] == ["--model", "opus"]
    mark = tmux(server, "show-options", "-pqv", "-t", "w:0.0", "@assistant-resurrect-restored")
    assert mark.strip() == "new:4242"
    log = (agent.resurrect_dir / "assistant-restore.log").read_text()
    assert "claude had no conversation yet; starting it afresh" in log
    agent.run("restore")  # the mark: typed once
    assert len(records("claude")) == 1
