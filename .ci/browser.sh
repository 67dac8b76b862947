#!/usr/bin/env bash
# What BrowserClientTest needs: Debian's Chromium at /usr/bin/chromium (installed from Debian's
# packages when absent) and the test driver's npm packages (playwright-core, pinned in
# browser-test/package-lock.json; npm ci installs exactly those). Playwright's own browser
# downloads are not used: the driver launches /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "browser.sh: need root (or sudo) to install chromium" >&2; return 1; fi
}
if [ ! -x /usr/bin/chromium ]; then
  echo "browser.sh: installing chromium from Debian's packages" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "browser.sh: npm not found; install Node.js 20 or later and npm (e.g. apt-get install nodejs npm)" >&2
  exit 2
fi
if ! (cd browser-test && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --loglevel=error --no-audit --no-fund >/dev/null); then
  echo "browser.sh: npm ci in browser-test failed (see above); it installs playwright-core pinned in" \
    "browser-test/package-lock.json from the npm registry" >&2
  exit 2
fi
