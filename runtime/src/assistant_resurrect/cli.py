"""The `assistant-resurrect` command.

The hooks (`save`, `save-finish`, `hook ...`) are dispatched without argparse
and import only what they use: they run every few minutes and inside
Claude's start-up.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not from typing: importing typing costs every hook run ~3 ms
if TYPE_CHECKING:
    from typing import Optional

USAGE = """usage: assistant-resurrect [-L SOCKET_NAME | -S SOCKET_PATH] COMMAND [ARGS]

commands:
  save [LAYOUT_FILE]        record the assistants of every pane (tmux-resurrect's
                            post-save-layout hook passes LAYOUT_FILE)
  save-finish               after a whole save: prune history, strip assistant panes
                            from pane_contents.tar.gz (post-save-all hook)
  restore [--dry-run] [--layout FILE] [--timeout SECONDS] | restore --list
                            type each saved assistant's resume command into its pane
                            (post-restore-all hook); --dry-run prints instead. With
                            @assistant-resurrect-start attached (the default), sessions
                            no client shows wait until one does
  status [--json]           panes, detected assistants, session IDs, what restore would type;
                            --json: one JSON document for fleet views (docs/status.schema.json)
  doctor                    check the setup; non-zero exit with what to fix
  assistants [--json | --markdown]
                            the supported assistants: programs, session ID strategies,
                            resume form, hooks and plugins (the registry, as data)
  hook claude-session-start | claude-session-end | gemini-session-start | gemini-session-end
       | droid-session-start | droid-session-end | cursor-session-start | cursor-prompt
                            Claude Code's, Gemini CLI's and Factory Droid's
                            SessionStart/SessionEnd, Cursor Agent's sessionStart and
                            beforeSubmitPrompt command hooks (JSON on stdin)
  event [REASON]            ask for a save now (the sentinel saves within seconds)
  sentinel                  (started by save-finish and restore) save within seconds
                            of a session change; one per tmux server
  version                   print the version

options:
  -L SOCKET_NAME            talk to the tmux server of that socket name (tmux -L)
  -S SOCKET_PATH            talk to the tmux server at that socket path (tmux -S)
"""


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"assistant-resurrect: {message}\n")
    return code


def _exit_now(code: int) -> int:
    """End the hook's process now, as the installed command (main() without
    argv): its output flushed, without the interpreter's teardown (freeing every
    module and object: ~3 ms of a save). Every file the hook writes is written
    with os.write and closed; no thread and no atexit handler runs."""
    import os  # (not contextlib: ~1.5 ms to import, for a save served in ~20)

    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def main(argv: Optional[list[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    socket_name = socket_path = None
    while args and args[0] in ("-L", "-S"):
        if len(args) < 2:
            return _fail(f"{args[0]} needs a value; see 'assistant-resurrect --help'")
        if args[0] == "-L":
            socket_name = args[1]
        else:
            socket_path = args[1]
        args = args[2:]
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if args else 2
    cmd, rest = args[0], args[1:]
    if cmd == "save" and socket_name is None and socket_path is None and len(rest) <= 1:
        # The sentinel of this server does the save when it can (served.py):
        # nothing more to import here.
        from assistant_resurrect.served import try_save

        served = try_save(rest[0] if rest else None)
        if served is not None:
            return served if argv is not None else _exit_now(served)
    if cmd in ("save", "save-finish", "hook"):
        # Short-lived hooks free everything at exit: no cyclic garbage
        # collection passes during the imports and the process walk (~2 ms).
        import gc

        gc.disable()

    from assistant_resurrect.errors import AgentError

    try:
        if cmd == "hook":
            from assistant_resurrect.hooks import HOOKS

            if len(rest) != 1 or rest[0] not in HOOKS:
                return _fail(f"hook needs one of: {', '.join(HOOKS)}")
            return HOOKS[rest[0]]()
        if cmd == "assistants":
            from assistant_resurrect.catalog import main as catalog

            return catalog(rest)
        if cmd == "event":
            from assistant_resurrect.events import request

            return request(" ".join(rest)[:80])
        if cmd in ("version", "--version", "-V"):
            from assistant_resurrect import __version__

            print(f"assistant-resurrect {__version__}")
            return 0

        from assistant_resurrect.tmux import Tmux

        tmux = Tmux(socket_name=socket_name, socket_path=socket_path)
        if cmd == "save":
            if len(rest) > 1:
                return _fail("save takes at most one argument, the layout file")
            from assistant_resurrect.tmux import SAVE_FIELDS

            tmux.prefetch_panes(SAVE_FIELDS)  # tmux answers while the save code is imported
            from assistant_resurrect.save import save

            code = save(tmux, rest[0] if rest else None)
            return code if argv is not None else _exit_now(code)
        if cmd == "save-finish":
            tmux.prefetch_panes()
            from assistant_resurrect.save import save_finish

            return save_finish(tmux)
        if cmd == "restore":
            import argparse

            parser = argparse.ArgumentParser(prog="assistant-resurrect restore")
            parser.add_argument(
                "--dry-run", action="store_true", help="print what would be typed, type nothing"
            )
            parser.add_argument(
                "--layout",
                help="restore for this layout file (default: the one `last` points at); to "
                "restore an older save, pick its layout file from `restore --list`",
            )
            parser.add_argument(
                "--list",
                action="store_true",
                help="list the saves (newest first): time, assistants, which is `last`",
            )
            parser.add_argument(
                "--timeout",
                type=float,
                default=15.0,
                help="seconds to wait for the panes' shells (all together)",
            )
            parser.add_argument(
                "--pending",
                metavar="SESSION_ID",
                help="(run by the hooks restore arms) type the resumes waiting for a client "
                "to show this session, if one does now",
            )
            parser.add_argument("--hook-index", type=int, help=argparse.SUPPRESS)
            opts = parser.parse_args(rest)
            if opts.list:
                from assistant_resurrect.restore import list_saves

                return list_saves(tmux)
            if opts.pending is not None:
                from assistant_resurrect.restore import restore_pending

                return restore_pending(tmux, opts.pending, opts.hook_index, opts.timeout)
            from assistant_resurrect.restore import restore

            if opts.dry_run:
                return restore(tmux, opts.layout, True, timeout=opts.timeout)
            try:
                return restore(tmux, opts.layout, False, timeout=opts.timeout)
            finally:
                from assistant_resurrect.events import restore_done
                from assistant_resurrect.log import Log

                restore_done(tmux, Log(tmux.settings.resurrect_dir / "assistant-restore.log"))
        if cmd == "sentinel":
            from assistant_resurrect.sentinel import run

            return run(tmux)
        if cmd == "status":
            if rest == ["--json"]:
                from assistant_resurrect.status_json import status_json

                return status_json(tmux)
            if rest:
                return _fail("status takes no argument but --json")
            from assistant_resurrect.status import status

            return status(tmux)
        if cmd == "doctor":
            from assistant_resurrect.doctor import doctor

            return doctor(tmux)
    except AgentError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line, the traceback on request
        import os

        if os.environ.get("ASSISTANT_RESURRECT_DEBUG"):
            raise
        return _fail(
            f"{cmd} failed unexpectedly: {type(exc).__name__}: {exc} (run again with "
            "ASSISTANT_RESURRECT_DEBUG=1 for the traceback, and report it)",
            1,
        )
    return _fail(f"unknown command {cmd!r}; see 'assistant-resurrect --help'")
