"""Shared parts of the benchmarks: the agent as users install it, a tmux server
full of panes and stand-in assistants, and timing of whole child processes.

Standard library only, Python >= 3.9. Nothing here imports the agent: it is
always run as a separate process through its installed console script.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
TOOLS = ("claude", "opencode", "codex")
SHELL = ["bash", "--norc", "--noprofile"]

STAND_IN_C = "#include <unistd.h>\nint main(void) { for (;;) pause(); }\n"
# Used when no C compiler is found: the process then shows as
# `/bin/sh <dir>/claude ...`, which the agent also recognises.
STAND_IN_SH = "#!/bin/sh\nwhile :; do sleep 3600; done\n"


def log(message: str) -> None:
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()


# -- the agent, installed the way users get it ------------------------------


def add_agent_options(ap: argparse.ArgumentParser) -> None:
    """--venv/--agent/--python/--out, shared by every benchmark."""
    ap.add_argument("--venv", type=Path, default=RESULTS / "venv", help="agent virtualenv")
    ap.add_argument(
        "--agent", type=Path, help="time this installed console script; no venv is built"
    )
    ap.add_argument("--python", default="/usr/bin/python3", help="Python for the venv")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results directory")


def agent_from(opts: argparse.Namespace) -> Path:
    """The console script to time: --agent, else one installed into --venv."""
    return opts.agent.absolute() if opts.agent else install_agent(opts.venv.resolve(), opts.python)


def install_agent(venv: Path, python: str = "/usr/bin/python3") -> Path:
    """A virtualenv made from `python` with `pip install runtime/` (not editable)
    and the agent's launcher written over pip's console script, as the role
    installs it; the path of that entry point. An existing venv gets the current tree."""
    if not (venv / "bin" / "python").exists():
        log(f"creating virtualenv {venv} from {python}")
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        deps: list[str] = []
    else:
        deps = ["--no-deps"]  # psutil is already there; only the agent changed
    log(f"pip install {ROOT / 'runtime'} into {venv}")
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--force-reinstall",
            *deps,
            str(ROOT / "runtime"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # as the role does: the agent's launcher (Python -I -S) over pip's script
    subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-m", "assistant_resurrect.launcher"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return venv / "bin" / "assistant-resurrect"


# -- timing -----------------------------------------------------------------


@dataclass
class Run:
    ms: float
    maxrss_kb: int
    status: int
    cpu_ms: float
    stdout: bytes = b""
    stderr: bytes = b""


def timed(
    argv: list[str], env: dict[str, str], stdin: Optional[bytes] = None, cwd: Optional[str] = None
) -> Run:
    """Run argv as a child; wall time from spawn to reap, and its peak RSS
    (ru_maxrss of the child and its reaped descendants, from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        in_r = in_w = -1
        actions: list[tuple] = [
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ]
        if stdin is None:
            actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
        else:
            in_r, in_w = os.pipe()
            actions.append((os.POSIX_SPAWN_DUP2, in_r, 0))
        exe = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=env.get("PATH"))
        if exe is None:
            raise FileNotFoundError(argv[0])
        if cwd is not None:
            old = os.getcwd()
            os.chdir(cwd)
        t0 = time.perf_counter()
        try:
            pid = os.posix_spawn(exe, argv, env, file_actions=actions)
        finally:
            if cwd is not None:
                os.chdir(old)
        if stdin is not None:
            os.close(in_r)
            with contextlib.suppress(BrokenPipeError):
                os.write(in_w, stdin)  # small payloads: fits in the pipe
            os.close(in_w)
        _, status, usage = os.wait4(pid, 0)
        ms = (time.perf_counter() - t0) * 1000.0
        out.seek(0)
        err.seek(0)
        cpu = (usage.ru_utime + usage.ru_stime) * 1000.0
        code = os.waitstatus_to_exitcode(status)
        return Run(ms, usage.ru_maxrss, code, cpu, out.read(), err.read())


