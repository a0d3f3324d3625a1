"""Errors that end a command with one clear line (and a non-zero exit)."""


class AgentError(Exception):
    """A failure the user can act on; str() is the whole one-line message."""

    exit_code = 1


class TmuxError(AgentError):
    """tmux is missing, no server answers, or a tmux command failed."""


class StateDirError(AgentError):
    """The state directory is unsafe (wrong owner, symlink, writable by others)."""


class SidecarError(AgentError):
    """A sidecar file is missing, unreadable, corrupt or from a newer version."""
