"""The role's read-only assistant_resurrect_probe module, run by real Ansible:
what it reports of links, folders, files, builds and packages, in check mode
too, and that it changes nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "roles" / "assistant_resurrect" / "library"
ANSIBLE = Path(sys.executable).parent / "ansible"

pytestmark = pytest.mark.skipif(
    not ANSIBLE.exists() and not shutil.which("ansible"), reason="needs ansible"
)


def probe(args: dict, *extra: str) -> dict:
    env = dict(os.environ, ANSIBLE_LIBRARY=str(LIBRARY), ANSIBLE_STDOUT_CALLBACK="json")
    env["ANSIBLE_LOAD_CALLBACK_PLUGINS"] = "1"
    proc = subprocess.run(
        [
            str(ANSIBLE) if ANSIBLE.exists() else "ansible",
            "localhost",
            "-c",
            "local",
            "-m",
            "assistant_resurrect_probe",
            "-a",
            json.dumps(args),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    out = json.loads(proc.stdout)
    return out["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_probe_reports_and_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "venvs/b1").mkdir(parents=True)
    (tmp_path / "venvs/b1/.assistant-resurrect-build").write_text("b1\n")
    (tmp_path / "venvs/b0").mkdir()  # half-made: no marker
    (tmp_path / "venvs/.hidden").mkdir()
    (tmp_path / "venv").symlink_to("venvs/b1")
    (tmp_path / "conf").write_text("set -g x\n")
    os.chmod(tmp_path / "conf", 0o640)
    (tmp_path / "link.conf").symlink_to(tmp_path / "conf")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    paths = {
        "venv": str(tmp_path / "venv"),
        "venvs": str(tmp_path / "venvs"),
        "conf": str(tmp_path / "conf"),
        "gone": str(tmp_path / "gone"),
    }
    for extra in ((), ("--check",)):
        r = probe(
            {
                "paths": paths,
                "checksum": ["conf"],
                "read": ["conf"],
                "stats": [str(tmp_path / "link.conf"), str(tmp_path / "gone")],
                "texts": [str(tmp_path / "link.conf")],
                "builds": str(tmp_path / "venvs"),
                "missing": [str(tmp_path / "conf"), str(tmp_path / "gone")],
                "packages": ["surely-not-a-package-ar"],
            },
            *extra,
        )
        assert r["changed"] is False
        seen = r["paths"]
        assert seen["venv"]["islnk"] and seen["venv"]["lnk_target"] == "venvs/b1"
        assert seen["venvs"]["isdir"] and not seen["venvs"]["islnk"]
        assert seen["conf"]["mode"] == "0640" and seen["conf"]["isreg"]
        assert seen["conf"]["checksum"] == hashlib.sha1(b"set -g x\n").hexdigest()
        assert base64.b64decode(seen["conf"]["content"]) == b"set -g x\n"
        assert seen["gone"] == {"path": paths["gone"], "exists": False, "islnk": False}
        link, gone = r["stats"]["results"]
        assert link["item"] == str(tmp_path / "link.conf")
        assert link["stat"]["islnk"] and link["stat"]["lnk_source"] == str(tmp_path / "conf")
        assert not gone["stat"]["exists"]
        texts = r["texts"]
        assert base64.b64decode(texts[str(tmp_path / "link.conf")]["content"]) == b"set -g x\n"
        assert texts[str(tmp_path / "conf")] == texts[str(tmp_path / "link.conf")]
        assert r["builds"] == {
            "dirs": [str(tmp_path / "venvs/b0"), str(tmp_path / "venvs/b1")],
            "complete": ["b1"],
        }
        assert r["missing"] == [str(tmp_path / "gone")]
        if Path("/var/lib/dpkg/status").exists():
            assert r["missing_packages"] == ["surely-not-a-package-ar"]
        else:
            assert r["missing_packages"] is None
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
