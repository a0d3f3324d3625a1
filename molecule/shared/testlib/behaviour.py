"""End-to-end behaviour inside the instance, as the ordinary user `alice`:
real assistants in tmux panes, the role's resurrect hooks run exactly the
way tmux-resurrect runs them, the tmux server killed, the panes recreated,
restore run, and what got typed into each pane read back.

`run_scenario(host)` does the whole sequence once and returns what the tests
assert on (tests/test_behaviour.py of the default scenario).
"""

from __future__ import annotations

import json
import shlex
import time

from arlib import HOME, LIB, as_user, out, wait_for

STUB_PORT = 18080
CLAUDE_KEY = "sk-ant-api03-molecule-0123456789abcdefghijklmnopqrstuvwxyz"
CODEX_KEY = "sk-molecule-codex-0123456789"
RC = f"bash --rcfile {LIB}/typed-log.bashrc -i"
ENV = (
    f"export ANTHROPIC_API_KEY={CLAUDE_KEY} ANTHROPIC_BASE_URL=http://127.0.0.1:{STUB_PORT} "
    "DISABLE_AUTOUPDATER=1; "
)
# pane address -> (working directory, what the user typed to start it)
PANES = {
    "work:0.0": (f"{HOME}/w/claude", "claude --model sonnet"),
    "work:0.1": (f"{HOME}/w/opencode", "opencode"),
    "work:1.0": (f"{HOME}/w/codex", "codex"),
    "work:1.1": (f"{HOME}/w/plain", None),  # a shell, no assistant
}
STATE_DIR = "/tmp/assistant-resurrect-1000"
# a terminal showing session `work`: a client inside another tmux server
VIEWER = "env -u TMUX tmux attach -t work"  # no XDG_RUNTIME_DIR under su -


def sh(host, script, check=True):
    return as_user(host, ENV + script, check=check)


def make_panes(host):
    """The session `work`: window 0 with two panes, window 1 with two."""
    (d00, _), (d01, _), (d10, _), (d11, _) = PANES.values()
    sh(
        host,
        f"""
        tmux new-session -d -s work -x 200 -y 50 -c {d00} {shlex.quote(RC)}
        tmux split-window -t work:0 -c {d01} {shlex.quote(RC)}
        tmux new-window -t work:1 -c {d10} {shlex.quote(RC)}
        tmux split-window -t work:1 -c {d11} {shlex.quote(RC)}
    """,
    )
    ids = dict(
        line.split()
        for line in out(host, "tmux list-panes -a -F '#S:#I.#P #{pane_id}'").splitlines()
    )
    assert sorted(ids) == sorted(PANES), ids
    # every shell shows its prompt before anything is typed
    for addr in PANES:
        wait_for(
            f"a prompt in {addr}",
            lambda a=addr: out(host, f"tmux capture-pane -p -t {a}").strip(),
            20,
        )
    return ids


def wait_screen(host, addr, needles, timeout):
    """Wait until the pane shows one of `needles`; on timeout fail with its screen."""
    last = {"screen": ""}

    def probe():
        last["screen"] = out(host, f"tmux capture-pane -p -t {addr}")
        return any(n in last["screen"] for n in needles)

    try:
        wait_for(f"{addr} to show one of {needles}", probe, timeout)
    except AssertionError as exc:
        procs = out(host, "ps -u alice -o pid=,ppid=,etime=,args=")
        raise AssertionError(f"{exc}\nscreen:\n{last['screen']}\nprocesses:\n{procs}") from None


def type_line(host, addr, text):
    sh(
        host,
        f"tmux send-keys -t {addr} -l {shlex.quote(text)}; sleep 0.3; "
        f"tmux send-keys -t {addr} Enter",
    )


def sql(host, db, query):
    return out(host, f"[ -f {db} ] && sqlite3 {db} {shlex.quote(query)} || true").strip()


def pane_processes(host, pane_pid, with_pid=False):
    """args (or "pid args") of every process under a pane's shell."""
    table = out(host, "ps -eo pid=,ppid=,args=")
    children, args = {}, {}
    for line in table.splitlines():
        pid, ppid, a = ([*line.split(None, 2), ""])[:3]
        children.setdefault(ppid, []).append(pid)
        args[pid] = a
    found, todo = [], list(children.get(str(pane_pid), []))
    while todo:
        p = todo.pop()
        found.append(f"{p} {args[p]}" if with_pid else args[p])
        todo.extend(children.get(p, []))
    return found


