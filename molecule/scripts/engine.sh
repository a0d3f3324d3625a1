#!/usr/bin/env bash
# Start or stop a private Docker engine for the Molecule scenarios.
#
#   molecule/scripts/engine.sh start   # prints nothing; writes $AR_ENGINE_DIR/dockerd.pid
#   molecule/scripts/engine.sh stop    # stops the dockerd recorded in the PID file
#   molecule/scripts/engine.sh status
#
# If a Docker engine already answers on DOCKER_HOST (or the default socket),
# `start` uses it and records nothing, so `stop` leaves it alone.
# Exit codes of `start`: 0 ready, 3 no Docker capability here (with a
# message saying why), other values unexpected errors.
set -euo pipefail
engine_dir=${AR_ENGINE_DIR:-/tmp/assistant-resurrect-engine}
pidfile=$engine_dir/dockerd.pid
logfile=$engine_dir/dockerd.log
sock=/var/run/docker.sock

say() { printf '[engine] %s\n' "$*" >&2; }
no_capability() { say "NO DOCKER CAPABILITY: $*"; exit 3; }

engine_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start() {
  command -v docker >/dev/null 2>&1 || no_capability "no docker client on PATH (run scripts/setup.d/50-docker.sh)"
  if engine_answers; then
    say "using the Docker engine that already runs ($(docker version --format '{{.Server.Version}}'))"
    return 0
  fi
  command -v dockerd >/dev/null 2>&1 || no_capability "no dockerd on PATH (run scripts/setup.d/50-docker.sh)"
  [ "$(id -u)" = 0 ] || no_capability "starting dockerd needs root (or start an engine yourself and set DOCKER_HOST)"
  mkdir -p "$engine_dir"
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "dockerd $(cat "$pidfile") from an earlier start still runs; waiting for it"
  else
    say "starting dockerd (log $logfile)"
    # setsid: its own session, so a Ctrl-C in the caller's terminal does not
    # kill it half-way; we stop it ourselves, by PID.
    setsid dockerd --host "unix://$sock" >"$logfile" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  local pid; pid=$(cat "$pidfile")
  for _ in $(seq 1 120); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$logfile" >&2 || true
      rm -f "$pidfile"
      no_capability "dockerd exited at start-up (log above: $logfile)"
    fi
    if [ -S "$sock" ] && engine_answers; then
      say "dockerd $pid ready ($(docker info --format '{{.Driver}}') storage)"
      return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$logfile" >&2 || true
  stop
  no_capability "dockerd did not answer within 60 s"
}

stop() {
  [ -s "$pidfile" ] || { say "no dockerd of ours recorded; nothing to stop"; return 0; }
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping dockerd $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      say "dockerd $pid still runs after 30 s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

status() {
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "dockerd $(cat "$pidfile") (ours) runs"
  elif engine_answers; then
    echo "a Docker engine (not ours) answers"
  else
    echo "no Docker engine"; return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
