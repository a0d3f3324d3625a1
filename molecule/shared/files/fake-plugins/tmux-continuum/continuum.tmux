#!/usr/bin/env bash
# Test stand-in for tmux-continuum: only records that it was loaded.
tmux set-option -gq @fake-continuum-loaded on
