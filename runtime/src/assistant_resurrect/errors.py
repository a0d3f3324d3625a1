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


class SidecarUnusable(SidecarError):
    """The sidecar a restore wants is missing, empty, unreadable or untrusted:
    (unlike a corrupt or newer one) an older good sidecar may stand in for it."""


class LockTimeout(AgentError):
    """Another process held a lock for longer than the bounded wait."""
