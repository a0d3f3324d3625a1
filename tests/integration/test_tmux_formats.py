"""On the real tmux under test (AR_TMUX; the matrix runs 3.1c, 3.3a, 3.5a, 3.7c),
the agent's pane listing and option reads give back user data exactly: cwds and
option values with backslashes, our own separators, control bytes, invalid UTF-8,
`$`, format syntax and unicode. tmux 3.4/3.5 escape such bytes in what they
print, the others do not; the values read must not differ."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from assistant_resurrect.errors import TmuxError
from assistant_resurrect.tmux import OPTIONS, Tmux
from tests.helpers import wait_for
from tests.tmuxinfo import tmux_release, tmux_version

# Each is one directory name (no '/', no NUL) and one option value.
NASTY = [
    b"back\\slash",
    b"x\\|y\\.z",
    b"\\\\double",
    b"\\012 and \\n as text",
    b"$HOME and \\$HOME and ${x}",
    b"tab\there",
    b"new\nline",
    b"ctl\x01\x1f\x7f\x1b[31m",
    b"bad\xff\xfeutf8",
    "ünï€😀".encode(),
    b"pipe|semi;colon:dot.",
    b"#{pane_id} #(echo hi)",
    b"ends with\\",
]


def tmux_raw(server: Any, *args: str | bytes) -> bytes:
    """A tmux command with byte arguments (libtmux would turn bytes into "b'...'")."""
    return subprocess.run(
        ["tmux", "-L", server.socket_name, *args], capture_output=True, check=True
    ).stdout


def text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


@pytest.fixture
def nasty_panes(server: Any, tmp_path: Path) -> dict[str, str]:
    """One window per nasty name, its shell in a directory of that name:
    pane ID -> the directory (as the agent decodes paths)."""
    base = os.fsencode(tmp_path)
    server.cmd("new-session", "-d", "-s", "plain", "-c", str(tmp_path))
    wanted: dict[str, str] = {}
    for raw in NASTY:
        path = base + b"/" + raw
        os.mkdir(path)
        start_dir = path.replace(b"#", b"##")  # tmux expands formats in -c
        pane = tmux_raw(
            server, "new-window", "-P", "-F", "#{pane_id}", "-t", "plain", "-c", start_dir
        )
        wanted[pane.decode().strip()] = text(path)
    return wanted


def test_pane_paths_read_back_exactly(server: Any, nasty_panes: dict[str, str]) -> None:
    tmux = Tmux(socket_name=server.socket_name)

    def listed() -> dict[str, str]:
        return {p.pane_id: p.current_path for p in tmux.list_panes() if p.pane_id in nasty_panes}

    # pane_current_path is the shell's cwd once it runs: wait for every shell.
    got = wait_for(
        lambda: (lambda m: m if m == nasty_panes else None)(listed()),
        timeout=30,
        what=f"every nasty cwd read back on {tmux_version()}",
    )
    assert got == nasty_panes


def test_options_and_pane_options_read_back_exactly(server: Any, tmp_path: Path) -> None:
    server.cmd("new-session", "-d", "-s", "s", "-c", str(tmp_path))
    tmux = Tmux(socket_name=server.socket_name)
    (pane,) = tmux.list_panes()
    for raw in NASTY:
        value = text(raw)
        for name in OPTIONS:
            tmux.run("set-option", "-g", name, value)
        tmux.set_pane_option(pane.pane_id, "@assistant-resurrect-restored", value)
        (listed,) = tmux.list_panes()
        assert tmux.options == dict.fromkeys(OPTIONS, value), tmux_version()
        assert listed.restored_marker == value, tmux_version()
        assert tmux.options_of(["@resurrect-dir"], pane.pane_id) == {"@resurrect-dir": value}
        assert tmux.option("@resurrect-dir") == value


def test_a_session_name_reads_back_as_tmux_holds_it(server: Any, tmp_path: Path) -> None:
    """tmux 3.2+ stores a session name's control characters escaped (`\\t`), 3.1
    raw: whatever it holds, the listing and tmux's own target lookup agree."""
    name = "s|1\tx ü \\ $H"
    if tmux_release() >= (3, 7):  # 3.7 refuses control characters in names
        refused = subprocess.run(
            ["tmux", "-L", server.socket_name, "new-session", "-d", "-s", name],
            capture_output=True,
            text=True,
        )
        assert refused.returncode != 0 and "invalid session name" in refused.stderr
        name = name.replace("\t", " ")
    sid = server.cmd("new-session", "-d", "-P", "-F", "#{session_id}", "-s", name).stdout[0]
    tmux = Tmux(socket_name=server.socket_name)
    (pane,) = tmux.list_panes()
    # the name read back names that session for tmux itself (an exact-name target)
    assert sid.startswith("$")
    tmux_raw(server, "has-session", "-t", f"={pane.session_name}")


def test_no_server_is_one_clear_error(tmp_path: Path) -> None:
    tmux = Tmux(socket_path=str(tmp_path / "none"))
    with pytest.raises(TmuxError, match="no tmux server is running"):
        tmux.list_panes()


def test_unicode_reads_back_without_a_utf8_locale(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hooks started by systemd or launchd have no LANG: tmux would print every
    non-ASCII byte as '_' to such a client unless it is told (-u) it is UTF-8."""
    server.cmd("new-session", "-d", "-s", "ünï", "-c", str(tmp_path))
    server.cmd("set-option", "-g", "@resurrect-dir", "~/sauvegardes-é€")
    for name in ("LANG", "LC_ALL", "LC_CTYPE"):
        monkeypatch.delenv(name, raising=False)
    tmux = Tmux(socket_name=server.socket_name)
    (pane,) = tmux.list_panes()
    assert pane.session_name == "ünï"
    assert tmux.options["@resurrect-dir"] == "~/sauvegardes-é€"
