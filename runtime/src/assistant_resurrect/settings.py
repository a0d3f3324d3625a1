"""What the tmux options say, read once per command (`Tmux.settings`).

Every command asks tmux for all the options below in one call (with the pane
listing when it needs one, see tmux.py) and derives everything from this one
object: where the saves are, which shells may be typed into, which env names
are captured and replayed, when assistants start.
"""

from __future__ import annotations

from pathlib import Path

from assistant_resurrect import capture, paths

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Callable

# The options every command reads (one tmux call), each documented in the README.
OPTIONS = (
    "@resurrect-dir",
    "@resurrect-capture-pane-contents",
    "@resurrect-processes",
    "@continuum-save-interval",
    "@assistant-resurrect-capture-env",
    "@assistant-resurrect-capture-secret-env",
    "@assistant-resurrect-shells",
    "@assistant-resurrect-start",
)

DEFAULT_SHELLS = ("bash", "zsh", "fish", "sh", "dash", "ksh", "mksh", "ash")
START_MODES = ("attached", "immediate")


class Settings:
    __slots__ = ("_resurrect_dir", "options")

    def __init__(self, options: dict[str, str]) -> None:
        self.options = options
        self._resurrect_dir: Path | None = None

    def get(self, name: str) -> str:
        return self.options.get(name, "")

    @property
    def resurrect_dir(self) -> Path:
        """tmux-resurrect's directory, resolved exactly as tmux-resurrect does."""
        if self._resurrect_dir is None:
            self._resurrect_dir = paths.resurrect_dir(self.options.get("@resurrect-dir"))
        return self._resurrect_dir

    @property
    def shells(self) -> frozenset[str]:
        """The foreground programs restore may type into."""
        return frozenset(self.get("@assistant-resurrect-shells").split() or DEFAULT_SHELLS)

    def capture_env(self) -> tuple[list[str], list[str]]:
        """(env names to capture, names refused) from `@assistant-resurrect-capture-env`."""
        return capture.names(
            self.get("@assistant-resurrect-capture-env"),
            capture.allowed(self.get("@assistant-resurrect-capture-secret-env")),
        )

    @property
    def replay_env_names(self) -> frozenset[str]:
        """The env names restore may put before a command: those listed now (a
        sidecar never decides)."""
        return frozenset(self.capture_env()[0])

    def start_mode(self, log: Callable[[str], None]) -> str:
        """`@assistant-resurrect-start`: `attached` (default) or `immediate`."""
        value = self.get("@assistant-resurrect-start").strip() or "attached"
        if value not in START_MODES:
            log(
                f"@assistant-resurrect-start is {value!r}, not one of {', '.join(START_MODES)}; "
                "using attached"
            )
            return "attached"
        return value
