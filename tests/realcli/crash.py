"""The crash harness of the real-CLI switch suite (tests/realcli/test_switch_*.py).

`crash` (a function-scoped fixture of tests/realcli/conftest.py, on top of the
session-wide `real` user) is a tmux
server of its own, run as that user, with the REAL tmux-resurrect cloned from
../shared/mirrors/tmux-resurrect.bundle, our three hooks and event saves on
(`@assistant-resurrect-event-save` at its default), in the default start mode
(`attached`: restore types into a session once a client shows it). Its own
resurrect dir; the state dir is the user's.

A test drives the real CLIs in `crash.window()` panes, calls `crash.changed()`
right after its last change, then `crash.crash_and_restore()`:
1. waits until 5 s after that change (nothing but our event saves may save it:
   no interval save runs in a test);
2. records the change-to-saved delay (the first sidecar written after the
   change; printed at the end of the run by tests/realcli/conftest.py);
3. `kill -9` of the tmux server and of every process that ran in its panes (a
   crash or a reboot: nothing of the old server goes on running);
4. a fresh server (session `0`, as `tmux` makes it), a real client attached to
   it (a `tmux attach` in a pane of the `real` server), tmux-resurrect's
   restore script run in the background as continuum's auto-restore runs it;
   tmux-resurrect switches the client to the saved session, our restore types;
5. waits until every saved assistant pane is typed into or skipped.
`pane_after(old)` maps a pane of before the crash to its restored pane (same
session:window.pane address) and `argv_in(pane, marker)` gives the argv of the
process that restore started there.

Skipped, saying so, where the bundle is absent (a user's clone).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import statistics
import time
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.realcli.conftest import ROOT, RealEnv, wait_for

BUNDLE = Path(os.environ.get("AR_SHARED_DIR", str(ROOT.parent / "shared"))) / "mirrors"
RESURRECT_BUNDLE = BUNDLE / "tmux-resurrect.bundle"
MARKER = "@assistant-resurrect-restored"
AFTER_CHANGE = 5.0  # seconds between the last change and the kill

# (test, seconds from changed() to the first sidecar written after it, or None)
DELAYS: list[tuple[str, Optional[float]]] = []
_cloned: dict[str, Path] = {}


def resurrect_plugin(real: RealEnv) -> Path:
    """tmux-resurrect cloned (once per run) from the bundle into the user's home."""
    if "path" in _cloned:
        return _cloned["path"]
    if not RESURRECT_BUNDLE.is_file():
        pytest.skip(f"no real tmux-resurrect here ({RESURRECT_BUNDLE} is absent)")
    dest = real.home / ".tmux" / "plugins" / "tmux-resurrect"
    if not dest.exists():
        real.write(".tmux/plugins/.keep", "")
        real.run(["git", "clone", "-q", str(RESURRECT_BUNDLE), str(dest)], timeout=120)
    _cloned["path"] = dest
    return dest


