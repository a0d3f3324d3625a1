#!/usr/bin/env bash
# Install the real assistant CLIs, at pinned versions, from the npm registry
# into one fixed prefix that every user can read and execute. The real-CLI
# tests (tests/realcli) run them from there as an ordinary user.
#
# Idempotent: nothing is downloaded when the pinned versions are present.
# Override the prefix with AR_CLI_PREFIX, a version with AR_<TOOL>_VERSION.
set -euo pipefail

prefix=${AR_CLI_PREFIX:-/opt/assistant-clis}
claude_v=${AR_CLAUDE_VERSION:-2.1.197}
opencode_v=${AR_OPENCODE_VERSION:-1.18.33}
codex_v=${AR_CODEX_VERSION:-0.169.0}
gemini_v=${AR_GEMINI_VERSION:-0.61.0}

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

# Gemini CLI is optional: a failed install must not fail the setup.
if [ "$(installed @google/gemini-cli)" != "$gemini_v" ]; then
  log "installing @google/gemini-cli@$gemini_v into $prefix"
  if ! npm install --prefix "$prefix" --no-audit --no-fund --save-exact \
      "@google/gemini-cli@$gemini_v"; then
    log "@google/gemini-cli@$gemini_v did not install: its tests will be skipped"
  fi
else
  log "gemini-cli $gemini_v already present"
fi

# Readable and executable by everyone (tests run the CLIs as other users).
chmod -R a+rX "$prefix"

for tool in claude opencode codex gemini; do
  if [ -x "$prefix/node_modules/.bin/$tool" ]; then
    log "$tool: $("$prefix/node_modules/.bin/$tool" --version 2>/dev/null | head -n1 || echo '?')"
  fi
done
