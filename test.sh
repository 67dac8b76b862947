#!/usr/bin/env bash
# The one test command: starts what the tests need (PostgreSQL on loopback, installed from
# Debian's packages when absent; mosquitto installed for the benchmark's smoke test), then runs
# every module's tests with the Maven Wrapper:
#   ./mvnw verify
# Extra arguments go to Maven, e.g. ./test.sh -pl storage-postgres
set -euo pipefail
cd "$(dirname "$0")"
eval "$(bash .ci/postgres.sh)"
bash .ci/mosquitto.sh
exec ./mvnw -B --no-transfer-progress verify "$@"
