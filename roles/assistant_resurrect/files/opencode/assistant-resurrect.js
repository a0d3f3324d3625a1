// assistant-resurrect: OpenCode plugin.
//
// Records which OpenCode session this process is showing, so that a
// tmux-resurrect save can reopen it later with `opencode -s <id>`.
// It writes `opencode-<pid>.json` into the assistant-resurrect state dir on
// session.created / session.updated / session.idle and on every user
// message (so switching sessions inside the TUI is followed) and removes the
// file when the process exits.
//
// State dir (same rule as the Python agent, see docs/DESIGN.md):
//   $TMUX_ASSISTANT_RESURRECT_DIR, else $XDG_RUNTIME_DIR/assistant-resurrect,
//   else ${TMPDIR:-/tmp}/assistant-resurrect-<uid>.
// The dir is created 0700; it is refused when it is a symlink, not a
// directory, or not owned by this user. Files are written 0600 through a
// temporary file and a rename, so a reader never sees half a file.
//
// Installed into ~/.config/opencode/plugins/ (OpenCode 1.18 loads
// `{plugin,plugins}/*.{js,ts}` from each of its config dirs). Plain
// JavaScript, Node/Bun built-ins only, never throws into OpenCode.
// OpenCode calls every export of a plugin module as a plugin: this module
// therefore exports exactly one function.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

function uid() {
  return typeof process.getuid === "function" ? process.getuid() : -1;
}

function stateDir(env = process.env) {
  if (env.TMUX_ASSISTANT_RESURRECT_DIR) return env.TMUX_ASSISTANT_RESURRECT_DIR;
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, "assistant-resurrect");
  return path.join(env.TMPDIR || "/tmp", `assistant-resurrect-${uid()}`);
}

// Create (0700) and check the state dir; returns its path or null.
function ensureStateDir(dir) {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    if (st.isSymbolicLink() || !st.isDirectory()) return null;
    if (uid() >= 0 && st.uid !== uid()) return null;
    if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
    return dir;
  } catch {
    return null;
  }
}

// Clock ticks per second (AT_CLKTCK from the aux vector; 100 elsewhere).
function clockTicks() {
  try {
    const auxv = fs.readFileSync("/proc/self/auxv");
    for (let off = 0; off + 16 <= auxv.length; off += 16) {
      const type = Number(auxv.readBigUInt64LE(off));
      if (type === 0) break;
      if (type === 17) return Number(auxv.readBigUInt64LE(off + 8)) || 100;
    }
  } catch {
    /* not Linux, or not 64-bit little-endian */
  }
  return 100;
}

// Start time of a process in seconds since the epoch, computed exactly like
// the Python agent (procs.py): btime + /proc/<pid>/stat field 22 / ticks,
// rounded to 1/100 s. A reader compares it to tell a reused PID apart.
function procStartTime(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(rest[19]);
    const btimeLine = fs.readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith("btime "));
    const btime = btimeLine ? Number(btimeLine.split(/\s+/)[1]) : NaN;
    const start = Math.round((btime + ticks / clockTicks()) * 100) / 100;
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

function writeAtomic(file, data) {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  let fd = null;
  try {
    fd = fs.openSync(tmp, "wx", 0o600);
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch {
    if (fd !== null) {
      try { fs.closeSync(fd); } catch { /* ignore */ }
    }
    try { fs.unlinkSync(tmp); } catch { /* ignore */ }
  }
}

function removeQuietly(file) {
  try { fs.unlinkSync(file); } catch { /* already gone */ }
}

// The plugin's behaviour, without OpenCode around it.
function createRecorder({ pid = process.pid, env = process.env, directory = "" } = {}) {
  const dir = stateDir(env);
  const file = path.join(dir, `opencode-${pid}.json`);
  const startTime = procStartTime(pid);
  const children = new Set(); // sub-agent sessions (they have a parent)
  let current = null;
  let closed = false; // after dispose/exit: late events must not rewrite

  function record(sessionId, sessionDirectory, eventType) {
    if (closed || !sessionId || children.has(sessionId)) return;
    if (!ensureStateDir(dir)) return;
    current = sessionId;
    const state = {
      tool: "opencode",
      pid,
      session_id: sessionId,
      directory: sessionDirectory || directory || "",
      timestamp: new Date().toISOString(),
      timestamp_epoch: Date.now() / 1000,
      event: eventType,
    };
    if (startTime !== null) state.start_time = startTime;
    writeAtomic(file, `${JSON.stringify(state)}\n`);
  }

  // Which session the user is in. OpenCode's server side does not know
  // which session the TUI shows, so the signals are ranked:
  //  - a user message (chat.message hook) or a TUI navigation
  //    (tui.session.select) or a new top-level session (session.created)
  //    makes that session the current one;
  //  - session.updated / session.idle only refresh the record of the current
  //    session (or set it when none is known yet): a session still working
  //    in the background must not take over when it finishes.
  function select(id, sessionDirectory, eventType) {
    if (!id || children.has(id)) return;
    record(id, sessionDirectory, eventType);
  }

  function onEvent(event) {
    if (!event || typeof event.type !== "string") return;
    const props = event.properties || {};
    const info = props.info || {};
    const id = info.id || props.sessionID;
    if (info.id && (info.parentID || info.parentId)) {
      children.add(info.id);
      return;
    }
    switch (event.type) {
      case "session.created":
      case "tui.session.select":
        select(id, info.directory, event.type);
        break;
      case "session.updated":
      case "session.idle":
        if (current === null || id === current) select(id, info.directory, event.type);
        break;
      case "session.deleted":
        if (id && id === current) {
          current = null;
          removeQuietly(file);
        }
        break;
      default:
        break;
    }
  }

  function onChatMessage(input) {
    if (input && input.sessionID) select(input.sessionID, "", "chat.message");
  }

  function close() {
    closed = true;
    removeQuietly(file);
  }

  return { file, onEvent, onChatMessage, close };
}

const recorders = new Set();
let exitHooked = false;

export const AssistantResurrect = async (ctx) => {
  const recorder = createRecorder({ directory: (ctx && ctx.directory) || process.cwd() });
  recorders.add(recorder);
  if (!exitHooked) {
    exitHooked = true;
    process.once("exit", () => {
      for (const r of recorders) r.close();
    });
  }
  return {
    event: async ({ event }) => {
      try {
        recorder.onEvent(event);
      } catch {
        /* never disturb OpenCode */
      }
    },
    "chat.message": async (input) => {
      try {
        recorder.onChatMessage(input);
      } catch {
        /* never disturb OpenCode */
      }
    },
    dispose: async () => {
      recorders.delete(recorder);
      recorder.close();
    },
  };
};
