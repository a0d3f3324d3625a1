#!/usr/bin/env bash
# Build the Debian base image the test image (Dockerfile) starts FROM,
# without any container registry: debootstrap a minimal root file system
# from the Debian mirror the host's own apt uses, add the host's CA bundle,
# and `docker import` it.
#
#   molecule/scripts/base-image.sh [IMAGE]   # default assistant-resurrect-base:SUITE
#
# AR_DEBIAN_SUITE picks the suite (default bookworm; bullseye and trixie are
# built for the Molecule matrix too). Does nothing when IMAGE already exists (set AR_REBUILD_BASE=1 to force).
# Needs root and a running engine (molecule/scripts/engine.sh start).
set -euo pipefail
suite=${AR_DEBIAN_SUITE:-bookworm}
image=${1:-assistant-resurrect-base:$suite}
say() { printf '[base-image] %s\n' "$*" >&2; }

if [ "${AR_REBUILD_BASE:-0}" != 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
  say "$image exists; not rebuilding (AR_REBUILD_BASE=1 forces it)"
  exit 0
fi
command -v debootstrap >/dev/null 2>&1 || { say "debootstrap missing (run scripts/setup.d/50-docker.sh)"; exit 3; }
[ "$(id -u)" = 0 ] || { say "debootstrap needs root"; exit 3; }

# The Debian mirror the host uses (deb822 .sources or one-line .list files).
mirror=${AR_DEBIAN_MIRROR:-}
security=${AR_DEBIAN_SECURITY_MIRROR:-}
if [ -z "$mirror" ]; then
  uris=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
    | sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
    | tr ' ' '\n' | sed 's:/*$::' | grep -E '/debian(-security)?$' || true)
  mirror=$(printf '%s\n' "$uris" | grep -v -- '-security$' | head -n1)
  [ -n "$security" ] || security=$(printf '%s\n' "$uris" | grep -- '-security$' | head -n1)
fi
mirror=${mirror:-http://deb.debian.org/debian}
say "debootstrap $suite from $mirror into a temporary root"

work=$(mktemp -d /var/tmp/ar-base.XXXXXX)
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT
rootfs=$work/rootfs
debootstrap --variant=minbase \
  --include=python3,sudo,tmux,procps,ca-certificates \
  "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; say "debootstrap failed"; exit 1; }

# apt sources inside the image: the same mirror, plus updates and security.
{
  echo "deb $mirror $suite main"
  echo "deb $mirror $suite-updates main"
  [ -z "$security" ] || echo "deb $security $suite-security main"
} >"$rootfs/etc/apt/sources.list"
# HTTPS from containers goes through whatever the host trusts: ship the
# host's CA bundle (it may contain a proxy's CA the image would not know).
if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  install -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  install -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/ca-certificates/host-bundle.crt"
fi
# Keep the image small and apt quiet; dpkg without an fsync per file (as in
# Debian's official container images: a build that dies is thrown away
# anyway), which makes the Dockerfile's apt-get install much faster.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  >"$rootfs/etc/apt/apt.conf.d/90-no-recommends"
echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"

say "importing as $image"
tar -C "$rootfs" --numeric-owner -c . \
  | docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$image" >/dev/null
say "done: $(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"