def stats(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


# -- stand-in assistants ----------------------------------------------------


def make_stand_ins(bin_dir: Path) -> str:
    """Executables named claude, opencode and codex that wait to be killed.
    Returns how they were made ("C" or "sh"; AR_BENCH_STAND_IN=sh forces sh)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    cc = shutil.which("cc") or shutil.which("gcc")
    if os.environ.get("AR_BENCH_STAND_IN") == "sh":
        cc = None
    kind = "sh"
    if cc:
        src = bin_dir / "stand_in.c"
        src.write_text(STAND_IN_C)
        built = subprocess.run([cc, "-O2", "-o", str(bin_dir / "stand-in"), str(src)])
        if built.returncode == 0:
            kind = "C"
    for tool in TOOLS:
        path = bin_dir / tool
        if kind == "C":
            shutil.copy(bin_dir / "stand-in", path)
        else:
            path.write_text(STAND_IN_SH)
        path.chmod(0o755)
    return kind


def opencode_id(n: int) -> str:
    return "ses_" + uuid.UUID(int=uuid.uuid4().int ^ n).hex[:26]


@dataclass
class Assistant:
    """One stand-in assistant in a pane: its command line, and the state file the
    real tool's hook/plugin would have written (None: ID on the command line)."""

    tool: str
    argv: list[str]
    session_id: str
    state_file: bool
    pid: int = 0


def assistant_for(i: int) -> Assistant:
    """The i-th assistant: half Claude, a quarter each OpenCode and Codex, with
    the session ID on the command line or (Claude, OpenCode) only in a state file."""
    kind = i % 8
    if kind in (0, 1, 2, 3):
        sid = str(uuid.uuid4())
        if kind == 0:
            return Assistant("claude", ["claude", "--resume", sid], sid, True)
        if kind == 1:
            return Assistant("claude", ["claude", "--model", "opus"], sid, True)
        if kind == 2:
            return Assistant(
                "claude", ["claude", "--permission-mode", "plan", "--resume", sid], sid, True
            )
        return Assistant("claude", ["claude"], sid, True)
    if kind in (4, 5):
        sid = opencode_id(i)
        if kind == 4:
            return Assistant("opencode", ["opencode", "-s", sid], sid, False)
        return Assistant("opencode", ["opencode"], sid, True)
    sid = str(uuid.uuid4())
    if kind == 6:
        return Assistant("codex", ["codex", "resume", sid], sid, False)
    return Assistant("codex", ["codex", "-m", "gpt-5-codex", "resume", sid], sid, False)


# -- a tmux server full of panes ---------------------------------------------


def tmux_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'" if s else "''"


def sh_quote(s: str) -> str:
    return "'" + s.replace("'", "'\"'\"'") + "'"


@dataclass
class Server:
    """A tmux server on a private socket with `panes` panes, `assistants` of them
    running a stand-in assistant (below a shell, as when typed at a prompt)."""

    work: Path
    panes: int
    assistants: int
    socket: str = ""
    socket_path: str = ""
    tmux: str = ""
    env: dict[str, str] = field(default_factory=dict)
    layout: list[tuple[str, int, int]] = field(default_factory=list)  # (session, window, pane)
    started: list[Assistant] = field(default_factory=list)
    home: Path = Path()
    rdir: Path = Path()
    state: Path = Path()
    stand_in_kind: str = ""

    def __post_init__(self) -> None:
        self.socket = f"ar-bench-{os.getpid()}-{self.panes}-{self.assistants}"
        tmux = shutil.which("tmux")
        if tmux is None:
            raise SystemExit("tmux is not installed")
        self.tmux = tmux
        self.home = self.work / "home"
        self.rdir = self.home / ".tmux" / "resurrect"
        self.state = self.work / "state"
        self.rdir.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(mode=0o700, exist_ok=True)
        bin_dir = self.work / "bin"
        self.stand_in_kind = make_stand_ins(bin_dir)
        (self.home / ".bashrc").write_text("PS1='$ '\nHISTFILE=/dev/null\n")
        self.env = {
            "HOME": str(self.home),
            "PATH": f"{bin_dir}:{os.path.dirname(tmux)}:/usr/local/bin:/usr/bin:/bin",
            "SHELL": "/bin/bash",
            "TERM": "xterm-256color",
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "TMUX_ASSISTANT_RESURRECT_DIR": str(self.state),
        }

    def cmd(self, *args: str, check: bool = True) -> str:
        r = subprocess.run(
            [self.tmux, "-L", self.socket, *args], env=self.env, capture_output=True, text=True
        )
        if check and r.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args[:2])} failed: {r.stderr.strip()}")
        return r.stdout

    def plan(self) -> list[tuple[str, int, int]]:
        """Sessions of up to 8 windows; windows of 2 panes (one of 1 when odd)."""
        out: list[tuple[str, int, int]] = []
        n = 0
        s = w = 0
        while n < self.panes:
            per_window = min(2, self.panes - n)
            for p in range(per_window):
                out.append((f"work{s}", w, p))
            n += per_window
            w += 1
            if w == 8:
                s, w = s + 1, 0
        return out

    def start(self, shells_only: bool = False, timeout: float = 120.0) -> None:
        """Create every pane; wait until each runs its program. With
        `shells_only`, every pane runs a plain shell (a restore target)."""
        self.layout = self.plan()
        which = spread(self.panes, 0 if shells_only else self.assistants)
        projects = self.home / "src"
        lines = []
        first: list[str] = []
        self.started = []
        for i, (sess, win, pane) in enumerate(self.layout):
            cwd = projects / f"project-{i % 37}"
            cwd.mkdir(parents=True, exist_ok=True)
            if i in which:
                a = assistant_for(len(self.started))
                self.started.append(a)
                inner = " ".join(sh_quote(t) for t in a.argv)
                program = f"{' '.join(SHELL)} -c {sh_quote(inner + '; exec ' + ' '.join(SHELL))}"
            else:
                program = " ".join(SHELL)
            where = f"-c {tmux_quote(str(cwd))} {tmux_quote(program)}"
            if i == 0:  # run directly: the server then never lacks a session
                first = ["new-session", "-d", "-s", sess, "-x", "200", "-y", "50"]
                first += ["-c", str(cwd), program]
            elif pane > 0:
                lines.append(f"split-window -d -h -t {sess}:{win} {where}")
            elif win == 0:
                lines.append(f"new-session -d -s {sess} -x 200 -y 50 {where}")
            else:
                lines.append(f"new-window -d -t {sess}:{win} {where}")
        script = self.work / "panes.tmux"
        script.write_text("\n".join(lines) + "\n")
        boot = self.work / "boot.tmux"
        boot.write_text("set -g base-index 0\nset -g pane-base-index 0\nset -g exit-empty off\n")
        self.cmd("-f", str(boot), *first, ";", "source-file", str(script))
        self.socket_path = self.cmd("display-message", "-p", "#{socket_path}").strip()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            pane_pids = {int(x) for x in self.cmd("list-panes", "-a", "-F", "#{pane_pid}").split()}
            if len(pane_pids) == self.panes and self._match(pane_pids):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"not ready after {timeout:.0f}s: {len(pane_pids)}/{self.panes} panes, "
                    f"{sum(1 for a in self.started if a.pid)}/{len(self.started)} assistants"
                )
            time.sleep(0.2)

    def _match(self, pane_pids: set[int]) -> bool:
        """Give each started assistant its pid: the children of the pane
        processes, matched by command line."""
        by_args: dict[tuple[str, ...], list[int]] = {}
        for pid, args in children_of(pane_pids):
            if args and os.path.basename(args[0]) == "sh":  # the sh fallback
                args = args[1:]
            if args:
                key = (os.path.basename(args[0]), *args[1:])
                by_args.setdefault(key, []).append(pid)
        for a in self.started:
            a.pid = 0
        ok = True
        for a in self.started:
            pids = by_args.get(tuple(a.argv), [])
            if not pids:
                ok = False
                continue
            a.pid = pids.pop(0)
        return ok

    def write_state_files(self) -> None:
        """What the Claude SessionStart hook and the OpenCode plugin would have
        written for these processes (same format, same directory)."""
        btime = 0.0
        with open("/proc/stat") as fh:
            for line in fh:
                if line.startswith("btime"):
                    btime = float(line.split()[1])
        tck = os.sysconf("SC_CLK_TCK")
        now = time.time()
        for a in self.started:
            if not a.state_file:
                continue
            with open(f"/proc/{a.pid}/stat", "rb") as fh:
                data = fh.read()
            fields = data[data.rindex(b")") + 2 :].split()
            start = round(btime + int(fields[19]) / tck, 2)
            doc = {
                "tool": a.tool,
                "pid": a.pid,
                "session_id": a.session_id,
                "start_time": start,
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                "timestamp_epoch": round(now, 3),
            }
            if a.tool == "claude":
                doc.update({"hook_event_name": "SessionStart", "source": "startup", "cwd": "/"})
            path = self.state / f"{a.tool}-{a.pid}.json"
            path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
            path.chmod(0o600)

    def tmux_env(self) -> str:
        """$TMUX as tmux sets it for a hook of this server: socket path, pid, session."""
        out = self.cmd("display-message", "-p", "#{socket_path},#{pid}").strip()
        return f"{out},0"

    def kill(self) -> None:
        """Stop the server and wait until it is gone (its socket answers no more)."""
        subprocess.run(
            [self.tmux, "-L", self.socket, "kill-server"], env=self.env, capture_output=True
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = subprocess.run(
                [self.tmux, "-L", self.socket, "list-sessions"], env=self.env, capture_output=True
            )
            if r.returncode != 0:
                break
            time.sleep(0.05)
        if self.socket_path:  # tmux leaves the socket file behind
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)


def children_of(parents: set[int]) -> list[tuple[int, list[str]]]:
    """(pid, argv) of every process whose parent is in `parents`, from /proc."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
            if int(stat[stat.rindex(b")") + 2 :].split()[1]) not in parents:
                continue
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                args = [a.decode(errors="replace") for a in fh.read().split(b"\0")[:-1]]
        except (OSError, ValueError):
            continue
        found.append((int(name), args))
    return found


def spread(total: int, k: int) -> set[int]:
    """k indices out of range(total), evenly spread."""
    if k <= 0:
        return set()
    return {int(i * total / k) for i in range(k)}


def machine() -> str:
    """One line describing this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    distro = ""
    try:
        with open("/etc/os-release") as fh:
            for line in fh:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"') + ", "
    except OSError:
        pass
    tmux_v = subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}){mem}; {distro}Linux {platform.release()}; "
        f"{tmux_v}; agent venv Python from /usr/bin/python3"
    )


def write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def md_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
