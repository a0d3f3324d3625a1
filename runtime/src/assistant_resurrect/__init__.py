"""assistant-resurrect: keep AI coding assistant sessions alive across tmux restarts."""

__version__ = "0.1.0"
