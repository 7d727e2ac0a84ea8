#!/usr/bin/env bash
# Runs the whole test suite against a throwaway PostgreSQL 15 cluster (installed if missing).
# Usage: Deploy/test.sh [extra arguments for `swift test`, e.g. --filter Tenancy]
set -euo pipefail
cd "$(dirname "$0")/.."
source Deploy/postgres.sh

kring_pg_ensure_installed
# The mail tests deliver to a real SMTP server (Deploy/smtp-sink.py, aiosmtpd) with a certificate from openssl.
kring_apt_install python3-aiosmtpd openssl
# The contract fuzz after the smoke check (KRING_CONTRACT_FUZZ=0 skips it) needs Schemathesis, installed from PyPI
# into its own virtual environment.
FUZZ=${KRING_CONTRACT_FUZZ:-1}
if [ $# -eq 0 ] && [ "$FUZZ" != 0 ]; then
    ./Deploy/contract-fuzz.sh --install
fi
PG_DIR=$(mktemp -d /tmp/kring-test-pg.XXXXXX)
PG_PORT=${KRING_TEST_PG_PORT:-$((55000 + RANDOM % 5000))}
cleanup() { kring_pg_stop "$PG_DIR"; rm -rf "$PG_DIR"; }
trap cleanup EXIT

kring_pg_start "$PG_DIR" "$PG_PORT"
kring_pg_bootstrap "$PG_PORT"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"

export KRING_TEST_PG_HOST=127.0.0.1 KRING_TEST_PG_PORT=$PG_PORT
swift build --build-tests

# The README's run command, end to end on a scratch cluster, then the contract fuzz against that server (both
# skipped when only some tests were asked for). The fuzz's failures (exit 3) fail the run after the tests.
FUZZ_FAILED=0
if [ $# -eq 0 ] && [ "$FUZZ" != 0 ]; then
    ./Deploy/smoke.sh --contract-fuzz || { status=$?; [ "$status" -eq 3 ] || exit "$status"; FUZZ_FAILED=1; }
elif [ $# -eq 0 ]; then
    ./Deploy/smoke.sh
fi

swift test --skip-build "$@"
if [ "$FUZZ_FAILED" -eq 1 ]; then
    echo "test.sh: the contract fuzz found failures (listed after the smoke check above)" >&2
    exit 1
fi
