"""The agent's own entry point: `python -m assistant_resurrect.launcher`.

pip's console script starts the interpreter with `site` (every .pth file of
the environment: setuptools' distutils hack among them) and, with the pip of
Debian 12 and older, imports `re` to rewrite argv[0]: about 2 ms of CPU in
every save hook, which the hook's own work never needed. The launcher this
module writes in its place starts Python with `-I -S`: no `site`, no
PYTHON* variables of the hook's environment (a PYTHONPATH in tmux's global
environment cannot put other code in front of the agent's), no user
site-packages, no script folder on sys.path. It puts exactly the folders the
agent imports from on sys.path: its own package's and psutil's.

The role runs it after `pip install` into each agent build (the file is
replaced whole, atomically). A shebang cannot hold a path with blanks or
longer than the kernel reads: then the console script is left as pip wrote
it, and the launcher says why (exit code 0: the agent runs either way).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

# Linux reads the first 256 bytes of a script since 5.1 (127 before); macOS 512.
SHEBANG_MAX = 127


def import_roots() -> list[str]:
    """The sys.path folders the agent needs: its package's and psutil's."""
    import assistant_resurrect

    roots = [os.path.dirname(os.path.dirname(os.path.abspath(assistant_resurrect.__file__)))]
    try:
        import psutil
    except ImportError:  # only the macOS/BSD process backend needs it
        pass
    else:
        root = os.path.dirname(os.path.dirname(os.path.abspath(psutil.__file__)))
        if root not in roots:
            roots.append(root)
    return roots


def script(python: str, roots: list[str]) -> str:
    """The launcher's text (python: the interpreter's path as the shebang names it)."""
    return (
        f"#!{python} -IS\n"
        "# assistant-resurrect, written by `python -m assistant_resurrect.launcher`:\n"
        "# Python without site and without the PYTHON* environment (-I -S), the\n"
        "# agent's folders on sys.path. Reinstalling with pip puts pip's script back.\n"
        "import sys\n"
        f"sys.path.extend({roots!r})\n"
        "from assistant_resurrect.cli import main\n"
        "sys.exit(main())\n"
    )


def why_not(python: str) -> Optional[str]:
    """Why `python` cannot be a shebang line's interpreter, or None."""
    if not os.path.isabs(python):
        return f"the interpreter's path {python!r} is not absolute"
    if any(c.isspace() for c in python):
        return f"the interpreter's path {python!r} holds a blank"
    if len(f"#!{python} -IS".encode()) > SHEBANG_MAX:
        return f"the interpreter's path is longer than a shebang line may be ({SHEBANG_MAX} bytes)"
    return None


def write(target: str, python: str) -> Optional[str]:
    """Replace `target` (pip's console script) with the launcher, atomically and
    with its mode; None when written, else why not (the target is left as it is)."""
    reason = why_not(python)
    if reason is not None:
        return reason
    text = script(python, import_roots()).encode()
    mode = os.stat(target).st_mode & 0o7777 if os.path.exists(target) else 0o755
    tmp = f"{target}.launcher-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text)
        os.fchmod(fd, mode | (mode & 0o444) >> 2)  # executable wherever readable
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, target)
    except OSError:
        os.unlink(tmp)
        raise
    return None


def main(argv: Optional[list[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0].startswith("-")):
        sys.stderr.write(
            "usage: python -m assistant_resurrect.launcher [TARGET]\n"
            "  TARGET: the script to replace (default: <the venv>/bin/assistant-resurrect)\n"
        )
        return 2
    bindir = os.path.dirname(sys.executable)
    target = args[0] if args else os.path.join(bindir, "assistant-resurrect")
    # the venv's own python (a link), not the interpreter it resolves to: the venv's
    # pyvenv.cfg is found next to it
    python = os.path.join(bindir, os.path.basename(sys.executable))
    try:
        reason = write(target, python)
    except OSError as e:
        sys.stderr.write(f"assistant-resurrect launcher: cannot write {target}: {e.strerror}\n")
        return 1
    if reason is not None:
        sys.stdout.write(f"kept pip's console script {target}: {reason}\n")
    else:
        sys.stdout.write(f"wrote the launcher {target}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
