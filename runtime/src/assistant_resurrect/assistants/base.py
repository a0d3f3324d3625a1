"""What every assistant module answers, and the shared argument scanner.

An assistant module subclasses `Assistant`, sets its class attributes and,
where the tool needs it, overrides a method; `assistants/__init__.py`
registers it. Nothing else in the agent names a tool.

Code-loading options (`code_options`): options whose value, or presence, makes
the tool load code or configuration that can run code (settings files with
hooks, MCP server definitions, plugins, config overrides, profiles). The policy
restore applies (planner.py): replayed arguments were recorded by this agent
from the user's own process (detect.py saves no other user's) into a sidecar
the user owns, so they are replayed as recorded, except that
- entries converted from the upstream bash plugin's legacy file drop every
  code-loading option and its values (logged): nobody can tell who wrote them;
- a value of a `code_path_options` option that names a file or folder (not
  inline JSON) must pass the trust checks of trust.py (owned by the user or
  root, not writable by others, in trusted folders), else the pane is skipped
  with the option and path named. Only the named file or folder is checked,
  not what a folder holds.
Both `--opt value` and `--opt=value` are recognised, a short option's attached
value too (`-cKEY=VALUE`), and for `code_list_options` (variadic ones) the
plain words that follow, which the tool reads as more values.
"""

from __future__ import annotations

import os
import re

from assistant_resurrect.records import Record

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Callable, ClassVar, Optional

if TYPE_CHECKING:
    from assistant_resurrect.log import Log
    from assistant_resurrect.procs import Snapshot
    from assistant_resurrect.statefiles import StateFiles

# Programs that run another program named by their first non-option argument.
INTERPRETERS = frozenset(
    {"node", "nodejs", "bun", "deno", "sh", "bash", "dash", "zsh", "ksh", "python", "python3"}
)
# Interpreter options that take the next token as their value.
INTERPRETER_VALUE_OPTIONS = frozenset(
    {"-r", "--require", "--import", "--loader", "--experimental-loader", "--conditions", "-C"}
)
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
SCRIPT_SUFFIXES = (".js", ".mjs", ".cjs", ".exe", ".sh", ".ts")
# What a strategy returns when its evidence says the process shows a session
# with no conversation yet (after /new or /clear without a message): nothing
# to resume, so the pane is restored as a fresh start of the same tool.
NO_CONVERSATION = "\0no-conversation"
# `id_source` of a session saved that way.
FRESH = "fresh"


def script_stem(name: str) -> str:
    """A program's basename without its script/executable suffix (`codex.js` -> `codex`)."""
    for suffix in SCRIPT_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


class Launch(Record):
    """How a process was started: the program token and the user's arguments.

    (Records are plain classes, not dataclasses: importing `dataclasses` costs
    the save hook ~10 ms.)"""

    _fields = ("program", "name", "args", "direct")
    __slots__ = _fields

    def __init__(self, program: str, name: str, args: list[str], direct: bool) -> None:
        self.program = program  # argv token naming the assistant (path or name)
        self.name = name  # its basename without script suffix
        self.args = args
        self.direct = direct  # True when argv[0] itself is the assistant (not an interpreter)


def parse_launch(argv: list[str]) -> Optional[Launch]:
    """Find the program an argv runs, through `env`, interpreters and shims."""
    if not argv:
        return None
    i = 0
    base = os.path.basename(argv[0]).lstrip("-")
    if base == "env":
        i = 1
        while i < len(argv) and (argv[i].startswith("-") or "=" in argv[i]):
            if argv[i] in ("-u", "--unset", "-C", "--chdir", "-S", "--split-string"):
                i += 1
            i += 1
        if i >= len(argv):
            return None
        base = os.path.basename(argv[i])
    direct = True
    stem = script_stem(base)
    if re.sub(r"[\d.]+$", "", stem) in INTERPRETERS:
        direct = False
        i += 1
        while i < len(argv) and argv[i].startswith("-"):
            if argv[i] in ("-c", "-e", "--eval", "-p", "--print"):
                return None  # inline code: its children are looked at on their own
            if argv[i] in INTERPRETER_VALUE_OPTIONS:
                i += 1
            i += 1
        if i >= len(argv):
            return None
        base = os.path.basename(argv[i])
        stem = script_stem(base)
    return Launch(program=argv[i], name=stem, args=list(argv[i + 1 :]), direct=direct)


class Token(Record):
    """One element of a scanned command line."""

    _fields = ("raw", "option", "value")
    __slots__ = _fields

    def __init__(
        self, raw: list[str], option: Optional[str] = None, value: Optional[str] = None
    ) -> None:
        self.raw = raw  # the argv tokens it spans
        self.option = option  # "--model" for "--model x" and "--model=x"
        self.value = value


