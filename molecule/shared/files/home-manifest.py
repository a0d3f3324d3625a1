#!/usr/bin/env python3
"""Print a manifest of everything under a home directory, one entry a line.

Used by the uninstall scenario: a manifest taken before install must equal
the one taken after uninstall (byte-identical user files, nothing of ours
left). Each line: path (relative to the home), type, mode, owner, and the
SHA-256 of a file or the target of a symlink. Directories that are empty
are listed too, so a folder left behind is visible.

Ignored: ~/.ansible (Ansible's own temporary files from running the tests,
not the role's doing).
"""

import hashlib
import os
import stat
import sys

IGNORED_TOP = {".ansible"}


def entry(home, path):
    st = os.lstat(path)
    rel = os.path.relpath(path, home)
    mode = stat.S_IMODE(st.st_mode)
    owner = f"{st.st_uid}:{st.st_gid}"
    if stat.S_ISLNK(st.st_mode):
        return f"{rel}\tlink\t{owner}\t-> {os.readlink(path)}"
    if stat.S_ISDIR(st.st_mode):
        return f"{rel}\tdir\t{mode:04o}\t{owner}"
    if stat.S_ISREG(st.st_mode):
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                digest.update(chunk)
        return f"{rel}\tfile\t{mode:04o}\t{owner}\t{digest.hexdigest()}"
    return f"{rel}\tother\t{mode:04o}\t{owner}"


def manifest(home):
    lines = []
    for root, dirs, files in os.walk(home):
        if root == home:
            dirs[:] = [d for d in dirs if d not in IGNORED_TOP]
        dirs.sort()
        for name in dirs + sorted(files):
            lines.append(entry(home, os.path.join(root, name)))
    return sorted(lines)


if __name__ == "__main__":
    print("\n".join(manifest(os.path.abspath(sys.argv[1]))))
