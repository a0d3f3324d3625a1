"""Whether tmux-continuum's automatic save and restore are going to run (doctor).

Continuum saves from a `#(.../continuum_save.sh)` job it puts in front of
`status-right` when it loads, so that
- a theme or a later line that sets `status-right` again removes it;
- tmux runs it only while the status line is shown (`status off`: never);
- it does not add it when another tmux server of the user was running when it
  loaded, and it never auto-restores then (its "multiple servers" rule counts
  the user's processes whose command starts with `tmux`);
- `@continuum-save-interval 0` turns saving off (a doctor problem of its own);
- auto-restore needs `@continuum-restore on` and no `~/tmux_no_auto_restore`.
"""

from __future__ import annotations

import os

from assistant_resurrect import paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from assistant_resurrect.tmux import Tmux

SAVE_JOB = "continuum_save.sh"
HALT_FILE = "tmux_no_auto_restore"


def other_servers(server_pid: int) -> list[int]:
    """PIDs of this user's other tmux servers: `tmux` processes that lead their own
    session with no terminal (a server daemonizes so; clients have a terminal, a
    command run from a script does not lead its session)."""
    me = os.getuid()
    out: list[int] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit() or int(name) == server_pid:
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != me:
                continue
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.find(b"(") + 1 : stat.rfind(b")")]
        fields = stat[stat.rfind(b")") + 2 :].split()
        if not comm.startswith(b"tmux") or len(fields) < 5:
            continue
        session, tty = int(fields[3]), int(fields[4])
        if session == int(name) and tty == 0:
            out.append(int(name))
    return sorted(out)


def warnings(tmux: Tmux) -> list[str]:
    """Why continuum will not save or restore by itself here ([] when it will, or
    when continuum is not in use)."""
    names = (
        "status",
        "status-right",
        "@continuum-save-interval",
        "@continuum-restore",
        "@continuum-save-last-timestamp",
        "@resurrect-save-script-path",
        "pid",
    )
    try:
        rec = tmux.query(["display-message", "-p"], names)
        values = dict(zip(names, rec[0])) if len(rec) == 1 else {}
    except Exception:
        return []
    if not values:
        return []
    loaded = bool(values["@continuum-save-last-timestamp"]) or SAVE_JOB in values["status-right"]
    plugin = os.path.isdir(os.path.join(paths.home(), ".tmux", "plugins", "tmux-continuum"))
    if not (loaded or plugin):
        return []  # no continuum: saves are the user's own (prefix + C-s)
    out: list[str] = []
    pid = int(values["pid"]) if values["pid"].isdigit() else 0
    others = other_servers(pid)
    if others:
        out.append(
            f"another tmux server of yours runs (pid {', '.join(map(str, others))}): "
            "tmux-continuum does not auto-save in a server started beside another one "
            "and never auto-restores at start-up then; use one server (sockets: tmux -L)"
        )
    if SAVE_JOB not in values["status-right"]:
        out.append(
            "status-right does not run tmux-continuum's save job (a theme or a later "
            "'set -g status-right' replaced it, or another server ran when continuum "
            "loaded): no automatic saves; load continuum after the theme in ~/.tmux.conf"
        )
    elif values["status"] == "off":
        out.append(
            "the status line is off: tmux runs tmux-continuum's save job only while it "
            "is shown, so nothing saves automatically (event saves still run after the "
            "first save)"
        )
    if values["@continuum-restore"] != "on":
        out.append(
            "@continuum-restore is not on: a new tmux server does not restore the last "
            "save by itself (prefix + C-r does)"
        )
    elif os.path.exists(os.path.join(paths.home(), HALT_FILE)):
        out.append(f"~/{HALT_FILE} exists: tmux-continuum skips its auto-restore")
    return out
