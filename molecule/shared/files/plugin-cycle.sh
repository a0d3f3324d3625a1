#!/usr/bin/env bash
# A save and a restore through the REAL tmux-resurrect and tmux-continuum the
# role cloned, with the role's hooks, in a tmux server of the user who runs it.
#
#   plugin-cycle.sh light [DIR]   # tmux-resurrect's own save.sh and restore.sh,
#                                 # run the way its key bindings run them
#                                 # (tmux run-shell);
#                                 # DIR: @resurrect-dir for this cycle only
#                                 # (removed at the end)
#   plugin-cycle.sh continuum     # tmux-continuum's interval save (a pty client
#                                 # with a status line; @continuum-save-interval 1,
#                                 # the last save stamped 2 minutes ago), then
#                                 # continuum's auto-restore when a fresh server starts
#
# Both check that continuum is loaded and did not stand down (its save
# interpolation is in status-right), that the save wrote a layout holding
# the marker window and our post-save-layout hook wrote its sidecar for it,
# that the restore brought the marker window back and our post-restore-all
# hook ran (a new line in assistant-restore.log). Prints what it checked;
# exits non-zero with a message naming what failed. tmux-continuum stands
# down when it sees any other tmux process (any user's), so the cycle
# refuses to start when one runs. ~/tmux_no_auto_restore (made by prepare)
# keeps continuum from auto-restoring in the tests' other tmux servers; the
# continuum cycle removes it for one server start and puts it back.
set -uo pipefail
# tmux prints tabs as `_` to a client without a UTF-8 locale, and
# tmux-resurrect's layout is tab-separated (an empty layout otherwise)
export LANG=${LANG:-C.UTF-8}
mode=${1:-light}
dir_opt=${2:-}
halt=$HOME/tmux_no_auto_restore
# unique per run: tmux-resurrect drops a layout equal to the last one
marker=ar-cycle-$$
say() { printf '[plugin-cycle] %s\n' "$*"; }
die() { say "FAILED: $*" >&2; tmux kill-server 2>/dev/null; [ -z "${had_halt:-}" ] || touch "$halt"; exit 1; }
# wait_until SECONDS WHAT CMD...: poll CMD until it succeeds
wait_until() {
  local t=$1 what=$2; shift 2
  local end=$((SECONDS + t))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || die "timed out after $t s waiting for $what"
    sleep 0.5
  done
}
tmux_procs() { ps -Ao 'command=' | grep -c '^tmux'; }
no_tmux() { [ "$(tmux_procs)" = 0 ]; }
opt() { tmux show-option -gqv "$1"; }
not_running() { ! pgrep -u "$(id -u)" -f "$1" >/dev/null; }
rdir() {
  local d
  d=$(opt @resurrect-dir)
  d=${d:-$HOME/.tmux/resurrect}
  d=${d/#\~/$HOME}
  printf '%s\n' "${d//\$HOME/$HOME}"
}
last_target() { readlink "$(rdir)/last" 2>/dev/null || true; }
restore_lines() { cat "$(rdir)/assistant-restore.log" 2>/dev/null | wc -l; }

[ -f "$halt" ] && had_halt=1
tmux kill-server 2>/dev/null
wait_until 20 "the old tmux server to exit" no_tmux
# anything else named tmux makes continuum stand down: fail, naming it
others=$(ps -Ao 'user=,pid=,command=' | awk '$3 ~ /^tmux/')
[ -z "$others" ] || die "other tmux processes run (continuum would stand down): $others"

# 1. a server of the user's configuration, its plugins loaded by TPM
tmux new-session -d -s cycle -x 120 -y 40 -c /tmp || die "tmux new-session"
tmux new-window -d -t cycle:1 -n "$marker" -c /tmp || die "tmux new-window"
[ -z "$dir_opt" ] || tmux set-option -g @resurrect-dir "$dir_opt"
save=$(opt @resurrect-save-script-path)
restore=$(opt @resurrect-restore-script-path)
[ -x "$save" ] && [ -x "$restore" ] || die "tmux-resurrect not loaded (save script '$save', restore script '$restore')"
case "$save" in */tmux-resurrect/scripts/save.sh) ;; *) die "unexpected save script $save" ;; esac
status_right=$(opt status-right)
case "$status_right" in
  *"tmux-continuum/scripts/continuum_save.sh"*) say "continuum loaded, its save interpolation in status-right" ;;
  *) die "continuum's save interpolation is not in status-right (not loaded, or it stood down): $status_right" ;;
