#!/usr/bin/env bash
# Sets up and runs Kring locally: PostgreSQL under .data/, migrations, demo tenants, then the server.
# Safe to run again: existing data, keys and tenants are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
source Deploy/postgres.sh

ROOT=$(pwd)
DATA=${KRING_DEV_DATA:-$ROOT/.data}
PG_PORT=${KRING_DEV_PG_PORT:-54329}
LISTEN=${KRING_LISTEN:-127.0.0.1:8080}
DEMO_PASSWORD=${KRING_DEMO_PASSWORD:-demo-wachtwoord-2026}
mkdir -p "$DATA"
PG_DIR="$DATA/pg"
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$DATA"; then
    # The postgres user cannot reach this checkout (e.g. under /root): keep the cluster elsewhere.
    PG_DIR="/var/tmp/kring-dev-pg-$(echo "$DATA" | sha256sum | cut -c1-12)"
fi

command -v swift >/dev/null || { echo "Swift 6 is needed: https://www.swift.org/install/linux/" >&2; exit 1; }
kring_pg_ensure_installed
kring_pg_start "$PG_DIR" "$PG_PORT"
kring_pg_bootstrap "$PG_PORT"
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kring'" | grep -q 1 \
    || psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE kring OWNER kring_owner"

echo "Building Kring (the first build takes a few minutes) ..."
swift build --product kring
KRING=$(swift build --show-bin-path)/kring

export KRING_DATABASE_URL="postgres://kring_app@127.0.0.1:$PG_PORT/kring?sslmode=disable"
export KRING_OWNER_DATABASE_URL="postgres://kring_owner@127.0.0.1:$PG_PORT/kring?sslmode=disable"
export KRING_JWT_KEYS_DIR="$DATA/keys"
export KRING_LISTEN="$LISTEN"
export KRING_ENVIRONMENT=${KRING_ENVIRONMENT:-dev}
ls "$KRING_JWT_KEYS_DIR"/*.key >/dev/null 2>&1 || "$KRING" jwt-key generate --dir "$KRING_JWT_KEYS_DIR"
# Signs the public links in mails (unsubscribe, preference centre, sign-up confirmation, tracking).
export KRING_LINK_SECRET_FILE="$DATA/link-secret"
export KRING_DEV_MAIL_DIR="$DATA/mail"
export KRING_SMTP_URL=${KRING_SMTP_URL:-file://$KRING_DEV_MAIL_DIR}
# The sender of staff invitations and password links for a library without a sender of its own (a new library).
export KRING_MAIL_FROM=${KRING_MAIL_FROM:-Kring demo <noreply@kring.example>}
export KRING_PUBLIC_URL=${KRING_PUBLIC_URL:-http://$LISTEN}
[ -s "$KRING_LINK_SECRET_FILE" ] || (umask 077 && head -c 32 /dev/urandom > "$KRING_LINK_SECRET_FILE")

"$KRING" migrate
demo_tenant() {
    local slug=$1 name=$2
    printf '%s\n' "$DEMO_PASSWORD" | "$KRING" tenant create --if-missing --slug "$slug" --name "$name" \
        --admin-email "admin@$slug.example" --admin-name "Beheerder $name" --password-stdin
}
demo_staff() {
    local slug=$1 role
    for role in frontdesk marketing relations analyst; do
        printf '%s\n' "$DEMO_PASSWORD" | "$KRING" user create --if-missing --tenant "$slug" --email "$role@$slug.example" \
            --role "$role" --name "Demo $role" --password-stdin >/dev/null
    done
}
demo_tenant zuid-kennemerland "Bibliotheek Zuid-Kennemerland"
demo_tenant amstelland "Bibliotheek Amstelland"
demo_tenant hilversum "Bibliotheek Hilversum"
# Synthetic members, activities and consents (KRING_DEMO_MEMBERS per library; BZK really has about 68,000).
for slug in zuid-kennemerland amstelland hilversum; do
    demo_staff "$slug"
    "$KRING" demo --tenant "$slug" --members "${KRING_DEMO_MEMBERS:-3000}" --if-empty
done
# Generated Mosaic data (invented segment names, the demo libraries' postcodes) as the current delivery; loading the
# same files again changes nothing.
"$KRING" mosaic demo --load >/dev/null
# Thirteen months of made-up daily figures before today, so the trend lines of Inzicht › Kerncijfers are not flat (once).
for slug in zuid-kennemerland amstelland hilversum; do
    "$KRING" figures demo-history --tenant "$slug" >/dev/null
done
# Platform administrators always sign in with two-factor; the demo's has a known secret (never do this for real).
DEMO_TOTP_SECRET=${KRING_DEMO_TOTP_SECRET:-kringDemoProbiblio2026}
printf '%s\n' "$DEMO_PASSWORD" | "$KRING" platform-admin create --email admin@probiblio.example --name "Probiblio" --password-stdin \
    --demo-two-factor-secret "$DEMO_TOTP_SECRET" >/dev/null
DEMO_TOTP_KEY=$(printf '%s' "$DEMO_TOTP_SECRET" | base32 | tr -d '=')

cat <<INFO

Kring runs at http://$LISTEN  -- sign in at http://$LISTEN/inloggen
(the API: http://$LISTEN/api/v1/openapi.yaml)
Demo logins (password: $DEMO_PASSWORD; choose the library on the sign-in page):
  tenant_admin  admin@zuid-kennemerland.example   tenant zuid-kennemerland
  tenant_admin  admin@amstelland.example          tenant amstelland
  tenant_admin  admin@hilversum.example           tenant hilversum
  frontdesk, marketing, relations, analyst: <role>@<tenant>.example, e.g. relations@zuid-kennemerland.example
  platform      admin@probiblio.example           library "Probiblio"; two-factor: add key $DEMO_TOTP_KEY
                                                  to an authenticator app (the API takes the code as totp_code)
Try:
  curl -s http://$LISTEN/api/v1/auth/login -H 'content-type: application/json' \\
    -d '{"email":"admin@zuid-kennemerland.example","password":"$DEMO_PASSWORD","tenant":"zuid-kennemerland"}'

Campaign mail: \`kring worker\` runs beside the server and writes each mail as an .eml file into
  $KRING_DEV_MAIL_DIR  (set KRING_SMTP_URL=smtp://127.0.0.1:PORT?tls=none to use a local SMTP server instead)
INFO
# The server and the worker (jobs, journeys, campaign delivery) run until this script is stopped (Ctrl-C or SIGTERM),
# and stop with it: both run in the background, so the shell hears the signal at once rather than after the server.
"$KRING" worker &
WORKER=$!
"$KRING" serve &
SERVER=$!
trap 'kill $SERVER $WORKER 2>/dev/null; wait $SERVER $WORKER 2>/dev/null' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
wait $SERVER
