#!/usr/bin/env bash
# Contract fuzz of a running Kring server on the demo libraries (Deploy/dev.sh) with Schemathesis; see
# Deploy/contract-fuzz.py for what it runs. Installs Schemathesis into its own virtual environment when missing.
# Usage: Deploy/contract-fuzz.sh BASE_URL [options of contract-fuzz.py]   e.g. http://127.0.0.1:8080
#        Deploy/contract-fuzz.sh --install                              only install Schemathesis
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

# The version the seed's results were seen with: another one generates other cases.
SCHEMATHESIS=${KRING_SCHEMATHESIS:-schemathesis==4.32.5}
VENV=${KRING_FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kring/schemathesis}

install() {
    local wanted=${SCHEMATHESIS#schemathesis==}
    if [ -x "$VENV/bin/schemathesis" ] && { [ "$wanted" = "$SCHEMATHESIS" ] \
        || [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" = "schemathesis, version $wanted" ]; }; then
        return 0
    fi
    echo "Installing $SCHEMATHESIS into $VENV ..."
    if ! python3 -m venv --clear "$VENV" >/dev/null 2>&1; then
        # Debian's python3 has venv in a package of its own.
        source "$HERE/postgres.sh"
        kring_apt_install python3-venv
        python3 -m venv --clear "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$SCHEMATHESIS"
}

if [ "${1:-}" = "--install" ]; then
    install
    exit 0
fi
[ $# -ge 1 ] || { sed -n '2,5p' "$0" >&2; exit 2; }
install
exec "$VENV/bin/python" "$HERE/contract-fuzz.py" "$@"
