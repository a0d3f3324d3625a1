"""The runtime's import graph has no upward and no circular arrows: each module
imports only modules of lower layers (docs/DESIGN.md draws the same layers).
A new module must be given its layer here."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import RUNTIME_SRC

PKG = "assistant_resurrect"
# Lowest first. A module may import modules of lower layers only (inside the
# `assistants` layer: the registry imports its modules, modules import helpers).
LAYERS: list[tuple[str, ...]] = [
    ("", "errors", "records", "log", "spawn", "tmuxfmt", "capture", "command", "trust"),
    ("served",),
    ("paths", "fileio", "procs_linux", "procs_psutil", "session"),
    ("procs",),
    ("settings", "statefiles", "store"),
    ("tmux", "pacing"),
    (
        "assistants._index",
        "assistants._sqlite",
        "assistants.base",
        "assistants._files",
        "assistants",
    ),
    ("detect", "catalog", "autosave", "gemini_hooks"),
    ("guards", "pending", "hooks", "doctor", "watch"),
    ("events",),
    ("planner", "save"),
    ("saveserver",),
    ("typist", "status", "status_json", "sentinel"),
    ("attach",),
    ("restore",),
    ("cli", "launcher"),
    ("__main__",),
]
LAYER = {m: i for i, layer in enumerate(LAYERS) for m in layer}
ORDER: dict[str, tuple[int, float]] = {
    m: (i, j) for i, layer in enumerate(LAYERS) for j, m in enumerate(layer)
}
ASSISTANTS_LAYER = LAYER["assistants"]
# A tool module (assistants/<tool>.py) sits with the others: after the helpers,
# before the registry. Adding an assistant needs no line here.
for _p in sorted((RUNTIME_SRC / PKG / "assistants").glob("[!_]*.py")):
    _m = f"assistants.{_p.stem}"
    if _m not in LAYER:
        LAYER[_m] = ASSISTANTS_LAYER
        ORDER[_m] = (ASSISTANTS_LAYER, ORDER["assistants._files"][1] + 0.5)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(RUNTIME_SRC / PKG).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Modules of the package that `path` imports (a `from pkg import sub` names sub)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PKG:
            base = node.module[len(PKG) + 1 :] if node.module != PKG else ""
            subs = []
            for alias in node.names:
                sub = f"{base}.{alias.name}" if base else alias.name
                rel = Path(*sub.split("."))
                pkg_dir = RUNTIME_SRC / PKG
                if (pkg_dir / rel).with_suffix(".py").exists() or (pkg_dir / rel).is_dir():
                    subs.append(sub)
            found.update(subs or [base])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PKG:
                    found.add(alias.name[len(PKG) + 1 :])
    return found


def graph() -> dict[str, set[str]]:
    return {
        module_name(p): imports(p) - {module_name(p)}
        for p in sorted((RUNTIME_SRC / PKG).rglob("*.py"))
    }


def test_every_module_has_a_layer() -> None:
    missing = sorted(set(graph()) - set(LAYER))
    assert not missing, f"give these modules a layer in {__file__}: {missing}"


def test_no_upward_or_circular_imports() -> None:
    bad = []
    for mod, deps in graph().items():
        for dep in deps:
            if dep == "__version__":
                continue
            if LAYER[mod] == LAYER[dep] == ASSISTANTS_LAYER:
                ok = ORDER[dep] < ORDER[mod]  # helpers before modules before the registry
            else:
                ok = LAYER[dep] < LAYER[mod]
            if not ok:
                bad.append(f"{mod or PKG} -> {dep}")
    assert not bad, "imports that go up (or sideways) a layer:\n" + "\n".join(sorted(bad))
