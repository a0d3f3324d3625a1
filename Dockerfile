# Test image for the Molecule scenarios (molecule/): Debian, tmux, python3,
# the real assistant CLIs at pinned versions, and ordinary users.
#
# BASE is a Debian 11, 12 or 13 image (bullseye, bookworm, trixie). No
# container registry is needed: molecule/scripts/images.sh builds the bases
# locally with debootstrap (molecule/scripts/base-image.sh, which also puts
# the host's CA bundle in them) and then runs, per suite,
#   docker build --build-arg BASE=assistant-resurrect-base:bullseye \
#     -t assistant-resurrect-test:bullseye .
# Where a registry is reachable, debian:bullseye etc. work as BASE and
# debian:bookworm as CLI_BASE.
ARG BASE=assistant-resurrect-base:bookworm
# The CLIs are installed once, with Debian 12's Node.js and npm, and copied
# into the image of every suite (one download, and Debian 11's Node.js 12 is
# too old for the packages' install scripts: see below).
ARG CLI_BASE=assistant-resurrect-base:bookworm

FROM ${CLI_BASE} AS clis
ARG CLAUDE_CODE_VERSION=2.1.197
ARG OPENCODE_VERSION=1.18.33
ARG CODEX_VERSION=0.169.0
ARG NPM_REGISTRY=https://registry.npmjs.org/
ENV DEBIAN_FRONTEND=noninteractive \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
# The real CLIs, pinned, from the npm registry, installed the way users
# install them (the packages' install scripts put the native executables of
# Claude Code and OpenCode in place), into one prefix every user can read.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates nodejs npm \
 && mkdir -p /opt/assistant-clis \
 && npm install --prefix /opt/assistant-clis --registry "$NPM_REGISTRY" \
      --cafile /etc/ssl/certs/ca-certificates.crt \
      --no-audit --no-fund --no-update-notifier --save-exact --omit=dev \
      "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" \
      "opencode-ai@${OPENCODE_VERSION}" \
      "@openai/codex@${CODEX_VERSION}" \
 && chmod -R a+rX /opt/assistant-clis

FROM ${BASE}

ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DISABLE_AUTOUPDATER=1

# What the role and the verify step use inside the container: tmux, git
# (the role clones TPM/resurrect/continuum), python3-venv (the runtime's
# venv), acl (Ansible become to an unprivileged user), nodejs (Codex's
# launcher), procps/sqlite3/jq for assertions. No recommends, no docs, no
# apt lists.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates tmux git python3 python3-venv sudo acl procps \
      sqlite3 jq less nodejs \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*

# The CLIs' commands on every user's PATH (/usr/local/bin is on Debian's
# login PATH too). Claude Code and OpenCode are native executables. Codex's
# command is its node launcher (bin/codex.js, which runs the native codex)
# where Node.js can run it (>= 16: Debian 12 and 13); Debian 11's Node.js 12
# cannot (the launcher uses `??` and top-level await), so there the command
# is the native executable from Codex's platform package itself, as Codex's
# standalone binary is installed.
COPY --from=clis /opt/assistant-clis /opt/assistant-clis
RUN set -eu; \
    m=/opt/assistant-clis/node_modules; \
    codex="$m/.bin/codex"; \
    if ! node -e 'process.exit(parseInt(process.versions.node, 10) >= 16 ? 0 : 1)'; then \
      codex=$(echo "$m"/@openai/codex-linux-*/vendor/*/bin/codex); \
      echo "Node.js $(node --version) cannot run Codex's launcher: codex is $codex"; \
    fi; \
    ln -sf "$m/.bin/claude" /usr/local/bin/claude; \
    ln -sf "$m/.bin/opencode" /usr/local/bin/opencode; \
    ln -sf "$codex" /usr/local/bin/codex; \
    claude --version && opencode --version && codex --version

# pip inside the runtime's venv must trust the same CA bundle.
RUN printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > /etc/pip.conf

# Ordinary users with real home directories (Codex refuses a home under
# /tmp; Claude refuses some flags as root).
RUN useradd --create-home --shell /bin/bash --uid 1000 alice \
 && useradd --create-home --shell /bin/bash --uid 1001 bob

CMD ["sleep", "infinity"]
