"""A pane whose assistant shows nothing that names its session (Pi hides its
arguments and writes nothing until a message; a resumed session looks like no
session at all) keeps the ID restore typed into it: the pane's marker. A fresh
start's marker (`new:<pid>`), a marker that is not an ID of the tool, and an
ID another pane's process shows are never taken."""

from __future__ import annotations

from pathlib import Path

from libtmux import Server

from tests.helpers import Agent, records, start_in_pane, wait_for

SID = "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"


def _saved(server: Server, agent: Agent, tmp_path: Path, marks: dict[str, str]) -> dict:
    session = server.new_session("w", start_directory=str(tmp_path))
    panes = [session.windows[0].panes[0]]
    for _ in range(len(marks) - 1):
        panes.append(session.new_window(start_directory=str(tmp_path)).panes[0])
    for pane, mark in zip(panes, marks.values()):
        start_in_pane(pane, "claude")
        if mark:
            pane.cmd("set-option", "-p", "@assistant-resurrect-restored", mark)
    wait_for(lambda: len(records("claude")) == len(marks), what="the claudes")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    by_pane = {s["pane"]: s for s in agent.sidecar(layout)["sessions"]}
    return {name: by_pane[f"w:{i}.0"] for i, name in enumerate(marks)}


def test_the_restored_id_is_kept_when_nothing_else_names_one(
    server: Server, agent: Agent, tmp_path: Path
) -> None:
    saved = _saved(server, agent, tmp_path, {"kept": SID, "fresh": "new:4242", "bad": "x y"})
    assert (saved["kept"]["session_id"], saved["kept"]["id_source"]) == (SID, "restored")
    for name in ("fresh", "bad"):
        assert saved[name]["session_id"] is None, saved[name]
    log = (agent.resurrect_dir / "assistant-save.log").read_text()
    assert f"keeping {SID}, which restore typed into this pane" in log


def test_an_id_another_pane_shows_is_not_taken(
    server: Server, agent: Agent, tmp_path: Path
) -> None:
    session = server.new_session("w", start_directory=str(tmp_path))
    other = session.new_window(start_directory=str(tmp_path)).panes[0]
    start_in_pane(session.windows[0].panes[0], "claude")
    start_in_pane(other, f"claude --resume {SID}")
    session.windows[0].panes[0].cmd("set-option", "-p", "@assistant-resurrect-restored", SID)
    wait_for(lambda: len(records("claude")) == 2, what="the claudes")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    by_pane = {s["pane"]: s for s in agent.sidecar(layout)["sessions"]}
    assert by_pane["w:1.0"]["session_id"] == SID
    assert by_pane["w:0.0"]["session_id"] is None
