#!/usr/bin/env bash
# Browser tests of the staff web app (Admin/tests/browser_test.py) against a running Kring: creates fresh users for
# them with the kring CLI (the shared demo logins stay as they are), and for test_3's first import a new library with
# its tenant admin, runs the tests in headless Chromium, and disables those users again. The new library stays (the
# CLI cannot delete a library): every run that includes test_3 leaves one, bt-<run id>, with its schema t_bt_<run id>
# and the members it imported; on the scratch database of `swift test` or a dev.sh database that is no matter.
# Usage: Admin/tests/run.sh BASE_URL SHOTS_DIR [options of browser_test.py, e.g. --only test_1]
#        Admin/tests/run.sh --install        only install what they need (apt and PyPI), as root
# Needs: KRING_DATABASE_URL and KRING_OWNER_DATABASE_URL of that server's database, KRING_BIN (the kring binary),
# psql, and what --install installs. Exits 0 when all passed, 1 when a test failed, 2 when it could not start.
# KRING_BROWSER_LIBRARY_A / KRING_BROWSER_LIBRARY_B choose the libraries (zuid-kennemerland, amstelland).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# axe-core through axe-selenium-python, pinned (3.0.0 brings axe-core 4.10.2; 2.1.6, the last for Python 3.11, an
# axe-core of 2018). 3.0.0 declares Python >= 3.12, but its one module is plain Python that Debian 12's 3.11 runs,
# so it is installed with --ignore-requires-python, and without its dependencies: it imports none of them (pytest
# is for its own tests), and Selenium is Debian's python3-selenium, seen through --system-site-packages.
AXE=${KRING_AXE_SELENIUM:-axe-selenium-python==3.0.0}
VENV=${KRING_BROWSER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kring/browser}
# Debian's python, whatever python3 comes first on PATH (a pyenv one does not see Debian's modules).
PYTHON=/usr/bin/python3

installed() {
    [ -x "$VENV/bin/python" ] && [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] \
        && [ "$("$VENV/bin/python" -c 'import selenium, importlib.metadata as m; print(m.version("axe-selenium-python"))' 2>/dev/null)" = "${AXE#*==}" ]
}

install() {
    source "$ROOT/Deploy/postgres.sh"
    kring_apt_install chromium chromium-driver python3-selenium python3-venv
    installed && return 0
    echo "Installing $AXE into $VENV ..."
    "$PYTHON" -m venv --clear --system-site-packages "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --ignore-requires-python "$AXE"
    installed || { echo "run.sh: $AXE in $VENV does not import with Selenium" >&2; return 1; }
}

if [ "${1:-}" = "--install" ]; then
    install
    exit 0