def scan(args: list[str], value_options: frozenset[str]) -> list[Token]:
    """Split args into options (with their values) and positionals."""
    out: list[Token] = []
    i = 0
    rest_positional = False
    while i < len(args):
        a = args[i]
        if rest_positional or not a.startswith("-") or a == "-":
            out.append(Token([a]))
        elif a == "--":
            rest_positional = True
            out.append(Token([a], option="--"))
        elif a.startswith("--") and "=" in a:
            name, _, value = a.partition("=")
            out.append(Token([a], option=name, value=value))
        elif (
            a in value_options
            and i + 1 < len(args)
            and not (args[i + 1].startswith("-") and len(args[i + 1]) > 1)
        ):  # an option right after means the value was left out (`--resume --verbose`)
            out.append(Token([a, args[i + 1]], option=a, value=args[i + 1]))
            i += 1
        else:
            out.append(Token([a], option=a))
        i += 1
    return out


class Found(Record):
    """An assistant process found in a pane, as the strategies see it."""

    _fields = ("pid", "launch", "start", "cwd", "pids", "pane_pid")
    __slots__ = _fields

    def __init__(
        self,
        pid: int,
        launch: Launch,
        start: float,
        cwd: Optional[str],
        pids: Optional[list[int]] = None,
        pane_pid: int = 0,
    ) -> None:
        self.pid = pid
        self.launch = launch
        self.start = start
        self.cwd = cwd
        self.pids: list[int] = [] if pids is None else pids  # pid and same-tool descendants
        self.pane_pid = pane_pid


class Context(Record):
    """What strategies may consult; everything expensive is loaded lazily."""

    _fields = ("snap", "log", "home", "_state", "claimed", "from_args")
    __slots__ = _fields

    def __init__(
        self,
        snap: Snapshot,
        log: Log,
        home: str,
        _state: Optional[StateFiles] = None,
        claimed: Optional[dict[str, int]] = None,
        from_args: Optional[set[str]] = None,
    ) -> None:
        self.snap = snap
        self.log = log
        self.home = home
        self._state = _state
        self.claimed: dict[str, int] = {} if claimed is None else claimed  # session ID -> pid
        # IDs claimed only because a command line names them: a process's own
        # evidence (see Assistant.evidence) takes such an ID over.
        self.from_args: set[str] = set() if from_args is None else from_args

    @property
    def state(self) -> StateFiles:
        if self._state is None:
            from assistant_resurrect.statefiles import StateFiles

            self._state = StateFiles.load(self.log)
        return self._state


if TYPE_CHECKING:
    Strategy = Callable[["Context", Found], Optional[str]]
else:
    Strategy = "Strategy"  # only used in annotations, which are never evaluated


