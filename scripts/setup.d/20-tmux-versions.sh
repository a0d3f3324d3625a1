#!/usr/bin/env bash
# The tmux version matrix (scripts/test.sh runs the integration and hostile
# suites against each): Debian's own tmux packages from other suites of the
# same Debian archive the host uses, unpacked side by side with dpkg-deb -x
# into $AR_TMUX_PREFIX/<version>/ (never a tarball, never a build of ours).
#
#   3.1c  bullseye (Debian 11)            runs on Debian 12's libraries
#   3.5a  bookworm-backports (Debian 12)  the 3.4/3.5 output escaping; needs libjemalloc2
#   3.3a  the host's own /usr/bin/tmux (installed by setup-dev.sh)
#   3.7c  forky (testing) needs a newer libc: it runs in a container
#         (scripts/test.d/40-tmux-container.sh), not here.
#
# A private apt configuration under $AR_TMUX_PREFIX/apt adds the suites
# without touching the host's sources. Idempotent.
set -euo pipefail
prefix=${AR_TMUX_PREFIX:-/opt/assistant-resurrect-tmux}
log() { printf '[tmux-versions] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# suite  package version  directory name
matrix=(
  "bullseye 3.1c-1+deb11u1 3.1c"
  "bookworm-backports 3.5a-2~bpo12+1 3.5a"
)

missing=0
for row in "${matrix[@]}"; do
  read -r _ _ dir <<<"$row"
  [ -x "$prefix/$dir/usr/bin/tmux" ] || missing=1
done
if [ "$missing" = 0 ]; then
  log "tmux $(for r in "${matrix[@]}"; do set -- $r; printf '%s ' "$3"; done)already in $prefix"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "no apt-get: the tmux matrix will run the host's tmux only"
  exit 0
fi

# The Debian mirror the host uses (deb822 .sources or one-line .list files).
mirror=${AR_DEBIAN_MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
  /etc/apt/sources.list.d/*.list 2>/dev/null \
  | sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
  | tr ' ' '\n' | sed 's:/*$::' | grep -E '/debian$' | head -n1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# Run-time libraries the extracted binaries link against, from the host's apt.
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq \
  libjemalloc2 libevent-2.1-7 libevent-core-2.1-7 libutempter0 >/dev/null

apt_dir=$prefix/apt
as_root mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
{
  for row in "${matrix[@]}"; do
    read -r suite _ _ <<<"$row"
    echo "deb [signed-by=$keyring] $mirror $suite main"
  done
} | as_root tee "$apt_dir/sources.list" >/dev/null
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o APT::Sandbox::User=root
)
log "apt-get update for $(for r in "${matrix[@]}"; do set -- $r; printf '%s ' "$1"; done)from $mirror"
as_root apt-get "${apt_opts[@]}" update -qq
for row in "${matrix[@]}"; do
  read -r suite version dir <<<"$row"
  [ -x "$prefix/$dir/usr/bin/tmux" ] && continue
  log "tmux $version from $suite"
  (cd "$apt_dir/debs" && as_root apt-get "${apt_opts[@]}" download -qq "tmux=$version")
  deb=$(ls "$apt_dir/debs"/tmux_*"${version##*:}"_*.deb 2>/dev/null | head -n1 || true)
  [ -n "$deb" ] || deb=$(ls -t "$apt_dir/debs"/tmux_*.deb | head -n1)
  as_root rm -rf "$prefix/$dir.tmp"
  as_root dpkg-deb -x "$deb" "$prefix/$dir.tmp"
  as_root rm -rf "$prefix/$dir"
  as_root mv "$prefix/$dir.tmp" "$prefix/$dir"
done
as_root chmod -R a+rX "$prefix"
for row in "${matrix[@]}"; do
  read -r _ _ dir <<<"$row"
  log "$prefix/$dir/usr/bin/tmux: $("$prefix/$dir/usr/bin/tmux" -V)"
done