def typed_logs(host, ids):
    logs = {}
    for addr, pane_id in ids.items():
        f = host.file(f"{HOME}/.ar-typed/{pane_id.lstrip('%')}.log")
        logs[addr] = f.content_string.splitlines() if f.exists else None
    return logs


def start_assistants(host):
    for d, _ in PANES.values():
        sh(host, f"mkdir -p {d}")
    # Claude: skip its first-run screens; a local stand-in for the API.
    sh(
        host,
        "python3 - <<'EOF'\n"
        "import json, os\n"
        f"key = {CLAUDE_KEY!r}\n"
        "p = os.path.expanduser('~/.claude.json')\n"
        "d = json.load(open(p)) if os.path.exists(p) else {}\n"
        "d['hasCompletedOnboarding'] = True\n"
        f"d.setdefault('projects', {{}})[{PANES['work:0.0'][0]!r}] = "
        "{'hasTrustDialogAccepted': True}\n"
        "d['customApiKeyResponses'] = {'approved': [key[-20:]], 'rejected': []}\n"
        "json.dump(d, open(p, 'w'))\n"
        "EOF",
    )
    stub_pid = out(
        host, f"nohup python3 {LIB}/anthropic-stub.py {STUB_PORT} >/dev/null 2>&1 & echo $!"
    ).strip()
    wait_for(
        "the API stand-in",
        lambda: (
            sh(
                host,
                f"python3 -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:{STUB_PORT}/\")'",
                check=False,
            ).rc
            == 0
        ),
        15,
    )
    sh(host, f"printf %s {CODEX_KEY} | codex login --with-api-key")
    ids = make_panes(host)
    for addr, (_, cmd) in PANES.items():
        if cmd:
            type_line(host, addr, cmd)
    return stub_pid, ids


def wait_sessions(host, ids):
    """Each assistant up with a real session (one message typed), its ID."""
    claude_pane_pid = out(host, "tmux display -p -t work:0.0 '#{pane_pid}'").strip()

    def claude_state():
        # the state file of the claude process running now in work:0.0
        for args in pane_processes(host, claude_pane_pid, with_pid=True):
            pid, _, a = args.partition(" ")
            if a.split()[0].endswith("claude"):
                f = host.file(f"{STATE_DIR}/claude-{pid}.json")
                if f.exists:
                    return json.loads(f.content_string).get("session_id")
        return None

    claude_id = wait_for(
        "Claude's SessionStart hook (state file from the role-configured hook)", claude_state, 60
    )
    wait_screen(host, "work:0.1", ("Ask anything", "ctrl+p commands", "tab agents"), 120)
    wait_screen(host, "work:1.0", ("OpenAI Codex", "Ask Codex"), 120)
    oc_db = f"{HOME}/.local/share/opencode/opencode.db"
    cx_db = f"{HOME}/.codex/state_5.sqlite"
    oc_q = f"select id from session where directory='{PANES['work:0.1'][0]}'"
    cx_q = f"select id from threads where cwd='{PANES['work:1.0'][0]}'"
    oc_old = set(sql(host, oc_db, oc_q).split())
    cx_old = set(sql(host, cx_db, cx_q).split())
    time.sleep(2)
    for addr in ("work:0.0", "work:0.1", "work:1.0"):
        type_line(host, addr, "hello")
    transcript = f"{HOME}/.claude/projects/-home-alice-w-claude/{claude_id}.jsonl"
    wait_for("Claude's transcript", lambda: host.file(transcript).exists, 60)

    def new_id(db, q, old):
        ids = [i for i in sql(host, db, q).split() if i not in old]
        return ids[0] if len(ids) == 1 else None

    opencode_id = wait_for("a new OpenCode session row", lambda: new_id(oc_db, oc_q, oc_old), 60)
    codex_id = wait_for("a new Codex thread row", lambda: new_id(cx_db, cx_q, cx_old), 60)
    return {
        "claude": claude_id,
        "opencode": opencode_id,
        "codex": codex_id,
        "claude_pane_pid": claude_pane_pid,
    }


def kill_codex_daemons(host):
    """Codex app-server daemons outlive their pane and ignore SIGTERM: SIGKILL
    each one, by PID."""
    table = out(host, "ps -u alice -o pid=,args=")
    for line in table.splitlines():
        pid, _, args = line.strip().partition(" ")
        if "/.codex/packages/" in args and " app-server" in args:
            sh(host, f"kill -KILL {pid} 2>/dev/null || true")


