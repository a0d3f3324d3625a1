"""A save and a restore through the REAL tmux-resurrect and tmux-continuum
the role cloned from the mirrors, with the role's hooks
(shared/files/plugin-cycle.sh, run as the managed user in the instance).

`continuum`: tmux-continuum's interval save fired by the status line of an
attached pty client, then its auto-restore when a fresh server starts.
`light`: tmux-resurrect's save.sh and restore.sh run as its key bindings run
them (continuum loaded, its save interpolation checked).
"""

from __future__ import annotations

import os

import pytest
from arlib import FAKE_PLUGINS, LIB, as_user, real_plugins

# Debian suites whose default scenario runs the continuum cycle (the others
# run the light one); molecule/scripts/run.sh passes AR_DEBIAN_SUITE.
CONTINUUM_SUITES = os.environ.get("AR_CONTINUUM_SUITES", "bullseye bookworm trixie").split()


def mode_for_suite() -> str:
    suite = os.environ.get("AR_DEBIAN_SUITE", "bookworm")
    return "continuum" if suite in CONTINUUM_SUITES else "light"


def run_cycle(host, mode: str) -> str:
    if not real_plugins(host):
        pytest.skip(FAKE_PLUGINS)
    r = as_user(host, f"{LIB}/plugin-cycle.sh {mode}", check=False)
    print(r.stdout)
    assert r.rc == 0, f"plugin-cycle.sh {mode}: rc={r.rc}\n{r.stdout}\n{r.stderr}"
    assert f"ok ({mode})" in r.stdout, r.stdout
    return r.stdout
