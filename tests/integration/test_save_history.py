"""Sidecar history: one per layout, older layouts restore their own assistants,
tmux-resurrect's dropped duplicate saves, pruning, pane contents, legacy file,
env capture, status and doctor."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

from libtmux import Server

from tests.helpers import Agent, records, start_in_pane, wait_for
from tests.screens import screen_lines

A = "3f1e8a1c-1111-4222-8333-444455556666"
B = "4a2e8a1c-2222-4222-8333-444455556666"


def _stop(pane: object) -> None:
    """Ctrl-C the stand-in and wait for the prompt."""
    pane.send_keys("C-c", enter=False, literal=False)  # type: ignore[attr-defined]
    wait_for(lambda: screen_lines(pane)[-1:] == ["$"], what="prompt back")


def _start(server: Server, cmd: str, name: str = "w") -> object:
    session = server.new_session(name)
    pane = session.windows[0].panes[0]
    start_in_pane(pane, cmd)
    return pane


def test_each_layout_keeps_its_own_sidecar(server: Server, agent: Agent) -> None:
    pane = _start(server, f"claude --resume {A}")
    wait_for(lambda: records("claude"), what="claude started")
    first = agent.fake_layout("20261125T100000")
    agent.run("save", str(first))
    _stop(pane)
    start_in_pane(pane, f"claude --resume {B}")
    wait_for(lambda: len(records("claude")) == 2, what="second claude")
    second = agent.fake_layout("20261125T110000")
    agent.run("save", str(second))
    assert agent.sidecar(first)["sessions"][0]["session_id"] == A
    assert agent.sidecar(second)["sessions"][0]["session_id"] == B
    _stop(pane)
    # Restoring the older layout uses the older sidecar; the default is `last`.
    out = agent.run("restore", "--dry-run", "--layout", str(first)).stdout
    assert out.strip() == f"w:0.0: command claude --resume {A}"
    out = agent.run("restore", "--dry-run").stdout
    assert out.strip() == f"w:0.0: command claude --resume {B}"


def test_save_with_no_assistants_keeps_history(server: Server, agent: Agent) -> None:
    _start(server, f"claude --resume {A}")
    wait_for(lambda: records("claude"), what="claude started")
    first = agent.fake_layout("20261125T100000")
    agent.run("save", str(first))
    server.kill()
    server.new_session("empty")
    second = agent.fake_layout("20261125T110000")
    agent.run("save", str(second))
    agent.run("save-finish")
    assert agent.sidecar(second)["sessions"] == []
    assert agent.sidecar(first)["sessions"][0]["session_id"] == A


def test_dropped_duplicate_save_updates_the_last_layout(server: Server, agent: Agent) -> None:
    """tmux-resurrect deletes a new layout equal to `last` after post-save-layout;
    save-finish moves our new sidecar onto the layout that stays."""
    _start(server, f"claude --resume {A}")
    wait_for(lambda: records("claude"), what="claude started")
    kept = agent.fake_layout("20261125T100000")
    dropped = agent.resurrect_dir / "tmux_resurrect_20261125T110000.txt"
    dropped.write_text("same\n")
    (agent.resurrect_dir / "assistant_resurrect_20261125T100000.json").write_text(
        json.dumps({"version": 1, "sessions": []})
    )
    agent.run("save", str(dropped))
    dropped.unlink()  # what resurrect does when the layout did not change
    agent.run("save-finish")
    assert agent.sidecar(kept)["sessions"][0]["session_id"] == A
    assert not (agent.resurrect_dir / "assistant_resurrect_20261125T110000.json").exists()


def test_prune_follows_resurrect_retention(server: Server, agent: Agent) -> None:
    server.new_session("x")
    rdir = agent.resurrect_dir
    for stamp in ("20261101T000000", "20261102T000000"):
        (rdir / f"assistant_resurrect_{stamp}.json").write_text('{"version":1,"sessions":[]}')
    (rdir / "tmux_resurrect_20261102T000000.txt").write_text("x")
    agent.fake_layout("20261125T000000")
    agent.run("save-finish")
    assert not (rdir / "assistant_resurrect_20261101T000000.json").exists()  # layout deleted
    assert (rdir / "assistant_resurrect_20261102T000000.json").exists()


def test_pane_contents_of_assistant_panes_removed(server: Server, agent: Agent) -> None:
    pane = _start(server, f"claude --resume {A}")
    del pane
    server.new_session("plain")
    wait_for(lambda: records("claude"), what="claude started")
    server.cmd("set-option", "-g", "@resurrect-capture-pane-contents", "on")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    archive = agent.resurrect_dir / "pane_contents.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("pane-w:0.0", "pane-plain:0.0"):
            data = f"screen of {name}\n".encode()
            info = tarfile.TarInfo(f"./pane_contents/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    agent.run("save-finish")
    with tarfile.open(archive, "r:gz") as tar:
        names = sorted(os.path.basename(m.name) for m in tar.getmembers())
        plain = tar.extractfile("./pane_contents/pane-plain:0.0")
        assert plain is not None and plain.read() == b"screen of pane-plain:0.0\n"
    assert names == ["pane-plain:0.0"]


def test_env_capture_and_secret_filter(server: Server, agent: Agent) -> None:
    session = server.new_session("w")
    server.cmd(
        "set-option", "-g", "@assistant-resurrect-capture-env", "AR_PROFILE AR_API_TOKEN 'bad-name'"
    )
    pane = session.windows[0].panes[0]
    start_in_pane(pane, f"AR_PROFILE='dev box' AR_API_TOKEN=s3cr3t claude --resume {A}")
    wait_for(lambda: records("claude"), what="claude started")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    entry = agent.sidecar(layout)["sessions"][0]
    assert entry["env"] == {"AR_PROFILE": "dev box"}
    log = (agent.resurrect_dir / "assistant-save.log").read_text()
    assert "AR_API_TOKEN" in log and "s3cr3t" not in log
    _stop(pane)
    out = agent.run("restore", "--dry-run").stdout
    assert out.strip() == f"w:0.0: AR_PROFILE='dev box' command claude --resume {A}"


def test_secret_env_needs_its_own_option(server: Server, agent: Agent) -> None:
    session = server.new_session("w")
    server.cmd("set-option", "-g", "@assistant-resurrect-capture-env", "AR_API_TOKEN")
    server.cmd("set-option", "-g", "@assistant-resurrect-capture-secret-env", "on")
    start_in_pane(session.windows[0].panes[0], f"AR_API_TOKEN=s3cr3t claude --resume {A}")
    wait_for(lambda: records("claude"), what="claude started")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    assert agent.sidecar(layout)["sessions"][0]["env"] == {"AR_API_TOKEN": "s3cr3t"}
    assert "s3cr3t" not in (agent.resurrect_dir / "assistant-save.log").read_text()


def test_legacy_sidecar_is_restorable(server: Server, agent: Agent, tmp_path: Path) -> None:
    server.new_session("proj")
    server.cmd("set-option", "-g", "@assistant-resurrect-capture-env", "VIRTUAL_ENV")
    (agent.resurrect_dir / "assistant-sessions.json").write_text(
        json.dumps(
            {
                "timestamp": "2026-02-15T20:34:28Z",
                "sessions": [
                    {
                        "pane": "proj:0.0",
                        "tool": "claude",
                        "session_id": A,
                        "cwd": str(tmp_path),
                        "pid": "12345",
                        "model": "",
                        "cli_args": "--dangerously-skip-permissions",
                        "env": {"tmux_pane": "%1", "shell": "/bin/zsh", "VIRTUAL_ENV": "/v"},
                    }
                ],
            }
        )
    )
    out = agent.run("restore", "--dry-run").stdout
    assert (
        f"proj:0.0: cd -- {tmp_path} && VIRTUAL_ENV=/v command claude "
        f"--dangerously-skip-permissions --resume {A}"
    ) in out


def test_status_and_doctor(server: Server, agent: Agent) -> None:
    _start(server, f"codex --full-auto resume {A.replace('3f1e', '0199')}")
    wait_for(lambda: records("codex"), what="codex started")
    out = agent.run("status").stdout
    assert "codex" in out and "args" in out and "resume" in out
    doc = agent.run("doctor", check=False)
    assert doc.returncode == 1
    assert "@resurrect-hook-post-save-layout" in doc.stdout
    server.cmd("set-option", "-g", "@resurrect-processes", "'~claude->claude' vim")
    server.cmd("set-option", "-g", "@continuum-save-interval", "0")
    doc = agent.run("doctor", check=False).stdout
    assert "claude is listed in @resurrect-processes" in doc
    assert "@continuum-save-interval is 0" in doc


def test_corrupt_sidecar_stops_restore_with_one_line(server: Server, agent: Agent) -> None:
    server.new_session("w")
    layout = agent.fake_layout()
    (layout.parent / "assistant_resurrect_20261125T120000.json").write_text('{"version": 1, "se')
    proc = agent.run("restore", check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not valid JSON" in lines[0] and "no pane was touched" in lines[0]


def test_no_tmux_server_is_a_clear_error(agent: Agent) -> None:
    proc = agent.run("save", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("assistant-resurrect: no tmux server is running")