def is_assistant(args: str) -> bool:
    """A process (its `ps` args) of Claude Code, OpenCode or Codex: Codex's
    node launcher and native `codex-linux…` executable, or the native one alone
    (Debian 11's image); not its app-server daemons."""
    if " app-server" in args:
        return False
    return args.split()[0].endswith(("claude", "opencode", "codex")) or "codex-linux" in args


def run_scenario(host):
    res = {}
    stub_pid, ids = start_assistants(host)
    res["ids_before"] = ids
    try:
        res["sessions"] = wait_sessions(host, ids)
        res["save_output"] = sh(host, f"{LIB}/resurrect-driver.sh save")
        res["status"] = sh(
            host, f"{HOME}/.local/bin/assistant-resurrect status", check=False
        ).stdout
        saved = res["save_output"].stdout.splitlines()
        layout = next(ln for ln in saved if ln.startswith("layout "))[7:]
        stamp = layout.rsplit("/", 1)[1][len("tmux_resurrect_") : -len(".txt")]
        sidecar = f"{layout.rsplit('/', 1)[0]}/assistant_resurrect_{stamp}.json"
        res["sidecar_path"] = sidecar
        res["sidecar"] = (
            json.loads(host.file(sidecar).content_string) if host.file(sidecar).exists else None
        )
        # The tmux server goes away (reboot, crash): its assistants with it.
        sh(host, "tmux kill-server")
        kill_codex_daemons(host)
        wait_for(
            "the assistants to exit",
            lambda: (
                not [a for a in out(host, "ps -u alice -o args=").splitlines() if is_assistant(a)]
            ),
            30,
        )
        # the agent's event-save sentinel exits with its server (else it would
        # save the fresh server's empty layout as `last` before the restore)
        wait_for(
            "the agent's sentinel to exit with its tmux server",
            lambda: (
                not [
                    a
                    for a in out(host, "ps -u alice -o args=").splitlines()
                    if a.endswith(" sentinel")
                ]
            ),
            30,
        )
        sh(host, "rm -rf ~/.ar-typed")
        ids = make_panes(host)
        res["ids_after"] = ids
        res["pane_pids"] = dict(
            line.split()
            for line in out(host, "tmux list-panes -a -F '#S:#I.#P #{pane_pid}'").splitlines()
        )
        res["restore_output"] = sh(host, f"{LIB}/resurrect-driver.sh restore")
        # Default start mode `attached`: nothing is typed until a client shows
        # the session. Then a client attaches (from a second tmux server, the
        # way a person's terminal would).
        time.sleep(2)
        res["typed_before_attach"] = typed_logs(host, ids)
        sh(host, f"tmux -L ar-viewer new-session -d -x 200 -y 50 {shlex.quote(VIEWER)}")
        # restore types as soon as each shell shows its prompt; give the
        # commands time to appear in the shells' logs
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            logs = typed_logs(host, ids)
            if all(logs[a] for a in ("work:0.0", "work:0.1", "work:1.0")):
                break
            time.sleep(0.5)
        time.sleep(1)
        res["typed"] = typed_logs(host, ids)
        # the assistants really came back, resuming their sessions
        res["running"] = {}
        s = res["sessions"]
        want = {"work:0.0": s["claude"], "work:0.1": s["opencode"], "work:1.0": s["codex"]}
        for addr, sid in want.items():

            def probe(a=addr, i=sid):
                procs = pane_processes(host, res["pane_pids"][a])
                return [p for p in procs if i in p]

            try:
                res["running"][addr] = wait_for(f"{addr} to run its resumed assistant", probe, 30)
            except AssertionError:
                res["running"][addr] = pane_processes(host, res["pane_pids"][addr])
        # a second restore must not type anything again
        res["restore_again"] = sh(host, f"{LIB}/resurrect-driver.sh restore")
        time.sleep(3)
        res["typed_again"] = typed_logs(host, ids)
        res["restore_log"] = out(
            host,
            "cat ~/.tmux/resurrect/assistant-restore.log "
            "~/.local/share/tmux/resurrect/assistant-restore.log 2>/dev/null || true",
        )
        res["save_log"] = out(
            host,
            "cat ~/.tmux/resurrect/assistant-save.log "
            "~/.local/share/tmux/resurrect/assistant-save.log 2>/dev/null || true",
        )
    finally:
        sh(host, "tmux -L ar-viewer kill-server 2>/dev/null || true", check=False)
        sh(host, "tmux kill-server 2>/dev/null || true", check=False)
        kill_codex_daemons(host)
        sh(host, f"kill {stub_pid} 2>/dev/null || true", check=False)
    return res