class Crash:
    def __init__(self, real: RealEnv, plugin: Path, name: str) -> None:
        self.real = real
        self.plugin = plugin
        self.name = name
        self.before_crash: list[tuple[Any, Any, Any]] = []
        tag = secrets.token_hex(3)
        self.socket = f"ar-crash-{tag}"
        self.rdir = real.home / f".resurrect-{tag}"
        self.conf = real.write(f".crash-{tag}.conf", self._conf())
        real.write(f".resurrect-{tag}/.keep", "")
        self.changed_at: Optional[float] = None
        self.addresses: dict[str, str] = {}  # old pane id -> session:window.pane
        self.restored: dict[str, str] = {}  # address -> new pane id
        self.outer: Optional[str] = None  # the pane of `real` that holds our client
        self._start_server()
        # The save continuum makes in its first interval: it starts the sentinel
        # (event saves begin with a server's first save or restore).
        self.save()

    # -- the server ---------------------------------------------------------------
    def _conf(self) -> str:
        agent = self.real.agent
        lines = [
            f"set -g @resurrect-dir '{self.rdir}'",
            f"set -g @resurrect-hook-post-save-layout '{agent} save'",
            f"set -g @resurrect-hook-post-save-all '{agent} save-finish'",
            f"set -g @resurrect-hook-post-restore-all '{agent} restore'",
            "set -g @assistant-resurrect-stagger 0",
            "set -g @assistant-resurrect-check 0",
            "set -g history-limit 5000",
            f"run-shell '{self.plugin}/resurrect.tmux'",
        ]
        return "\n".join(lines) + "\n"

    def tmux(self, *args: str, check: bool = True) -> str:
        return self.real.run(
            ["tmux", "-L", self.socket, "-f", str(self.conf), *args], check=check
        ).stdout

    def _start_server(self) -> None:
        self.tmux(
            "new-session", "-d", "-s", "0", "-x", "200", "-y", "50", "-c", str(self.real.home)
        )
        wait_for(
            lambda: self.tmux("show-options", "-gqv", "@resurrect-save-script-path").strip(),
            20,
            "tmux-resurrect loaded",
        )

    def server_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "#{pid}").strip())

    def save(self) -> None:
        """A tmux-resurrect save, run as continuum runs it."""
        script = self.tmux("show-options", "-gqv", "@resurrect-save-script-path").strip()
        self.tmux("run-shell", f"{script} quiet")

    # -- panes --------------------------------------------------------------------
    def window(self, cwd: Path, env: Optional[dict[str, str]] = None) -> str:
        args = ["new-window", "-d", "-P", "-F", "#{pane_id}", "-t", "work:", "-c", str(cwd)]
        if not self.tmux("list-sessions", "-F", "#{session_name}").split().count("work"):
            args = ["new-session", "-d", "-P", "-F", "#{pane_id}", "-s", "work", "-c", str(cwd)]
            args += ["-x", "200", "-y", "50"]
        for k, v in (env or {}).items():
            args += ["-e", f"{k}={v}"]
        pane = self.tmux(*args).strip()
        wait_for(lambda: self.capture(pane).rstrip().endswith("$"), 15, f"prompt in {pane}")
        return pane

    def send(self, pane: str, text: str, enter: bool = True) -> None:
        self.tmux("send-keys", "-t", pane, "-l", text)
        if enter:
            time.sleep(0.4)  # TUIs take pasted text and Enter apart
            self.tmux("send-keys", "-t", pane, "Enter")

    def keys(self, pane: str, *keys: str) -> None:
        self.tmux("send-keys", "-t", pane, *keys)

    def capture(self, pane: str) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-t", pane, check=False)

    def wait_screen(self, pane: str, text: str, timeout: float = 30) -> str:
        return str(
            wait_for(
                lambda: text in self.capture(pane) and self.capture(pane),
                timeout,
                f"{text!r} on {pane}",
                on_fail=lambda: self.capture(pane),
            )
        )

    def pane_pid(self, pane: str) -> int:
        return int(self.tmux("display-message", "-p", "-t", pane, "#{pane_pid}").strip())

    def tool_pid(self, pane: str, marker: str, timeout: float = 30) -> int:
        def find() -> Optional[int]:
            for pid, argv in self.real.descendants(self.pane_pid(pane)):
                if any(marker in a for a in argv):
                    return pid
            return None

        return int(
            wait_for(find, timeout, f"{marker} in {pane}", on_fail=lambda: self.capture(pane))
        )

    # -- crash and restore --------------------------------------------------------
    def changed(self) -> None:
        self.changed_at = time.time()

    def sidecars(self) -> list[Path]:
        return sorted(self.rdir.glob("assistant_resurrect_*.json"), key=lambda p: p.stat().st_mtime)

    def _delay(self) -> Optional[float]:
        if self.changed_at is None:
            return None
        after = [p.stat().st_mtime for p in self.sidecars() if p.stat().st_mtime >= self.changed_at]
        return min(after) - self.changed_at if after else None

    def crash_and_restore(self, timeout: float = 90) -> None:
        if self.changed_at is not None:
            rest = self.changed_at + AFTER_CHANGE - time.time()
            if rest > 0:
                time.sleep(rest)
        if self.changed_at is not None:  # (a second crash with no new change: no figure)
            DELAYS.append((self.name, self._delay()))
            self.changed_at = None
        listing = self.tmux(
            "list-panes", "-a", "-F", "#{pane_id} #{session_name}:#{window_index}.#{pane_index}"
        )
        pane_pids = [int(x) for x in self.tmux("list-panes", "-a", "-F", "#{pane_pid}").split()]
        self.addresses = dict(line.split(" ", 1) for line in listing.splitlines() if line)
        doomed = {p for pane in pane_pids for p, _ in self.real.descendants(pane)} | set(pane_pids)
        with contextlib.suppress(OSError, ValueError):  # what the crash will restore, for messages
            self.before_crash = [
                (e.get("pane_id"), e.get("session_id"), e.get("id_source")) for e in self._saved()
            ]
        server = self.server_pid()
        # A reboot also ends the sentinel and any save it runs (its own session).
        sentinel = self._sentinel(server)
        os.kill(server, signal.SIGKILL)
        if sentinel:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(sentinel, signal.SIGKILL)
            for pid in {sentinel} | {p for p, _ in self.real.descendants(sentinel)}:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for pid in doomed:  # a crash takes everything that ran in the panes with it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_for(lambda: self.tmux("list-sessions", check=False) == "", 10, "old server gone")
        self._start_server()
        self.outer = self.real.window(self.real.home)
        self.real.send(self.outer, f"env -u TMUX tmux -L {self.socket} attach -t 0")
        wait_for(
            lambda: self.tmux("list-clients", "-F", "#{client_name}", check=False).strip(),
            20,
            "a client attached",
        )
        script = self.tmux("show-options", "-gqv", "@resurrect-restore-script-path").strip()
        done = self.rdir / ".restore-done"
        done.unlink(missing_ok=True)  # a second crash in one test
        self.tmux("run-shell", "-b", f"{script}; touch {done}")
        wait_for(done.exists, timeout, "tmux-resurrect's restore", interval=0.5)
        self._wait_typed(timeout)

    def _sentinel(self, server: int) -> Optional[int]:
        """The PID of this server's sentinel (sentinel-<server pid>.lock), if any."""
        try:
            text = (self.real.state_dir / f"sentinel-{server}.lock").read_text().split()
        except OSError:
            return None
        return int(text[0]) if text and text[0].isdigit() else None

    def _saved(self) -> list[dict[str, Any]]:
        last = self.rdir / "last"
        side = self.rdir / (
            os.path.basename(os.readlink(last)).replace("tmux_resurrect_", "assistant_resurrect_")
        )
        side = side.with_suffix(".json")
        return list(json.loads(side.read_text()).get("sessions") or [])

    def logs(self) -> str:
        """The save log, then the restore log (for a failed check's message)."""
        try:
            saves = (self.rdir / "assistant-save.log").read_text()
        except OSError:
            saves = ""
        return f"--- save log ---\n{saves}--- restore ---\n{self.restore_log()}"

    def restore_log(self) -> str:
        """The restore log, after the sessions (pane, ID, how found) the crash
        left saved."""
        saved = "".join(f"saved {p} {sid} ({src})\n" for p, sid, src in self.before_crash)
        return saved + self._restore_log()

    def _restore_log(self) -> str:
        try:
            return (self.rdir / "assistant-restore.log").read_text()
        except OSError:
            return ""

    def _wait_typed(self, timeout: float) -> None:
        saved = self._saved()
        listing = self.tmux(
            "list-panes", "-a", "-F", "#{session_name}:#{window_index}.#{pane_index} #{pane_id}"
        )
        self.restored = dict(line.split(" ", 1) for line in listing.splitlines() if line)

        def settled() -> bool:
            log = self._restore_log()
            for entry in saved:
                addr = entry.get("pane", "")
                pane = self.restored.get(addr)
                if pane is None or f"skip {addr}:" in log:
                    continue
                mark = self.tmux("show-options", "-pqv", "-t", pane, MARKER, check=False).strip()
                if not mark or mark.startswith("typing:"):
                    return False
            return True

        wait_for(
            settled,
            timeout,
            "restore typing every saved pane",
            interval=0.5,
            on_fail=self.restore_log,
        )

    def pane_after(self, old: str) -> str:
        addr = self.addresses.get(old, "?")
        if addr not in self.restored:
            raise AssertionError(
                f"pane {old} ({addr}) did not come back: it was in no save before the crash"
            )
        return self.restored[addr]

    def argv_in(self, pane: str, marker: str, timeout: float = 60) -> list[str]:
        def find() -> Optional[list[str]]:
            for _, argv in self.real.descendants(self.pane_pid(pane)):
                if any(marker in a for a in argv):
                    return argv
            return None

        found = wait_for(
            find,
            timeout,
            f"{marker} started in {pane}",
            on_fail=lambda: self.capture(pane) + "\n--- restore log ---\n" + self.restore_log(),
        )
        return list(found)

    def close(self) -> None:
        pids = []
        try:
            pane_pids = [
                int(x)
                for x in self.tmux("list-panes", "-a", "-F", "#{pane_pid}", check=False).split()
            ]
            pids = [p for pane in pane_pids for p, _ in self.real.descendants(pane)]
        except Exception:
            pass
        self.tmux("kill-server", check=False)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.outer:
            self.real.kill(self.outer)


def delay_summary() -> Optional[str]:
    """One line for the end of the run: cases, median and max change-to-saved delay."""
    if not DELAYS:
        return None
    values = [d for _, d in DELAYS if d is not None]
    missing = len(DELAYS) - len(values)
    line = f"switch suite: {len(DELAYS)} crash case(s)"
    if values:
        line += (
            f", change-to-saved delay median {statistics.median(values):.2f} s, "
            f"max {max(values):.2f} s"
        )
    if missing:
        line += f", {missing} case(s) with no save after the last change"
    return line


__all__ = ["Crash", "delay_summary", "resurrect_plugin"]
