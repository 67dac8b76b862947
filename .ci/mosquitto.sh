#!/usr/bin/env bash
# Installs mosquitto (the MQTT broker the benchmark compares Courier with) from Debian's packages
# when absent. Nothing is started here: `courier-bench ... --peer mosquitto` and the bench smoke
# test start their own broker on a free loopback port.
set -euo pipefail
if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
  exit 0
fi
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "mosquitto.sh: need root (or sudo) to install mosquitto" >&2; return 1; fi
}
echo "mosquitto.sh: installing mosquitto from Debian's packages" >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >&2
