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
# The browser tests of the staff web app after the smoke check (KRING_BROWSER_TESTS=0 skips them) need Chromium,
# chromedriver and Selenium from apt, and axe-selenium-python from PyPI in its own virtual environment.
BROWSER=${KRING_BROWSER_TESTS:-1}
if [ $# -eq 0 ] && [ "$BROWSER" != 0 ]; then
    ./Admin/tests/run.sh --install
fi
# The fault test after the tests (KRING_FAULT_TEST=0 skips it): PostgreSQL restarted and the SMTP relay down for a
# minute under a running server and worker, on a cluster of its own (about six minutes).
FAULT=${KRING_FAULT_TEST:-1}
# The formatter's check first: it takes seconds, the build minutes (`swift format -i -r Sources Tests Package.swift`
# mends what it finds).
if [ $# -eq 0 ]; then
    swift format lint --strict --recursive --parallel Sources Tests Package.swift ||
        { echo "test.sh: swift format lint found the above; run swift format -i -r Sources Tests Package.swift" >&2; exit 1; }
fi
# The packaging (Dockerfile, compose.yaml, Kubernetes manifests) is checked without a cluster; seconds, after the
# first install of its validator from PyPI.
if [ $# -eq 0 ]; then
    ./Deploy/validate-deploy.sh || { echo "test.sh: Deploy/validate-deploy.sh found the above" >&2; exit 1; }
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

# The README's run command, end to end on a scratch cluster, then the browser tests and the contract fuzz against
# that server (all skipped when only some tests were asked for). Their failures (smoke.sh exits 3 for the fuzz, 4 for
# the browser tests, 5 for both) fail the run after the tests.
FUZZ_FAILED=0
BROWSER_FAILED=0
if [ $# -eq 0 ]; then
    SMOKE_FLAGS=()
    [ "$BROWSER" != 0 ] && SMOKE_FLAGS+=(--browser)
    [ "$FUZZ" != 0 ] && SMOKE_FLAGS+=(--contract-fuzz)
    ./Deploy/smoke.sh "${SMOKE_FLAGS[@]}" || {
        status=$?
        case "$status" in
            3) FUZZ_FAILED=1 ;;
            4) BROWSER_FAILED=1 ;;
            5) FUZZ_FAILED=1; BROWSER_FAILED=1 ;;
            *) exit "$status" ;;
        esac
    }
fi

swift test --skip-build "$@"

# The fault test (Deploy/fault-test.sh) against the kring just built (skipped when only some tests were asked for);
# its failure fails the run after the reports below.
FAULT_FAILED=0
if [ $# -eq 0 ] && [ "$FAULT" != 0 ]; then
    KRING_BIN="$(swift build --show-bin-path)/kring" ./Deploy/fault-test.sh || FAULT_FAILED=1
fi
if [ "$BROWSER_FAILED" -eq 1 ]; then
    echo "test.sh: the browser tests failed (listed after the smoke check above; screenshots in .build/screenshots/)" >&2
fi
if [ "$FUZZ_FAILED" -eq 1 ]; then
    echo "test.sh: the contract fuzz found failures (listed after the smoke check above)" >&2
fi
if [ "$FAULT_FAILED" -eq 1 ]; then
    echo "test.sh: the fault test failed (its FAIL lines above)" >&2
fi
if [ "$BROWSER_FAILED" -eq 1 ] || [ "$FUZZ_FAILED" -eq 1 ] || [ "$FAULT_FAILED" -eq 1 ]; then
    exit 1
fi
