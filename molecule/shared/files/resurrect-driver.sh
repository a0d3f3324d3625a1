#!/usr/bin/env bash
# Save and restore the way a user's key binding does. When the REAL
# tmux-resurrect is loaded (it sets @resurrect-save-script-path: the plugins
# came from the mirrors of ../shared/mirrors), run its save.sh / restore.sh
# inside tmux (`tmux run-shell`, as its C-s / C-r bindings do); they run the
# role's hooks themselves. With the stand-in plugins (no mirrors), run the
# role's hooks exactly the way tmux-resurrect does: read the tmux option
# @resurrect-hook-<name> and `eval` it with bash, arguments appended
# shell-quoted (post-save-layout gets the layout path), and say loudly that
# this is an emulation. Run as the tmux user, with that user's default tmux
# server running.
#
#   resurrect-driver.sh save      # real save.sh; or: write a layout file,
#                                 # post-save-layout LAYOUT, move `last`, post-save-all
#                                 # (prints "layout PATH" of the new `last`)
#   resurrect-driver.sh restore   # real restore.sh; or: pre-restore-all,
#                                 # pre-restore-pane-processes, post-restore-all
#   resurrect-driver.sh hook NAME [ARG...]
#
# Exits non-zero when the real script or (emulated) a hook fails; prints
# what it ran.
set -uo pipefail
# tmux prints tabs as `_` to a client without a UTF-8 locale, and
# tmux-resurrect's layout is tab-separated
export LANG=${LANG:-C.UTF-8}

opt() { tmux show-option -gqv "$1"; }

resurrect_dir() {
  local d
  d=$(opt @resurrect-dir)
  if [ -n "$d" ]; then
    d=${d/#\~/$HOME}; d=${d//\$HOME/$HOME}; d=${d//\$HOSTNAME/$(hostname)}
    printf '%s\n' "$d"
  elif [ -d "$HOME/.tmux/resurrect" ]; then
    printf '%s\n' "$HOME/.tmux/resurrect"
  else
    printf '%s\n' "${XDG_DATA_HOME:-$HOME/.local/share}/tmux/resurrect"
  fi
}

run_hook() {
  local name=$1; shift
  local hook args=""
  hook=$(opt "@resurrect-hook-$name")
  if [ -z "$hook" ]; then
    echo "hook $name: (not set)"
    return 0
  fi
  [ $# -gt 0 ] && args=$(printf ' %q' "$@")
  echo "hook $name: $hook$args"
  if ! eval "$hook$args"; then
    echo "hook $name FAILED: $hook$args" >&2
    return 1
  fi
}

# A layout file in tmux-resurrect's spirit (tab-separated pane and window
# lines); the agent only uses its name and place.
write_layout() {
  local file=$1 d=$'\t'
  {
    tmux list-panes -a -F "pane${d}#{session_name}${d}#{window_index}${d}#{window_active}${d}:#{window_flags}${d}#{pane_index}${d}#{pane_title}${d}:#{pane_current_path}${d}#{pane_active}${d}#{pane_current_command}${d}#{pane_pid}${d}#{history_size}"
    tmux list-windows -a -F "window${d}#{session_name}${d}#{window_index}${d}:#{window_name}${d}#{window_active}${d}:#{window_flags}${d}#{window_layout}${d}:"
    printf 'state%s%s%s%s\n' "$d" "$(tmux display -p '#{client_session}' 2>/dev/null)" "$d" \
      "$(tmux display -p '#{client_last_session}' 2>/dev/null)"
  } >"$file"
}

real_save=$(opt @resurrect-save-script-path)
real_restore=$(opt @resurrect-restore-script-path)
if [ -z "$real_save" ] && [ "${1:-}" != hook ]; then
  echo "!!! FAKE PLUGINS: tmux-resurrect is not loaded; emulating its hooks (no real save.sh/restore.sh)" >&2
fi

case "${1:-}" in
  save)
    if [ -n "$real_save" ]; then
      echo "tmux-resurrect: $real_save quiet"
      tmux run-shell "$real_save quiet" || { echo "$real_save FAILED" >&2; exit 1; }
      dir=$(resurrect_dir)
      [ -L "$dir/last" ] || { echo "no $dir/last after $real_save" >&2; exit 1; }
      echo "layout $dir/$(readlink "$dir/last")"
      exit 0
    fi
    dir=$(resurrect_dir)
    mkdir -p "$dir"
    layout="$dir/tmux_resurrect_$(date +%Y%m%dT%H%M%S).txt"
    write_layout "$layout"
    rc=0
    run_hook post-save-layout "$layout" || rc=1
    ln -sfn "$(basename "$layout")" "$dir/last"
    run_hook post-save-all || rc=1
    echo "layout $layout"
    exit "$rc"
    ;;
  restore)
    if [ -n "$real_restore" ]; then
      echo "tmux-resurrect: $real_restore"
      tmux run-shell "$real_restore" || { echo "$real_restore FAILED" >&2; exit 1; }
      exit 0
    fi
    rc=0
    run_hook pre-restore-all || rc=1
    run_hook pre-restore-pane-processes || rc=1
    run_hook post-restore-all || rc=1
    exit "$rc"
    ;;
  hook)
    shift
    run_hook "$@"
    ;;
  *)
    echo "usage: $0 save|restore|hook NAME [ARG...]" >&2
    exit 2
    ;;
esac
