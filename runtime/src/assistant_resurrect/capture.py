"""Which environment variables are captured at save and replayed on restore.

A name listed in `@assistant-resurrect-capture-env` is refused when it looks
like a secret's, and a captured value is dropped when it looks like a
credential (a URL with a password, a known token format), unless
`@assistant-resurrect-capture-secret-env` is on: a sidecar is a plain file
and the typed line shows in the pane's scrollback and shell history.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

# Anywhere in the name (case-insensitive). PASS covers PASSWORD, PASSWD,
# PASSPHRASE, DB_PASS, PGPASS (not BYPASS, COMPASS, PASSTHROUGH, PASSIVE); CRED
# covers CREDS and CREDENTIALS; AUTH is not AUTHOR (GIT_AUTHOR_NAME), but
# AUTHORIZATION counts.
SECRET = re.compile(
    r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|(?<!BY)(?<!COM)PASS(?!THRU|THROUGH|IVE)"
    r"|CRED|AUTH(?!OR(?!I[SZ]))"
    r"|COOKIE|PRIVATE|SIGNATURE|BEARER|CONNECTION_?STR",
    re.I,
)
# Whole words of the name, between underscores: GITHUB_PAT, PAT_GITHUB, DB_PWD,
# MYSQL_PWD, SENTRY_DSN, DB_CONN; never PATH, PATTERN, DSNAME or CONNECT_TIMEOUT.
SECRET_WORDS = frozenset({"PAT", "PWD", "DSN", "CONN", "CONNSTR", "JWT", "OTP", "SALT"})
# Named like secrets' words, but no secrets: the shell's working directories.
NOT_SECRET = frozenset({"PWD", "OLDPWD"})
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Values: credentials in a URL (scheme://user:password@host), a credential in
# a URL's query (?access_token=, &sig=), and the formats of the common tokens.
# Compiled on first use: the hooks import this module but rarely check values.
_VALUE_PATTERNS = (
    r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*:[^\s/?#@]+@",  # URL with a password
    r"[?&;][A-Za-z0-9_.-]*(?:token|key|secret|passw(?:or)?d|sig|signature|auth)=[^&\s]",
    r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub
    r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{20,}",
    r"(?<![A-Za-z0-9])glpat-[A-Za-z0-9_-]{20,}",  # GitLab
    r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}",  # OpenAI, Anthropic (sk-ant-...)
    r"(?<![A-Za-z0-9])[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe
    r"(?<![A-Za-z0-9])xox[abposre]-[A-Za-z0-9-]{10,}",  # Slack
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])",  # AWS access key ID
    r"(?<![A-Za-z0-9])AIza[A-Za-z0-9_-]{35}",  # Google API key
    r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}",  # npm
    r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}",  # Hugging Face
    r"(?<![A-Za-z0-9])pypi-[A-Za-z0-9_-]{50,}",  # PyPI
    r"(?<![A-Za-z0-9])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.",  # a JWT
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY",
    r"(?:[Bb]earer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}",  # an Authorization header
)
_value_re: Optional[re.Pattern[str]] = None


def secret_name(name: str) -> bool:
    """`name` looks like the name of a secret."""
    if name.upper() in NOT_SECRET:
        return False
    if SECRET.search(name):
        return True
    return any(word in SECRET_WORDS for word in name.upper().split("_"))


def secret_value(value: str) -> bool:
    """`value` holds something that looks like a credential: a URL with a
    password, a credential in a URL's query, or a known token format."""
    global _value_re
    if _value_re is None:
        _value_re = re.compile("|".join(f"(?:{p})" for p in _VALUE_PATTERNS))
    return _value_re.search(value) is not None


def names(option_value: str, allow_secrets: bool) -> tuple[list[str], list[str]]:
    """(names to capture, names refused) from `@assistant-resurrect-capture-env`."""
    wanted: list[str] = []
    refused: list[str] = []
    for name in option_value.split():
        if not NAME.match(name) or (secret_name(name) and not allow_secrets):
            refused.append(name)
        elif name not in wanted:
            wanted.append(name)
    return wanted, refused


def keep_values(env: dict[str, str], allow_secrets: bool) -> tuple[dict[str, str], list[str]]:
    """(the captured env without the values that look like credentials, the
    names of the values dropped); everything is kept when `allow_secrets`."""
    if allow_secrets:
        return dict(env), []
    kept: dict[str, str] = {}
    refused: list[str] = []
    for name, value in env.items():
        if secret_value(value):
            refused.append(name)
        else:
            kept[name] = value
    return kept, refused


def allowed(option_value: str) -> bool:
    return option_value.strip().lower() in ("on", "1", "yes", "true")
