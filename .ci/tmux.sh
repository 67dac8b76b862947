#!/usr/bin/env bash
# What TerminalChatIT needs: tmux, the real terminals the chat runs in (installed from Debian's
# packages when absent).
set -euo pipefail
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "tmux.sh: need root (or sudo) to install tmux" >&2; return 1; fi
}
if ! command -v tmux >/dev/null 2>&1; then
  echo "tmux.sh: installing tmux from Debian's packages" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >&2
fi
