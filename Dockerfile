# Test image for the Molecule scenarios (molecule/): Debian, tmux, python3,
# the real assistant CLIs at pinned versions, and ordinary users.
#
# BASE is a Debian image. No container registry is needed: the scenarios
# build it locally with debootstrap (molecule/scripts/base-image.sh, which
# also puts the host's CA bundle in it) and then run
#   docker build --build-arg BASE=assistant-resurrect-base:bookworm \
#     -t assistant-resurrect-test:bookworm .
# Any Debian 12 image works as BASE where a registry is reachable.
ARG BASE=assistant-resurrect-base:bookworm
FROM ${BASE}

ARG CLAUDE_CODE_VERSION=2.1.197
ARG OPENCODE_VERSION=1.18.33
ARG CODEX_VERSION=0.169.0
ARG NPM_REGISTRY=https://registry.npmjs.org/

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
# venv), acl (Ansible become to an unprivileged user), nodejs+npm (the CLIs),
# procps/sqlite3/jq for assertions. No recommends, no docs, no apt lists.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates tmux git python3 python3-venv sudo acl procps \
      sqlite3 jq less nodejs npm \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*

# The real CLIs, pinned, from the npm registry, into one prefix that every
# user can read, with their commands on every user's PATH (/usr/local/bin is
# on Debian's login PATH too).
RUN mkdir -p /opt/assistant-clis \
 && npm config --global set cafile /etc/ssl/certs/ca-certificates.crt \
 && npm install --prefix /opt/assistant-clis --registry "$NPM_REGISTRY" \
      --no-audit --no-fund --no-update-notifier --save-exact --omit=dev \
      "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" \
      "opencode-ai@${OPENCODE_VERSION}" \
      "@openai/codex@${CODEX_VERSION}" \
 && rm -rf /root/.npm \
 && chmod -R a+rX /opt/assistant-clis \
 && for cli in claude opencode codex; do \
      ln -sf "/opt/assistant-clis/node_modules/.bin/$cli" "/usr/local/bin/$cli"; \
    done \
 && claude --version && opencode --version && codex --version

# pip inside the runtime's venv must trust the same CA bundle.
RUN printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > /etc/pip.conf

# Ordinary users with real home directories (Codex refuses a home under
# /tmp; Claude refuses some flags as root).
RUN useradd --create-home --shell /bin/bash --uid 1000 alice \
 && useradd --create-home --shell /bin/bash --uid 1001 bob

CMD ["sleep", "infinity"]
