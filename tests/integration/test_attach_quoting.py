"""The attach hook's command survives every layer it passes through: tmux's
command parser (set-hook), format expansion (run-shell) and sh. Checked with a
real tmux server for arbitrary text (hypothesis)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from libtmux import Server

from tests.helpers import RUNTIME_SRC, wait_for

sys.path.insert(0, str(RUNTIME_SRC))
from assistant_resurrect import pending

NASTY = st.text(
    alphabet=st.sampled_from(list("a Z0'\"$~#{}\\;&|<>()`*?![]%,=\t-é/"))
    | st.characters(blacklist_categories=("Cs",)),
    max_size=40,
).filter(lambda t: "\x00" not in t and "\n" not in t and "\r" not in t)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=NASTY)
@example(text="#S #{session_name} ## #(echo hi) #")
@example(text="it's $HOME ~ \\' \" ;")
def test_text_reaches_the_shell_unchanged(server: Server, tmp_path: Path, text: str) -> None:
    if not server.sessions:
        server.new_session("q")
    out = tmp_path / "out"
    if out.exists():
        out.unlink()
    command = pending.run_shell(["printf", "%s", text], output=str(out))
    sock = ["tmux", "-L", str(server.socket_name)]
    subprocess.run([*sock, "set-hook", "-g", "session-renamed[4299]", command], check=True)
    subprocess.run([*sock, "set-hook", "-R", "session-renamed"], check=True)  # run it now
    wait_for(out.exists, what="the hook ran")
    wait_for(lambda: out.read_bytes() != b"" or text == "", what="output written")
    assert out.read_bytes().decode("utf-8", "surrogateescape") == text
    subprocess.run([*sock, "set-hook", "-gu", "session-renamed[4299]"], check=True)
