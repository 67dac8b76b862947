#!/usr/bin/env bash
# Checks the wire schema (transport-api/src/main/proto/courier/v1/courier.proto) as a contract:
#   1. installs the pinned buf CLI from package-lock.json (npm ci, in this folder);
#   2. buf lint     - the rules in the repository's buf.yaml (STANDARD + COMMENTS, exceptions
#                     explained there);
#   3. buf breaking - WIRE_JSON rules against baseline.yaml, the image of the last release, so a
#                     renumbered, removed, retyped or renamed field cannot land unnoticed.
# Exits non-zero on any finding. Runs from any directory; ./test.sh runs it before Maven.
#
# When a release is cut, make its schema the new baseline (see the README, "Wire protocol"):
#   bash tools/buf/check.sh --update-baseline
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
baseline="tools/buf/baseline.yaml"

if ! command -v npm >/dev/null 2>&1; then
    echo "tools/buf/check.sh: npm not found; install Node.js and npm (e.g. apt-get install nodejs npm)," \
        "then run it again" >&2
    exit 2
fi

if ! (cd "$here" && npm ci --loglevel=error --no-audit --no-fund >/dev/null); then
    echo "tools/buf/check.sh: npm ci in tools/buf failed (see above); it installs the buf CLI pinned in" \
        "tools/buf/package-lock.json from the npm registry" >&2
    exit 2
fi
buf="$here/node_modules/.bin/buf"
cd "$root"

if [[ "${1:-}" == "--update-baseline" ]]; then
    "$buf" build --exclude-source-info -o "$baseline"
    echo "Wrote $baseline from the current schema; commit it with the release."
    exit 0
elif [[ $# -gt 0 ]]; then
    echo "tools/buf/check.sh: unknown argument '$1'; run it with none, or with --update-baseline" >&2
    exit 2
fi

if ! "$buf" lint; then
    echo "tools/buf/check.sh: buf lint found the problems above in the wire schema" \
        "(rules: buf.yaml); fix them without changing field numbers, types or names" >&2
    exit 1
fi
if ! "$buf" breaking --against "$baseline"; then
    echo "tools/buf/check.sh: the wire schema breaks compatibility with the last release" \
        "($baseline), as listed above; keep the old numbers, types and names, reserve removed" \
        "fields, or make it a new package version" >&2
    exit 1
fi
echo "Wire schema: buf lint and buf breaking (WIRE_JSON, against $baseline) found nothing"
