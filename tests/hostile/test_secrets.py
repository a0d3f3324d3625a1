"""Secrets are not captured by default: names like DB_PASS or GITHUB_PAT are
refused, and so is a value holding URL credentials or a known token format,
whatever its name, unless `@assistant-resurrect-capture-secret-env` is on.
Names like PATH, PATTERN, PWD are not secrets."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_resurrect import capture
from tests.helpers import RUNTIME_SRC, Agent, records, start_in_pane, wait_for
from tests.hostile.conftest import Stats

FAST = settings(max_examples=200, deadline=None, database=None)
SESSION_ID = "8a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b"

SECRET_NAMES = [
    "DB_PASS",
    "PGPASS",
    "MYSQL_PWD",
    "DB_PWD",
    "GITHUB_PAT",
    "PAT_GITHUB",
    "AZURE_DEVOPS_PAT",
    "SENTRY_DSN",
    "DB_CONN",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AWS_CREDS",
    "HTTP_AUTHORIZATION",
    "REQUEST_SIGNATURE",
    "AR_JWT",
    "APP_SALT",
    "passphrase",
]
PLAIN_NAMES = [
    "PATH",
    "PATTERN",
    "PWD",
    "OLDPWD",
    "DSNAME",
    "CONNECT_TIMEOUT",
    "GIT_AUTHOR_NAME",
    "AR_BYPASS_CACHE",
    "NODE_EXTRA_CA_CERTS",
    "SESSION_NAME",
    "AR_PROFILE",
    "LANG",
]

SECRET_VALUES = [
    "postgres://app:s3cr3t@db.internal:5432/app",
    "redis://:hunter2@cache:6379/0",
    "https://user:tok%40en@git.example.com/org/repo.git",
    "mysql://root:pw@localhost",
    "https://api.example.com/v1?access_token=abc123",
    "https://blob.example.net/c/f?sv=2020&sig=AbCdEf%3D",
    "ghp_" + "A1b2C3d4" * 5,
    "gho_" + "z" * 36,
    "github_pat_11ABCDEFG0" + "x" * 60,
    "glpat-" + "a1B2c3D4e5F6g7H8i9J0",
    "sk-" + "Q" * 48,
    "sk-ant-api03-" + "abc_DEF-123" * 6,
    "sk-proj-" + "p" * 40,
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "xoxb-123456789012-123456789012-" + "a" * 24,
    "xoxp-1234567890-abcdef",
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAY34FZKBOKMUTVV7A",
    "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "npm_" + "a" * 36,
    "hf_" + "b" * 34,
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",
    "Bearer abcdefghijklmnopqrstuvwxyz012345",
    "--header=Authorization: Bearer abcdefghijklmnop0123",
    "token is ghp_" + "Z" * 36 + " for ci",
]
PLAIN_VALUES = [
    "",
    "dev box",
    "sonnet",
    "/usr/local/bin:/usr/bin",
    "https://github.com/org/repo",
    "ssh://git@github.com/org/repo.git",
    "git@github.com:org/repo.git",
    "http://localhost:8080/path@v2",
    "https://example.com/?page=2&sort=asc",
    "en_US.UTF-8",
    "task-123456789012345678901234",
    "AKIAIOSFODNN7EXAMPLEANDMORE",
    "desk-skaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "Basic mode",
    "11111111-2222-4333-8444-555555555555",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_are_refused_unless_allowed(name: str) -> None:
    assert capture.secret_name(name)
    assert capture.names(f"AR_PROFILE {name}", False) == (["AR_PROFILE"], [name])
    assert capture.names(f"AR_PROFILE {name}", True) == (["AR_PROFILE", name], [])


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_plain_names_are_captured(name: str) -> None:
    assert not capture.secret_name(name)
    assert capture.names(name, False) == ([name], [])


@pytest.mark.parametrize("value", SECRET_VALUES)
def test_credential_values_are_refused_unless_allowed(value: str) -> None:
    assert capture.secret_value(value), value
    env = {"AR_PROFILE": "dev", "AR_HARMLESS_NAME": value}
    assert capture.keep_values(env, False) == ({"AR_PROFILE": "dev"}, ["AR_HARMLESS_NAME"])
    assert capture.keep_values(env, True) == (env, [])


@pytest.mark.parametrize("value", PLAIN_VALUES)
def test_plain_values_are_kept(value: str) -> None:
    assert not capture.secret_value(value), value
    assert capture.keep_values({"AR_X": value}, False) == ({"AR_X": value}, [])


@FAST
@given(
    head=st.sampled_from(["", "AR_", "BY", "COM", "x", "DB"]) | st.from_regex(r"[A-Za-z_]{0,5}\Z"),
    word=st.sampled_from(
        [
            "PASSWORD",
            "PASSWD",
            "PASSPHRASE",
            "KEY",
            "TOKEN",
            "SECRET",
            "CREDENTIAL",
            "COOKIE",
            "PRIVATE",
            "AUTHORIZATION",
            "AUTH",
            "SIGNATURE",
        ]
    ).map(lambda w: w if len(w) % 2 else w.lower()),
    tail=st.sampled_from(["", "_FILE", "IVE", "THROUGH", "OR"])
    | st.from_regex(r"[A-Za-z0-9_]{0,5}\Z"),
)
def test_a_secret_word_counts_wherever_it_stands(
    head: str, word: str, tail: str, stats: Stats
) -> None:
    """(BYPASS and GIT_AUTHOR_NAME are not secrets, but BYPASSWORD and AUTHOR_TOKEN
    are: the exceptions never hide a whole secret word.)"""
    stats.cases_generated += 1
    name = f"{head}{word}{tail}"
    if word.upper() == "AUTH" and tail.upper().startswith("OR"):
        return  # AUTHOR...: the author's name, unless another word is in it
    assert capture.secret_name(name), name


@FAST
@given(
    scheme=st.from_regex(r"[a-z][a-z0-9+.-]{0,8}\Z", fullmatch=True),
    user=st.from_regex(r"[A-Za-z0-9._%-]{0,12}\Z", fullmatch=True),
    password=st.from_regex(r"[A-Za-z0-9._~%!$&'()*+,;=-]{1,20}\Z", fullmatch=True),
    host=st.from_regex(r"[a-z0-9.-]{1,20}(:[0-9]{1,5})?\Z", fullmatch=True),
    rest=st.from_regex(r"(/[A-Za-z0-9._-]{0,10}){0,3}\Z", fullmatch=True),
    prefix=st.sampled_from(["", "x ", "--url="]),
)
def test_any_url_with_a_password_is_a_secret(
    scheme: str, user: str, password: str, host: str, rest: str, prefix: str, stats: Stats
) -> None:
    stats.cases_generated += 1
    value = f"{prefix}{scheme}://{user}:{password}@{host}{rest}"
    assert capture.secret_value(value), value


@FAST
@given(value=st.text(max_size=60))
def test_the_value_filter_never_raises_and_keeps_what_it_does_not_refuse(
    value: str, stats: Stats
) -> None:
    stats.cases_generated += 1
    kept, refused = capture.keep_values({"AR_V": value}, False)
    assert (kept, refused) in (({"AR_V": value}, []), ({}, ["AR_V"]))
    assert bool(refused) == capture.secret_value(value)


# -- through the real hook and save ------------------------------------------


def _hook_command() -> str:
    return (
        f"PYTHONPATH={shlex.quote(str(RUNTIME_SRC))} {shlex.quote(sys.executable)} "
        "-m assistant_resurrect hook claude-session-start"
    )


def _start_claude(server: Any, tmp_path: Path, env: dict[str, str], secret_env: str) -> Any:
    session = server.new_session("work", start_directory=str(tmp_path))
    server.cmd("set-option", "-g", "@assistant-resurrect-capture-env", " ".join(env))
    if secret_env:
        server.cmd("set-option", "-g", "@assistant-resurrect-capture-secret-env", secret_env)
    assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    payload = json.dumps({"session_id": SESSION_ID})
    start_in_pane(
        session.windows[0].panes[0],
        f"{assigns} AR_FAKE_HOOK={shlex.quote(_hook_command())} "
        f"AR_FAKE_HOOK_STDIN={shlex.quote(payload)} claude --resume {SESSION_ID}",
    )
    return wait_for(lambda: records("claude"), what="claude to start")[0]


ENV = {
    "AR_PROFILE": "dev box",
    "AR_DB_URL": "postgres://app:s3cr3t-hook@db/app",
    "AR_CI": "ghp_" + "H" * 36,
}


@pytest.mark.parametrize("secret_env", ["", "on"])
def test_the_claude_hook_records_no_credential_values(
    secret_env: str, agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    """The SessionStart hook's state file (in the state dir) holds the captured
    env: credential values only when allowed."""
    stats.cases_generated += 1
    claude = _start_claude(server, tmp_path, ENV, secret_env)
    state = Path(os.environ["TMUX_ASSISTANT_RESURRECT_DIR"]) / f"claude-{claude['pid']}.json"
    wait_for(state.exists, what="the hook's state file")
    want = ENV if secret_env == "on" else {"AR_PROFILE": "dev box"}
    assert json.loads(state.read_text())["env"] == want


@pytest.mark.parametrize("secret_env", ["", "on"])
def test_save_refuses_the_new_secret_names(
    secret_env: str, agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    stats.cases_generated += 1
    env = {"AR_PROFILE": "dev box", "DB_PASS": "pw-x1", "GITHUB_PAT": "pat-x2", "SENTRY_DSN": "d"}
    _start_claude(server, tmp_path, env, secret_env)
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    (entry,) = agent.sidecar(layout)["sessions"]
    assert entry["env"] == (env if secret_env == "on" else {"AR_PROFILE": "dev box"})
    text = (agent.resurrect_dir / "assistant-save.log").read_text()
    if not secret_env:
        for name in ("DB_PASS", "GITHUB_PAT", "SENTRY_DSN"):
            assert name in text, f"no log line names the refused {name}"
    assert "pw-x1" not in text and "pat-x2" not in text


def test_save_captures_no_credential_values(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    stats.cases_generated += 1
    _start_claude(server, tmp_path, ENV, "")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    (entry,) = agent.sidecar(layout)["sessions"]
    assert entry["env"] == {"AR_PROFILE": "dev box"}
    text = (agent.resurrect_dir / "assistant-save.log").read_text()
    for name in ("AR_DB_URL", "AR_CI"):
        assert name in text, f"no log line names the refused {name}"
    for value in ENV.values():
        if value != "dev box":
            assert value not in text


def test_save_keeps_credential_values_when_allowed(
    agent: Agent, server: Any, tmp_path: Path, stats: Stats
) -> None:
    stats.cases_generated += 1
    _start_claude(server, tmp_path, ENV, "on")
    layout = agent.fake_layout()
    agent.run("save", str(layout))
    (entry,) = agent.sidecar(layout)["sessions"]
    assert entry["env"] == ENV
