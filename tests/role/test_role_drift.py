"""A converge repairs drift in the files the role manages.

The per-user tasks skip a change the read-only probe (library/
assistant_resurrect_probe.py) saw already made; these tests make sure that
what was edited, re-pointed, re-moded or left behind since the last run is
put right again by the next converge (and reported by --check --diff first,
without touching anything), and that the run after that changes nothing.
Dotfiles-bootstrap path: playbooks/localhost.yml as root with HOME pointing
at a scratch folder.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from .conftest import ROLE, Session, read, register_chain

pytestmark = pytest.mark.role

DATA = ".local/share/assistant-resurrect"
UNIT = ".config/systemd/user/assistant-resurrect-tmux.service"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _look(home: Path) -> dict:
    opencode = home / ".config/opencode"
    return {
        "plugin": read(opencode / "plugins/assistant-resurrect.js"),
        "tui_mode": _mode(opencode / "assistant-resurrect-tui.js"),
        "tui_json": json.loads(read(opencode / "tui.json")),
        "bin_dir_mode": _mode(home / ".local/bin"),
        "entry": os.readlink(home / ".local/bin/assistant-resurrect")
        if (home / ".local/bin/assistant-resurrect").is_symlink()
        else None,
        "venv_link": os.readlink(home / DATA / "venv"),
        "state_mode": _mode(home / DATA / "role-state.json"),
        "unit_left": (home / UNIT).exists(),
        "builds": sorted(p.name for p in (home / DATA / "venvs").iterdir()),
        "kilo_plugin": read(home / ".config/kilo/plugins/assistant-resurrect.js"),
        "kilo_tui_json": json.loads(read(home / ".config/kilo/tui.json")),
        "droid": json.loads(read(home / ".factory/settings.json")),
        "cursor": json.loads(read(home / ".cursor/hooks.json")),
        "fact_mode": _mode(home / DATA / "facts.d/assistant_resurrect.fact"),
    }


def _drift(home: Path) -> None:
    opencode = home / ".config/opencode"
    (opencode / "plugins/assistant-resurrect.js").write_text("// edited by hand\n")
    os.chmod(opencode / "assistant-resurrect-tui.js", 0o600)
    (opencode / "tui.json").write_text(json.dumps({"plugin": ["mine.js"]}) + "\n")
    os.chmod(home / ".local/bin", 0o700)
    (home / ".local/bin/assistant-resurrect").unlink()
    venv = home / DATA / "venv"
    venv.unlink()
    venv.symlink_to("venvs/elsewhere")
    os.chmod(home / DATA / "role-state.json", 0o600)
    (home / UNIT).parent.mkdir(parents=True, exist_ok=True)
    (home / UNIT).write_text("[Unit]\n")  # assistant_resurrect_boot is false
    (home / DATA / "venvs/old-build").mkdir()
    (home / ".config/kilo/plugins/assistant-resurrect.js").write_text("// kilo edited\n")
    (home / ".config/kilo/tui.json").write_text(json.dumps({"plugin": []}) + "\n")
    droid = json.loads(read(home / ".factory/settings.json"))
    droid["hooks"]["SessionStart"][0]["hooks"][0]["command"] += " --droid-drift"
    droid["mine"] = True
    (home / ".factory/settings.json").write_text(json.dumps(droid, indent=2) + "\n")
    cursor = json.loads(read(home / ".cursor/hooks.json"))
    del cursor["hooks"]["beforeSubmitPrompt"]
    (home / ".cursor/hooks.json").write_text(json.dumps(cursor, indent=2) + "\n")
    os.chmod(home / DATA / "facts.d/assistant_resurrect.fact", 0o755)


def _chain(s: Session) -> dict:
    home = s.base / "home-drift"
    home.mkdir(parents=True)
    extra = {
        "assistant_resurrect_manage_packages": False,
        "assistant_resurrect_state_dirs": [str(s.base / "state-d")],
    }
    env = {"HOME": str(home)}
    r: dict = {"home": home}
    r["converge1"] = s.playbook("localhost.yml", extra, env=env)
    if r["converge1"].rc != 0:
        return r
    r["installed"] = _look(home)
    r["noop"] = s.playbook("localhost.yml", extra, env=env)
    _drift(home)
    r["drifted"] = _look(home)
    r["check"] = s.playbook("localhost.yml", extra, env=env, check=True)
    r["after_check"] = _look(home)
    r["repair"] = s.playbook("localhost.yml", extra, env=env)
    r["repaired"] = _look(home)
    r["converge3"] = s.playbook("localhost.yml", extra, env=env)
    return r


register_chain("drift", _chain)


@pytest.fixture(scope="module")
def chain(role_session):
    return role_session.chain("drift")


def test_drift_first_converges_and_second_is_a_noop(chain):
    assert chain["converge1"].rc == 0, chain["converge1"].explain()
    assert chain["noop"].rc == 0, chain["noop"].explain()
    assert chain["noop"].changed == 0, chain["noop"].changed_tasks()


def test_check_diff_reports_the_drift_and_changes_nothing(chain):
    run = chain["check"]
    assert run.rc == 0, run.explain()
    assert run.changed >= 8, run.changed_tasks()
    assert chain["after_check"] == chain["drifted"]
    assert "// edited by hand" in run.output  # the copy's diff
    assert "// kilo edited" in run.output
    assert "--droid-drift" in run.output  # the settings merge's diff
    assert "beforeSubmitPrompt" in run.output


def test_converge_repairs_the_drift(chain):
    run = chain["repair"]
    assert run.rc == 0, run.explain()
    repaired, installed = chain["repaired"], chain["installed"]
    shipped = (ROLE / "files/opencode/assistant-resurrect.js").read_text()
    assert repaired["plugin"] == shipped
    assert repaired["tui_mode"] == 0o644
    tui = str(chain["home"] / ".config/opencode/assistant-resurrect-tui.js")
    assert repaired["tui_json"]["plugin"] == ["mine.js", tui]
    assert repaired["bin_dir_mode"] == 0o755
    assert repaired["entry"] == installed["entry"] is not None
    assert repaired["venv_link"] == installed["venv_link"]
    assert repaired["state_mode"] == 0o644
    assert not repaired["unit_left"]
    assert repaired["builds"] == installed["builds"]  # old-build removed
    assert repaired["kilo_plugin"] == shipped
    assert repaired["kilo_tui_json"] == installed["kilo_tui_json"]
    assert repaired["droid"] == {**installed["droid"], "mine": True}
    assert repaired["cursor"] == installed["cursor"]
    assert repaired["fact_mode"] == 0o700


def test_converge_after_the_repair_is_a_noop(chain):
    run = chain["converge3"]
    assert run.rc == 0, run.explain()
    assert run.changed == 0, run.changed_tasks()
