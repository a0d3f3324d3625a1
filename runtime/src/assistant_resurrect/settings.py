"""What the tmux options say, read once per command (`Tmux.settings`).

Every command asks tmux for all the options below in one call (with the pane
listing when it needs one, see tmux.py) and derives everything from this one
object: where the saves are, which shells may be typed into, which env names
are captured and replayed, when assistants start and how they are paced.

Restore's pacing options (seconds; a bad value gives the default, and
`Settings.check_timings` logs it):

- `@assistant-resurrect-stagger` (default 2): seconds between two new sessions
  of the same tool, across restore and every `restore --pending` run (0: no
  wait). Sessions of one tool share one credential store; when many start at
  once their start-up token refreshes race, and the losers are logged out.
- `@assistant-resurrect-check` (default 5): seconds restore watches each
  assistant it started; one that exits within them (`No conversation found`,
  a refused flag) is logged with its last screen line and shown by `status`
  (0: no check).
- `@assistant-resurrect-start`: `attached` (default), `immediate`, or `prompt`
  (every pane at once like `immediate`, but the line is typed without Enter:
  the user reads it and presses Enter; no stagger and no check apply).
"""

from __future__ import annotations

from pathlib import Path

from assistant_resurrect import capture, paths

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Callable, Optional

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
    "@assistant-resurrect-stagger",
    "@assistant-resurrect-check",
    "@assistant-resurrect-event-save",
)

DEFAULT_SHELLS = ("bash", "zsh", "fish", "sh", "dash", "ksh", "mksh", "ash")
START_MODES = ("attached", "immediate", "prompt")

# Seconds between two new sessions of one tool. Sessions of one tool share one
# credential store and refresh its tokens as they start, with no lock between
# processes: users of many concurrent Claude Code sessions report logins lost
# to that race (anthropics/claude-code#24317, #25609, #48786), three sessions
# started within 8 s all lost one MCP server's rotated token (#85236, whose logs
# show one refresh taking under 0.5 s from lock to answer), and a tool that
# restores many Claude sessions waits 2 s between two launches for Claude's
# unlocked start-up rewrite of ~/.claude.json (umage-ai/CodeShellManager#20,
# ClaudeLaunchStaggerMs = 2000). 2 s lets one start's refresh and credential
# write finish before the next session reads the store. 20 sessions of one tool
# then take 38 s to start: the wait is per tool, and 0 turns it off.
DEFAULT_STAGGER = 2.0
# Seconds restore watches an assistant it started: an unknown session ID or a
# refused flag ends the CLI within a second or two of its start.
DEFAULT_CHECK = 5.0
MAX_SECONDS = 600.0  # larger values are taken for typos (a restore would hang)
TIMINGS = (
    ("@assistant-resurrect-stagger", DEFAULT_STAGGER),
    ("@assistant-resurrect-check", DEFAULT_CHECK),
)


def seconds(value: str) -> Optional[float]:
    """A number of seconds (`2`, `0.5`, `2s`), or None when it is not one."""
    text = value.strip()
    if text.endswith("s"):
        text = text[:-1].rstrip()
    try:
        number = float(text)
    except ValueError:
        return None
    # NaN fails both comparisons; inf fails the second.
    if not 0.0 <= number <= MAX_SECONDS:
        return None
    return number


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

    def _seconds(self, name: str, default: float) -> float:
        value = self.get(name)
        if not value.strip():
            return default
        number = seconds(value)
        return default if number is None else number

    @property
    def stagger(self) -> float:
        """`@assistant-resurrect-stagger`: seconds between two new sessions of one
        tool (0: none); a bad value gives the default (see `timing_problems`)."""
        return self._seconds("@assistant-resurrect-stagger", DEFAULT_STAGGER)

    @property
    def check_seconds(self) -> float:
        """`@assistant-resurrect-check`: seconds restore watches a started
        assistant (0: no check); a bad value gives the default."""
        return self._seconds("@assistant-resurrect-check", DEFAULT_CHECK)

    def timing_problems(self) -> list[str]:
        """One line per pacing option whose value is not a number of seconds
        (0 to MAX_SECONDS), naming the default used instead."""
        problems = []
        for name, default in TIMINGS:
            value = self.get(name)
            if value.strip() and seconds(value) is None:
                problems.append(
                    f"{name} is {value!r}, not a number of seconds from 0 to "
                    f"{MAX_SECONDS:g}; using {default:g}"
                )
        return problems

    def check_timings(self, log: Callable[[str], None]) -> None:
        """Log `timing_problems` (what restore does once per run)."""
        for line in self.timing_problems():
            log(line)

    def start_mode(self, log: Callable[[str], None]) -> str:
        """`@assistant-resurrect-start`: `attached` (default), `immediate` or
        `prompt` (every pane now, typed without Enter)."""
        value = self.get("@assistant-resurrect-start").strip() or "attached"
        if value not in START_MODES:
            log(
                f"@assistant-resurrect-start is {value!r}, not one of {', '.join(START_MODES)}; "
                "using attached"
            )
            return "attached"
        return value
