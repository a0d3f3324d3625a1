#!/usr/bin/env bash
# Test stand-in for tmux-resurrect: only records that it was loaded. The
# scenarios run the @resurrect-hook-* options themselves.
tmux set-option -gq @fake-resurrect-loaded on
