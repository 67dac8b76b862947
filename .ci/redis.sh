#!/usr/bin/env bash
# Installs redis-server (the cluster's session directory and signals) from Debian's packages when
# absent. Nothing is started here: the cluster tests start their own redis-server on a free
# loopback port (and restart it, to test what a Redis restart does), as the bench does.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
  exit 0
fi
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "redis.sh: need root (or sudo) to install redis-server" >&2; return 1; fi
}
echo "redis.sh: installing redis-server from Debian's packages" >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
# The package's service may not start where there is no init system; the tests start their own.
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2 || command -v redis-server >/dev/null
# Stop a service the package may have started: the tests want the loopback ports to themselves.
if command -v service >/dev/null 2>&1; then as_root service redis-server stop >/dev/null 2>&1 || true; fi