fi
[ $# -ge 2 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
BASE=${1%/}
SHOTS=$2
shift 2

installed || { echo "run.sh: Chromium, chromedriver, Selenium or $AXE (in $VENV) is missing: run Admin/tests/run.sh --install" >&2; exit 2; }
for variable in KRING_DATABASE_URL KRING_OWNER_DATABASE_URL KRING_BIN; do
    [ -n "${!variable:-}" ] || { echo "run.sh: set $variable (see the top of $0)" >&2; exit 2; }
done
command -v psql >/dev/null || { echo "run.sh: psql is missing (test_2 reads member numbers with it, test_3 checks its import)" >&2; exit 2; }
[ -x "$KRING_BIN" ] || { echo "run.sh: KRING_BIN=$KRING_BIN is not an executable (\$(swift build --show-bin-path)/kring)" >&2; exit 2; }
export KRING_DATABASE_URL KRING_OWNER_DATABASE_URL
curl -sf -o /dev/null "$BASE/health/ready" || { echo "run.sh: nothing ready at $BASE/health/ready" >&2; exit 2; }

LIBRARY_A=${KRING_BROWSER_LIBRARY_A:-zuid-kennemerland}
LIBRARY_B=${KRING_BROWSER_LIBRARY_B:-amstelland}
RUN_ID="$(date +%Y%m%d%H%M%S)-$RANDOM"
PASSWORD="browsertest-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
user() {  # user SLUG NAME [ROLE] -> a fresh user's e-mail address (ROLE frontdesk unless given)
    local slug=$1 name=$2 role=${3:-frontdesk} email="browsertest-$RUN_ID-$2@$1.example"
    printf '%s\n' "$PASSWORD" | "$KRING_BIN" user create --tenant "$slug" --email "$email" --role "$role" \
        --name "Browsertest $name" --password-stdin >/dev/null || { echo "run.sh: could not create $email" >&2; exit 2; }
    echo "$email"
}
CREATED=()
disable_users() {  # afterwards, the run's users cannot sign in any more (a user is never deleted: the audit log names them)
    local email
    for email in "${CREATED[@]}"; do
        "$KRING_BIN" user disable --email "$email" >/dev/null 2>&1 || echo "run.sh: could not disable $email" >&2
    done
}
trap disable_users EXIT
export KRING_BROWSER_PASSWORD=$PASSWORD KRING_BROWSER_LIBRARY_A=$LIBRARY_A KRING_BROWSER_LIBRARY_B=$LIBRARY_B
KRING_BROWSER_USER_A=$(user "$LIBRARY_A" a)
CREATED+=("$KRING_BROWSER_USER_A")
KRING_BROWSER_USER_A2=$(user "$LIBRARY_A" a2)
CREATED+=("$KRING_BROWSER_USER_A2")
KRING_BROWSER_USER_B=$(user "$LIBRARY_B" b)
CREATED+=("$KRING_BROWSER_USER_B")
KRING_BROWSER_USER_M=$(user "$LIBRARY_A" m marketing)
CREATED+=("$KRING_BROWSER_USER_M")
KRING_BROWSER_USER_R=$(user "$LIBRARY_A" r relations)
CREATED+=("$KRING_BROWSER_USER_R")
KRING_BROWSER_USER_N=$(user "$LIBRARY_A" n analyst)
CREATED+=("$KRING_BROWSER_USER_N")
KRING_BROWSER_USER_T=$(user "$LIBRARY_A" t tenant_admin)
CREATED+=("$KRING_BROWSER_USER_T")
# test_8's platform administrator, with a two-factor secret of this run (platform administrators always need one).
KRING_BROWSER_USER_P="browsertest-$RUN_ID-p@probiblio.example"
KRING_BROWSER_PLATFORM_SECRET="bt$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$PASSWORD" | "$KRING_BIN" platform-admin create --email "$KRING_BROWSER_USER_P" --name "Browsertest Probiblio" \
    --password-stdin --demo-two-factor-secret "$KRING_BROWSER_PLATFORM_SECRET" >/dev/null \
    || { echo "run.sh: could not create the platform administrator $KRING_BROWSER_USER_P" >&2; exit 2; }
CREATED+=("$KRING_BROWSER_USER_P")
export KRING_BROWSER_USER_A KRING_BROWSER_USER_A2 KRING_BROWSER_USER_B KRING_BROWSER_USER_M KRING_BROWSER_USER_R KRING_BROWSER_USER_N
export KRING_BROWSER_USER_T
export KRING_BROWSER_USER_P KRING_BROWSER_PLATFORM_SECRET
echo "run.sh: frontdesk users $KRING_BROWSER_USER_A, $KRING_BROWSER_USER_A2, $KRING_BROWSER_USER_B; marketing $KRING_BROWSER_USER_M;" \
    "relations $KRING_BROWSER_USER_R; analyst $KRING_BROWSER_USER_N; administrator $KRING_BROWSER_USER_T"

# test_3's library, new on every run (it must have no branches): only when test_3 runs (see --only).
only=""
previous=""
for argument in "$@"; do
    case $previous in --only) only=$argument ;; esac
    case $argument in --only=*) only=${argument#--only=} ;; esac
    previous=$argument
done
if [[ test_3_first_import == "$only"* ]]; then
    KRING_BROWSER_NEW_LIBRARY="bt-$RUN_ID"
    KRING_BROWSER_NEW_ADMIN="beheerder-$RUN_ID@$KRING_BROWSER_NEW_LIBRARY.example"
    printf '%s\n' "$PASSWORD" | "$KRING_BIN" tenant create --slug "$KRING_BROWSER_NEW_LIBRARY" \
        --name "Bibliotheek Browsertest $RUN_ID" --admin-email "$KRING_BROWSER_NEW_ADMIN" --admin-name "Beheerder" \
        --password-stdin >/dev/null || { echo "run.sh: could not create the library $KRING_BROWSER_NEW_LIBRARY" >&2; exit 2; }
    CREATED+=("$KRING_BROWSER_NEW_ADMIN")
    export KRING_BROWSER_NEW_LIBRARY KRING_BROWSER_NEW_ADMIN
    echo "run.sh: new library $KRING_BROWSER_NEW_LIBRARY with tenant admin $KRING_BROWSER_NEW_ADMIN"
fi

mkdir -p "$SHOTS"
rm -f "$SHOTS"/test_*.png  # the screenshots of an earlier run
status=0
"$VENV/bin/python" "$HERE/browser_test.py" --base "$BASE" --shots "$SHOTS" "$@" || status=$?
# 0 all passed, 1 a test failed; anything else (a crash) could not run them.
[ "$status" -le 1 ] || status=2
exit "$status"