class Assistant:
    """Base class: generic behaviour driven by class attributes."""

    name: ClassVar[str] = ""
    executables: ClassVar[tuple[str, ...]] = ()
    script_markers: ClassVar[tuple[str, ...]] = ()  # substrings of a script path
    session_id_re: ClassVar[re.Pattern[str]] = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")
    value_options: ClassVar[frozenset[str]] = frozenset()
    model_options: ClassVar[tuple[str, ...]] = ("--model", "-m")
    # Options (with or without a value) that name or pick a session: not replayed.
    session_options: ClassVar[frozenset[str]] = frozenset()
    session_flags: ClassVar[frozenset[str]] = frozenset()  # e.g. --continue
    # options whose value is a credential (an API key, a token): never saved
    # in a sidecar nor typed back (the tool reads its key from its
    # environment or its own config after a restore)
    credential_options: ClassVar[frozenset[str]] = frozenset()
    keep_positionals: ClassVar[bool] = False  # False: positionals are a first prompt
    # An invocation with one of these options, or whose first positional is one
    # of these subcommands, is a helper or a one-shot run, not a session.
    not_session_options: ClassVar[frozenset[str]] = frozenset()
    not_session_subcommands: ClassVar[frozenset[str]] = frozenset()
    # What goes between the replayed arguments and the session ID on resume.
    resume_form: ClassVar[tuple[str, ...]] = ("--resume",)
    # How the tool tells us about session changes, installed by the role:
    # `assistant-resurrect hook NAME` commands it runs, and plugin files
    # (role files/ paths) it loads. Derived lists (role, doctor, docs) read these.
    agent_hooks: ClassVar[tuple[str, ...]] = ()
    # The strategies that read what the running process itself wrote after it
    # started (hook or plugin state, the tool's per-process records): they
    # outrank launch arguments, and take an ID over from a pane whose command
    # line merely names it (that pane has since switched away).
    evidence: ClassVar[frozenset[str]] = frozenset()
    plugin_files: ClassVar[tuple[str, ...]] = ()
    display_name: ClassVar[str] = ""
    # The CLI version the strategies and the resume form were checked against,
    # and whether tests/realcli/test_<name>.py runs that real CLI (pinned in
    # scripts/setup.d/30-assistant-clis.sh); else they were checked against the
    # files and --help of that version only (the README says which).
    checked_version: ClassVar[str] = ""
    real_cli_test: ClassVar[bool] = False
    # Options that load code or configuration (see the module docstring); those
    # of `code_path_options` may name files or folders (checked on restore),
    # `code_list_options` take several values, `code_path_separator` splits one
    # value into several paths ("," for a comma-separated list).
    code_options: ClassVar[tuple[str, ...]] = ()
    code_path_options: ClassVar[tuple[str, ...]] = ()
    code_list_options: ClassVar[tuple[str, ...]] = ()
    code_path_separator: ClassVar[str] = ""

    # -- detection ---------------------------------------------------------
    def match(self, launch: Launch) -> bool:
        if launch.name in self.executables:
            return True
        return any(marker in launch.program for marker in self.script_markers)

    def valid_program(self, program: str) -> bool:
        """Whether a saved `program` names this tool (a name or a path to it)."""
        return program == self.name or script_stem(os.path.basename(program)) in self.executables

    def is_session(self, args: list[str]) -> bool:
        """False for helper invocations that are not interactive sessions."""
        for tok in scan(args, self.value_options | self.session_options):
            if tok.option in self.not_session_options:
                return False
            if tok.option is None:
                return tok.raw[0] not in self.not_session_subcommands
        return True

    def watch_files(self, home: str) -> list[str]:
        """Files whose change (mtime or size) means one of this tool's sessions may
        have changed, for tools whose session changes reach no hook or plugin of
        ours (sentinel.py polls them; keep it to a handful of paths)."""
        return []

    # -- session ID --------------------------------------------------------
    def strategies(self) -> list[tuple[str, Strategy]]:
        return [("args", self.id_from_args)]

    def state_entry(self, ctx: Context, found: Found) -> Optional[dict]:
        """Our hook's state file of this process (its own PID, or a same-tool
        descendant's when started through a wrapper), if its start time matches:
        a file left by an earlier process with a reused PID is ignored."""
        from assistant_resurrect.procs import same_start

        for pid in found.pids or [found.pid]:
            entry = ctx.state.get(self.name, pid)
            if entry is None:
                continue
            proc = ctx.snap.procs.get(pid)
            if proc is None or not same_start(entry.get("start_time"), proc.start):
                ctx.log(f"{self.name} pid {pid}: state file is from an earlier process; ignored")
                continue
            return entry
        return None

    def id_from_args(self, ctx: Context, found: Found) -> Optional[str]:
        for tok in scan(found.launch.args, self.value_options | self.session_options):
            if tok.option in self.session_options and tok.value:
                return tok.value
        return None

    def valid_session_id(self, value: object) -> bool:
        return isinstance(value, str) and bool(self.session_id_re.match(value))

    def resumable(self, ctx: Context, found: Found, session_id: str) -> Optional[bool]:
        """Whether the tool can resume `session_id` (False: it holds no conversation
        yet); None when unknown. Only called for IDs a strategy found."""
        return None

    def find_session_id(self, ctx: Context, found: Found) -> tuple[Optional[str], Optional[str]]:
        """(session ID, name of the strategy that found it), first strategy wins.
        (None, FRESH): the process shows a session with no conversation yet."""
        for strategy_name, strategy in self.strategies():
            try:
                value = strategy(ctx, found)
            except Exception as exc:  # a broken source never breaks the save
                ctx.log(f"{self.name} pid {found.pid}: strategy {strategy_name} failed: {exc}")
                continue
            if value is None:
                continue
            if value == NO_CONVERSATION:
                ctx.log(
                    f"{self.name} pid {found.pid}: {strategy_name} shows a session with no "
                    "conversation yet; saved as a fresh start"
                )
                return None, FRESH
            if not self.valid_session_id(value):
                ctx.log(
                    f"{self.name} pid {found.pid}: strategy {strategy_name} gave an invalid "
                    f"session ID {value!r}; ignored"
                )
                continue
            owner = ctx.claimed.get(value)
            if (
                owner is not None
                and owner != found.pid
                and strategy_name in self.evidence
                and value in ctx.from_args
            ):
                ctx.log(
                    f"{self.name} pid {found.pid}: session {value} from {strategy_name} "
                    f"(the process's own record) outranks pid {owner}'s command line"
                )
                ctx.from_args.discard(value)
                owner = None
            if owner is not None and owner != found.pid:
                ctx.log(
                    f"{self.name} pid {found.pid}: session {value} from {strategy_name} is "
                    "already saved for another pane; ignored"
                )
                continue
            try:
                ok = self.resumable(ctx, found, value)
            except Exception as exc:
                ctx.log(f"{self.name} pid {found.pid}: cannot tell whether {value} resumes: {exc}")
                ok = None
            if ok is False:
                ctx.log(
                    f"{self.name} pid {found.pid}: session {value} (from {strategy_name}) has "
                    "no conversation yet; saved as a fresh start"
                )
                return None, FRESH
            return value, strategy_name
        return None, None

    # -- arguments ---------------------------------------------------------
    def cli_args(self, args: list[str]) -> list[str]:
        """The user's arguments minus the session/resume ones, order kept."""
        kept: list[str] = []
        for tok in scan(args, self.value_options | self.session_options):
            if tok.option in self.session_options or tok.option in self.session_flags:
                continue
            if tok.option in self.credential_options:
                continue
            if tok.option is None and not self.keep_positionals:
                continue
            kept.extend(tok.raw)
        return kept

    def model(self, args: list[str]) -> Optional[str]:
        for tok in scan(args, self.value_options | self.session_options):
            if tok.option in self.model_options and tok.value:
                return tok.value
        return None

    def resume_argv(self, program: str, cli_args: list[str], session_id: str) -> list[str]:
        return [program, *cli_args, *self.resume_form, session_id]

    def fresh_argv(self, program: str, cli_args: list[str]) -> list[str]:
        """A new session of the tool with the same arguments (nothing to resume)."""
        return [program, *cli_args]

    # -- code-loading options ------------------------------------------------
    def code_option(self, option: Optional[str]) -> Optional[str]:
        """The code-loading option a scanned `option` is (`-cK=V` -> `-c`), or None."""
        if not option or option == "--":
            return None
        if option in self.code_options:
            return option
        if not option.startswith("--") and len(option) > 2 and option[:2] in self.code_options:
            return option[:2]  # a short option with its value attached
        return None

    def code_groups(self, args: list[str]) -> list[tuple[int, int, str, list[str]]]:
        """(start, end, option, values) of each code-loading option: args[start:end]
        hold the option and its values."""
        toks = scan(args, self.value_options | self.session_options)
        groups: list[tuple[int, int, str, list[str]]] = []
        i = k = 0
        while k < len(toks):
            tok = toks[k]
            start = i
            i += len(tok.raw)
            k += 1
            name = self.code_option(tok.option)
            if name is None or tok.option is None:
                continue
            values = []
            if tok.value is not None:
                values.append(tok.value)
            elif name != tok.option:  # `-cKEY=VALUE`, `-c=KEY=VALUE`
                attached = tok.option[len(name) :]
                values.append(attached[1:] if attached.startswith("=") else attached)
            if name in self.code_list_options:
                while k < len(toks) and toks[k].option is None:
                    values.extend(toks[k].raw)
                    i += len(toks[k].raw)
                    k += 1
            groups.append((start, i, name, values))
        return groups

    def without_code_options(self, args: list[str]) -> tuple[list[str], list[str]]:
        """(`args` without any code-loading option and its values, the options dropped)."""
        drop: set[int] = set()
        names: list[str] = []
        for start, end, name, _ in self.code_groups(args):
            drop.update(range(start, end))
            if name not in names:
                names.append(name)
        return [a for j, a in enumerate(args) if j not in drop], names

    def code_paths(self, args: list[str]) -> list[tuple[str, str]]:
        """(option, value) for each file or folder a code-loading option names, as
        written (relative ones are relative to the tool's cwd); inline JSON is none."""
        out: list[tuple[str, str]] = []
        for _, _, name, values in self.code_groups(args):
            if name not in self.code_path_options:
                continue
            for value in values:
                parts = (
                    value.split(self.code_path_separator) if self.code_path_separator else [value]
                )
                for part in parts:
                    part = part.strip() if self.code_path_separator else part
                    if part and not _inline_json(part):
                        out.append((name, part))
        return out


def _inline_json(value: str) -> bool:
    """A JSON object or array given inline (the tools read it as such, not as a path)."""
    if value.lstrip()[:1] not in ("{", "["):
        return False
    import json

    try:
        return isinstance(json.loads(value), (dict, list))
    except (ValueError, RecursionError):
        return False
