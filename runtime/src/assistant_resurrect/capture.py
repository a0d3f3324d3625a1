"""Which environment variables are captured at save and replayed on restore."""

from __future__ import annotations

import re

SECRET = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|PRIVATE", re.I)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def names(option_value: str, allow_secrets: bool) -> tuple[list[str], list[str]]:
    """(names to capture, names refused) from `@assistant-resurrect-capture-env`."""
    wanted: list[str] = []
    refused: list[str] = []
    for name in option_value.split():
        if not NAME.match(name) or (SECRET.search(name) and not allow_secrets):
            refused.append(name)
        elif name not in wanted:
            wanted.append(name)
    return wanted, refused


def allowed(option_value: str) -> bool:
    return option_value.strip().lower() in ("on", "1", "yes", "true")
