"""What the tmux layer refuses to type."""

from __future__ import annotations


def test_send_literal_refuses_a_trailing_semicolon() -> None:
    import pytest

    from assistant_resurrect.errors import TmuxError
    from assistant_resurrect.tmux import Tmux

    with pytest.raises(TmuxError, match="ending in ';'"):
        Tmux(socket_name="never-started").send_literal("%0", "echo hi;")