esac
before=$(last_target)

# 2. save
if [ "$mode" = continuum ]; then
  # a terminal attached to the session: its status line runs continuum_save.sh
  python3 - <<'EOF' >/dev/null 2>&1 &
import fcntl, os, pty, struct, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    os.environ["TERM"] = "xterm"
    os.execvp("tmux", ["tmux", "attach-session", "-t", "cycle"])
while True:
    try:
        if not os.read(fd, 65536):
            break
    except OSError:
        break
os.waitpid(pid, 0)
EOF
  client=$!
  attached() { [ -n "$(tmux list-clients -t cycle 2>/dev/null)" ]; }
  wait_until 20 "the pty client to attach" attached
  tmux set-option -g @continuum-save-interval 1
  tmux set-option -g status-interval 1
  # continuum's own "last saved" stamp, 2 minutes ago: the next status
  # refresh is past the 1-minute interval
  tmux set-option -g @continuum-save-last-timestamp "$(($(date +%s) - 120))"
else
  # as its key binding runs it: inside tmux (its scripts need $TMUX)
  tmux run-shell "$save quiet" || die "tmux-resurrect save.sh failed ($?)"
fi
# (re-read in a loop: the continuum save runs in the background)
new_last() { local n; n=$(last_target); [ -n "$n" ] && [ "$n" != "$before" ]; }
wait_until 60 "a new 'last' layout in $(rdir)" new_last
layout=$(rdir)/$(last_target)
stamp=$(basename "$layout" .txt); stamp=${stamp#tmux_resurrect_}
sidecar=$(rdir)/assistant_resurrect_$stamp.json
wait_until 30 "our post-save-layout hook's sidecar $sidecar" test -s "$sidecar"
grep -q "$(printf '\t'):$marker$(printf '\t')" "$layout" || die "$layout has no window $marker"
say "saved by tmux-resurrect: $layout, sidecar $(basename "$sidecar")"
[ "$mode" != continuum ] || say "the save was continuum's interval save (status line of a pty client)"
# save.sh runs post-save-all last; wait for it to be done
wait_until 30 "tmux-resurrect's save to finish" not_running 'tmux-resurrect/scripts/save\.sh'

# 3. the server goes away
lines=$(restore_lines)
tmux kill-server
[ -z "${client:-}" ] || wait "$client" 2>/dev/null
wait_until 20 "the tmux server to exit" no_tmux
# our event-save sentinel exits with its server (else it would save the fresh
# server's empty layout as `last` before the restore reads it)
wait_until 20 "the agent's sentinel to exit with its tmux server" not_running 'assistant-resurrect.* sentinel$'

# 4. restore into a fresh server
if [ "$mode" = continuum ]; then
  rm -f "$halt"
  tmux new-session -d -s scratch -c /tmp || die "tmux new-session (fresh server)"
  say "fresh server started: continuum's auto-restore runs tmux-resurrect's restore.sh"
else
  tmux new-session -d -s scratch -c /tmp || die "tmux new-session (fresh server)"
  [ -z "$dir_opt" ] || tmux set-option -g @resurrect-dir "$dir_opt"
  tmux run-shell "$restore" >/dev/null || die "tmux-resurrect restore.sh failed ($?)"
fi
has_marker() { tmux list-windows -a -F '#S #W' 2>/dev/null | grep -qx "cycle $marker"; }
wait_until 60 "window $marker back in session cycle" has_marker
hook_ran() { [ "$(restore_lines)" -gt "$lines" ]; }
wait_until 60 "our post-restore-all hook (a new line in assistant-restore.log)" hook_ran
wait_until 30 "the restore to finish" not_running 'continuum_restore\.sh|tmux-resurrect/scripts/restore\.sh'
[ -z "${had_halt:-}" ] || touch "$halt"
say "restored by tmux-resurrect: window $marker is back; restore log: $(tail -n 1 "$(rdir)/assistant-restore.log")"

tmux kill-server
wait_until 20 "the tmux server to exit" no_tmux
# a DIR of this cycle's own goes with it (nothing of its saves outlives it)
[ -z "$dir_opt" ] || rm -rf -- "$dir_opt"
say "ok ($mode)"
