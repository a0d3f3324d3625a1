# rcfile for the panes the scenarios restore into: the user's own ~/.bashrc,
# then every command line the shell is about to run (as typed, read from its
# history) is appended to ~/.ar-typed/<pane number>.log. That is how the tests
# see exactly what restore typed into each pane.
[ -f ~/.bashrc ] && . ~/.bashrc
mkdir -p ~/.ar-typed
__ar_typed_log=~/.ar-typed/${TMUX_PANE#%}.log
: >>"$__ar_typed_log"
# A fresh history per pane (nothing stale), and every line recorded.
HISTFILE=~/.ar-typed/${TMUX_PANE#%}.history
HISTCONTROL=
HISTIGNORE=
__ar_typed_last=
__ar_typed() {
  local h
  h=$(HISTTIMEFORMAT= builtin history 1)
  [ -n "$h" ] && [ "$h" != "$__ar_typed_last" ] || return 0
  __ar_typed_last=$h
  if [[ $h =~ ^[[:space:]]*[0-9]+\*?[[:space:]]+(.*)$ ]]; then
    printf '%s\n' "${BASH_REMATCH[1]}" >>"$__ar_typed_log"
  fi
}
trap '__ar_typed' DEBUG
