#!/usr/bin/env bash
# What the s3 blob store's tests need: @20minutes/s3rver (an S3-compatible server that checks
# request signatures), pinned in media-s3/s3rver/package-lock.json; npm ci installs exactly that.
# The tests start it themselves on 127.0.0.1 (media-s3/s3rver/start.js).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "s3rver.sh: npm not found; install Node.js 20 or later and npm (e.g. apt-get install nodejs npm)" >&2
  exit 2
fi
if ! (cd media-s3/s3rver && npm ci --loglevel=error --no-audit --no-fund >/dev/null); then
  echo "s3rver.sh: npm ci in media-s3/s3rver failed (see above); it installs @20minutes/s3rver pinned in" \
    "media-s3/s3rver/package-lock.json from the npm registry" >&2
  exit 2
fi
