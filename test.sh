#!/usr/bin/env bash
# The one test command: checks the wire schema (tools/buf/check.sh: buf lint and buf breaking,
# with the buf CLI pinned in tools/buf, installed by npm ci), starts what the tests need
# (PostgreSQL on loopback, installed from Debian's packages when absent; mosquitto installed for
# the benchmark's smoke test; Chromium from Debian's packages and the browser test's pinned npm
# packages, .ci/browser.sh; @20minutes/s3rver for the s3 media store, .ci/s3rver.sh; tmux for the terminal chat's test, .ci/tmux.sh; redis-server for the cluster's tests, .ci/redis.sh), then runs every module's
# tests with the Maven Wrapper, and a bounded
# fuzzing run of every fuzz test (-Pfuzz: 20 s each, see the README's "Fuzzing"):
#   ./mvnw verify -Pfuzz
# Extra arguments go to Maven, e.g. ./test.sh -pl storage-postgres
set -euo pipefail
cd "$(dirname "$0")"
bash tools/buf/check.sh
eval "$(bash .ci/postgres.sh)"
bash .ci/mosquitto.sh
bash .ci/browser.sh
bash .ci/s3rver.sh
bash .ci/tmux.sh
bash .ci/redis.sh
exec ./mvnw -B --no-transfer-progress verify -Pfuzz "$@"
