#!/usr/bin/env bash
# Install the real assistant CLIs, at pinned versions, from the npm registry
# into one fixed prefix that every user can read and execute. The real-CLI
# tests (tests/realcli) run them from there as an ordinary user.
#
# Idempotent: nothing is downloaded when the pinned versions are present.
# Override the prefix with AR_CLI_PREFIX, a version with AR_<TOOL>_VERSION.
# AR_CLI_CHANNEL=latest installs the newest registry version of every CLI
# into AR_CLI_PREFIX (default /opt/assistant-clis-latest) instead of the pins.
set -euo pipefail

channel=${AR_CLI_CHANNEL:-pinned}
case "$channel" in
  pinned) prefix=${AR_CLI_PREFIX:-/opt/assistant-clis} ;;
  latest) prefix=${AR_CLI_PREFIX:-/opt/assistant-clis-latest} ;;
  *) printf '[assistant-clis] AR_CLI_CHANNEL must be pinned or latest, not %s\n' "$channel" >&2; exit 2 ;;
esac
pin() { if [ "$channel" = latest ]; then echo latest; else echo "$1"; fi; }
claude_v=${AR_CLAUDE_VERSION:-$(pin 2.1.197)}
opencode_v=${AR_OPENCODE_VERSION:-$(pin 1.18.33)}
codex_v=${AR_CODEX_VERSION:-$(pin 0.169.0)}
gemini_v=${AR_GEMINI_VERSION:-$(pin 0.61.0)}
# The tools of issue 16: optional, each skipped (and its tests with it) when
# its package or a platform package it needs is not on the registry.
copilot_v=${AR_COPILOT_VERSION:-$(pin 1.0.102)}
pi_v=${AR_PI_VERSION:-$(pin 0.73.1)}
qwen_v=${AR_QWEN_VERSION:-$(pin 0.24.4)}
kilo_v=${AR_KILO_VERSION:-$(pin 7.7.7)}
omp_v=${AR_OMP_VERSION:-$(pin 18.2.3)}
# Oh My Pi's cli.js runs under Bun (#!/usr/bin/env bun): the npm package `bun`
# (its binary from @oven/bun-linux-x64, also on the registry) puts it in .bin.
bun_v=${AR_BUN_VERSION:-$(pin 1.4.5)}
# Droid: the launcher @factory/cli (0.225.1, the newest) runs the binary of
# @factory/cli-linux-x64, whose 0.225.1 is not on the registry: 0.225.2 is.
droid_v=${AR_DROID_VERSION:-$(pin 0.225.2)}
droid_launcher_v=${AR_DROID_LAUNCHER_VERSION:-$(pin 0.225.1)}

log() { printf '[assistant-clis] %s\n' "$*"; }

if ! command -v npm >/dev/null 2>&1; then
  log "npm is not installed: skipping (the real-CLI tests will be skipped)"
  exit 0
fi

# Version of an installed package, read from its package.json ("" if absent).
installed() {
  local pj="$prefix/node_modules/$1/package.json"
  [ -f "$pj" ] || return 0
  node -e 'process.stdout.write(String(require(process.argv[1]).version || ""))' "$pj" 2>/dev/null || true
}

# "latest" resolved to the registry's version (so a rerun is a no-op).
resolve() {
  if [ "$2" = latest ]; then npm view "$1" version 2>/dev/null | tail -n1; else echo "$2"; fi
}
claude_v=$(resolve @anthropic-ai/claude-code "$claude_v")
opencode_v=$(resolve opencode-ai "$opencode_v")
codex_v=$(resolve @openai/codex "$codex_v")
gemini_v=$(resolve @google/gemini-cli "$gemini_v")

want=(
  "@anthropic-ai/claude-code@$claude_v"
  "opencode-ai@$opencode_v"
  "@openai/codex@$codex_v"
)
missing=()
for spec in "${want[@]}"; do
  name=${spec%@*}
  ver=${spec##*@}
  [ "$(installed "$name")" = "$ver" ] || missing+=("$spec")
done

mkdir -p "$prefix"
chmod 0755 "$prefix"
umask 022
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} into $prefix"
  # --foreground-scripts keeps the postinstall steps (native binary
  # selection) visible in the log when something goes wrong.
  npm install --prefix "$prefix" --no-audit --no-fund --save-exact \
    --foreground-scripts "${missing[@]}"
else
  log "claude-code $claude_v, opencode-ai $opencode_v, codex $codex_v already present"
fi

# Optional CLIs: a failed install must not fail the setup (their tests are
# skipped, and say why).
optional=(
  "@google/gemini-cli@$gemini_v"
  "@github/copilot@$copilot_v"
  "@mariozechner/pi-coding-agent@$pi_v"
  "@qwen-code/qwen-code@$qwen_v"
  "@kilocode/cli@$kilo_v"
  "bun@$bun_v"
  "@oh-my-pi/pi-coding-agent@$omp_v"
  "@factory/cli@$droid_launcher_v"
  "@factory/cli-linux-x64@$droid_v"
)
for spec in "${optional[@]}"; do
  name=${spec%@*}
  ver=$(resolve "$name" "${spec##*@}")
  if [ -z "$ver" ]; then
    log "$name: no version found on the registry: its tests will be skipped"
  elif [ "$(installed "$name")" != "$ver" ]; then
    log "installing $name@$ver into $prefix"
    if ! npm install --prefix "$prefix" --no-audit --no-fund --save-exact "$name@$ver"; then
      log "$name@$ver did not install: its tests will be skipped"
    fi
  else
    log "$name $ver already present"
  fi
done

# Readable and executable by everyone (tests run the CLIs as other users).
chmod -R a+rX "$prefix"

for tool in claude opencode codex gemini copilot pi qwen kilo omp droid; do
  if [ -x "$prefix/node_modules/.bin/$tool" ]; then
    log "$tool: $(PATH="$prefix/node_modules/.bin:$PATH" "$prefix/node_modules/.bin/$tool" --version 2>&1 | head -n1 || echo "?")"
  fi
done
