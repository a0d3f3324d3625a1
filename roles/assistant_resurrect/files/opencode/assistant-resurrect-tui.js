// assistant-resurrect: OpenCode TUI plugin.
//
// Records which screen the OpenCode TUI of this process shows, so that a
// save reopens exactly that session: `opencode-tui-<pid>.json` in the
// assistant-resurrect state dir, rewritten whenever the TUI's route changes
// (a session picked from the session list, `/new`, a message that opens a
// new session, `-s <id>` at start) and removed when the process exits.
//   route "session": {session_id} is the session on screen;
//   route "home": a new session with no message yet (OpenCode creates its
//   row with the first message), saved as a fresh start.
// The server plugin (assistant-resurrect.js) cannot see a pick: the TUI
// only reads the picked session from the server, which fires no event.
//
// OpenCode 1.18 loads TUI plugins listed in tui.json (`"plugin": [...]`)
// and calls the `tui` function of the module's default export with its TUI
// API; `api.route.current` is {name: "home"} or {name: "session", params:
// {sessionID}}. It is read every 250 ms (a string compare; a file is written
// only on a change). This file must not sit in a `plugins/` folder: the
// server side would load it too.
//
// State dir, file modes and the start time: the same rules as
// assistant-resurrect.js (see there and docs/DESIGN.md). Plain JavaScript,
// Node/Bun built-ins only, never throws into OpenCode.

import fs from "node:fs";
import path from "node:path";

const POLL_MS = 250;

function uid() {
  return typeof process.getuid === "function" ? process.getuid() : -1;
}

function stateDir(env = process.env) {
  if (env.TMUX_ASSISTANT_RESURRECT_DIR) return env.TMUX_ASSISTANT_RESURRECT_DIR;
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, "assistant-resurrect");
  return path.join(env.TMPDIR || "/tmp", `assistant-resurrect-${uid()}`);
}

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

// Seconds since the epoch, rounded to 1/100 s, exactly like procs.py.
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

// What a route means for a restore: ["session", id], ["home", null], or
// null for screens that say nothing about the session (a plugin's route).
export function routeState(current) {
  if (!current || typeof current !== "object") return null;
  if (current.name === "home") return ["home", null];
  if (current.name === "session") {
    const id = current.params && current.params.sessionID;
    return typeof id === "string" && id ? ["session", id] : null;
  }
  return null;
}

// The plugin's behaviour without OpenCode around it: `observe(route)` is
// called with each reading of api.route.current.
export function createRouteRecorder({ pid = process.pid, env = process.env, directory = "" } = {}) {
  const dir = stateDir(env);
  const file = path.join(dir, `opencode-tui-${pid}.json`);
  const startTime = procStartTime(pid);
  let last = "";
  let closed = false;

  function observe(current) {
    if (closed) return false;
    const state = routeState(current);
    if (state === null) return false;
    const key = `${state[0]}\0${state[1] || ""}`;
    if (key === last) return false;
    if (!ensureStateDir(dir)) return false;
    last = key;
    const doc = {
      tool: "opencode",
      source: "tui",
      pid,
      route: state[0],
      session_id: state[1],
      directory,
      timestamp: new Date().toISOString(),
      timestamp_epoch: Date.now() / 1000,
    };
    if (startTime !== null) doc.start_time = startTime;
    writeAtomic(file, `${JSON.stringify(doc)}\n`);
    return true;
  }

  function close() {
    closed = true;
    try { fs.unlinkSync(file); } catch { /* already gone */ }
  }

  return { file, observe, close };
}

function start(api) {
  const recorder = createRouteRecorder({ directory: process.cwd() });
  const read = () => {
    try {
      recorder.observe(api && api.route ? api.route.current : null);
    } catch {
      /* never disturb OpenCode */
    }
  };
  read();
  const timer = setInterval(read, POLL_MS);
  if (timer && typeof timer.unref === "function") timer.unref();
  process.once("exit", () => {
    clearInterval(timer);
    recorder.close();
  });
}

export default {
  id: "assistant-resurrect-tui",
  tui: async (api) => {
    try {
      start(api);
    } catch {
      /* never disturb OpenCode */
    }
  },
};
