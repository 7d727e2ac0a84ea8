#!/usr/bin/env bash
# End-to-end check of the README's run command: Deploy/dev.sh on a scratch data folder, then the demo
# tenant admin of zuid-kennemerland logs in and GET /api/v1/me answers its tenant and role, marketing sends a
# newsletter through a real SMTP server with a working one-click unsubscribe, and stopping dev.sh stops
# its server and worker too.
# With --browser it then runs the browser tests of the staff web app (Admin/tests/run.sh) against that server, with
# screenshots in .build/screenshots/; with --contract-fuzz, Deploy/contract-fuzz.sh (after the browser tests: the
# fuzz's failed logins would trip the sign-in throttle). Their failures do not stop the smoke check; it exits 3 when
# the fuzz failed, 4 when the browser tests failed, 5 when both did.
set -euo pipefail
FUZZ=0
BROWSER=0
for flag in "$@"; do
    case "$flag" in
        --contract-fuzz) FUZZ=1 ;;
        --browser) BROWSER=1 ;;
        *) echo "usage: Deploy/smoke.sh [--browser] [--contract-fuzz]" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
source Deploy/postgres.sh

DATA=$(mktemp -d /tmp/kring-smoke.XXXXXX)
chmod 755 "$DATA"  # the postgres user must reach the cluster inside
PG_PORT=$((50000 + RANDOM % 4000))
HTTP_PORT=$((46000 + RANDOM % 3000))
LOG="$DATA/dev.log"
stop() {
    [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    [ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null || true
    kring_pg_stop "$DATA/pg"
    rm -rf "$DATA"
}
trap stop EXIT

# The mail goes to a real SMTP server (Deploy/smtp-sink.py, aiosmtpd), which keeps each message as N.eml in the
# mail folder, where the checks below and the browser tests read it. It speaks SMTPUTF8 as relays do today: the demo
# has addresses such as zoë.bakker@example.nl.
mkdir -p "$DATA/mail"
${KRING_TEST_PYTHON:-/usr/bin/python3} Deploy/smtp-sink.py --dir "$DATA/mail" --ready-file "$DATA/smtp-port" --smtputf8 --pipelining >"$DATA/sink.log" 2>&1 &
SINK_PID=$!
for _ in $(seq 1 100); do [ -s "$DATA/smtp-port" ] && break; sleep 0.1; done
[ -s "$DATA/smtp-port" ] || { cat "$DATA/sink.log"; echo "smoke: the SMTP server did not start" >&2; exit 1; }
SMTP_PORT=$(cat "$DATA/smtp-port")
KRING_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT?tls=none" \
    KRING_DEV_DATA="$DATA" KRING_DEV_PG_PORT=$PG_PORT KRING_LISTEN=127.0.0.1:$HTTP_PORT ./Deploy/dev.sh >"$LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 240); do
    curl -sf "http://127.0.0.1:$HTTP_PORT/health/ready" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG"; echo "smoke: dev.sh stopped early" >&2; exit 1; }
    sleep 1
done

python3 - "$HTTP_PORT" "$DATA/mail" <<'PY'
import email, email.header, json, sys, time, urllib.request
from pathlib import Path
base, folder = f"http://127.0.0.1:{sys.argv[1]}", Path(sys.argv[2])
def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("content-type", "application/json")
    if token: request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        return json.load(response)
tokens = call("POST", "/api/v1/auth/login", {"email": "admin@zuid-kennemerland.example", "password": "demo-wachtwoord-2026", "tenant": "zuid-kennemerland"})
me = call("GET", "/api/v1/me", token=tokens["access_token"])
assert me["tenant"]["slug"] == "zuid-kennemerland", me
assert me["role"] == "tenant_admin", me
def totp(secret, at=None):
    """The code an authenticator app shows for `secret` (RFC 6238: HMAC-SHA1, 30 s, 6 digits)."""
    import hashlib, hmac, struct
    step = int((time.time() if at is None else at) // 30)
    digest = hmac.new(secret.encode(), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000:06d}"
platform = call("POST", "/api/v1/auth/login", {"email": "admin@probiblio.example", "password": "demo-wachtwoord-2026",
                                              "totp_code": totp("kringDemoProbiblio2026")})
tenants = call("GET", "/api/v1/admin/tenants", token=platform["access_token"])
slugs = sorted(t["slug"] for t in tenants["items"])
assert slugs == ["amstelland", "hilversum", "zuid-kennemerland"], slugs
print(f"smoke: dev.sh serves; {me['user']['email']} is {me['role']} of {me['tenant']['name']}; tenants {', '.join(slugs)}")

# A new user tries the campaign module: a demo newsletter goes out through the SMTP server to the mail folder, one
# mail per recipient, with a one-click unsubscribe that works.
token = call("POST", "/api/v1/auth/login", {"email": "marketing@zuid-kennemerland.example", "password": "demo-wachtwoord-2026",
                                           "tenant": "zuid-kennemerland"})["access_token"]
drafts = [c for c in call("GET", "/api/v1/campaigns?limit=100", token=token)["items"] if c["name"].startswith("Weekbrief") and c["state"] == "draft"]
# Every branch's Weekbrief, so the count does not hang on one small branch of the random demo data.
campaigns = [call("POST", f"/api/v1/campaigns/{draft['id']}/schedule", {}, token=token) for draft in drafts]
recipients = sum(c["recipients"] for c in campaigns)
assert recipients > 0, campaigns
def newsletters():
    # The folder also gets the journeys' and invitations' mail: count the Weekbrief only.
    found = []
    for path in sorted(folder.glob("*.eml")):
        subject = str(email.header.make_header(email.header.decode_header(email.message_from_bytes(path.read_bytes())["Subject"] or "")))
        if subject.startswith("Weekbrief"): found.append(path)
    return found
mails = []
for _ in range(240):
    mails = newsletters()
    if len(mails) >= recipients: break
    time.sleep(0.5)
assert len(mails) == recipients, f"{len(mails)} mails for {recipients} recipients"
for campaign in campaigns:
    stats = call("GET", f"/api/v1/campaigns/{campaign['id']}/stats", token=token)
    assert stats["sent"] == campaign["recipients"] and stats["failed"] == 0, stats
message = email.message_from_bytes(mails[0].read_bytes())
assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", message["List-Unsubscribe-Post"]
link = message["List-Unsubscribe"].strip("<>")
with urllib.request.urlopen(urllib.request.Request(link, method="POST", data=b"List-Unsubscribe=One-Click")) as response:
    assert response.status == 200, response.status
print(f"smoke: {len(campaigns)} branch newsletters went to {recipients} recipients through the SMTP server; one-click unsubscribe works")
PY

# The staff web app in headless Chromium, as fresh frontdesk users that Admin/tests/run.sh creates with the CLI.
BROWSER_FAILED=0
if [ "$BROWSER" -eq 1 ]; then
    SHOTS="$(pwd)/.build/screenshots"
    KRING_BIN="$(swift build --show-bin-path)/kring" KRING_BROWSER_MAIL_DIR="$DATA/mail" \
    KRING_DATABASE_URL="postgres://kring_app@127.0.0.1:$PG_PORT/kring?sslmode=disable" \
    KRING_OWNER_DATABASE_URL="postgres://kring_owner@127.0.0.1:$PG_PORT/kring?sslmode=disable" \
        ./Admin/tests/run.sh "http://127.0.0.1:$HTTP_PORT" "$SHOTS" || BROWSER_FAILED=1
    echo "smoke: browser test screenshots in $SHOTS"
fi

FUZZ_FAILED=0
if [ "$FUZZ" -eq 1 ]; then
    ./Deploy/contract-fuzz.sh "http://127.0.0.1:$HTTP_PORT" || FUZZ_FAILED=1
fi

# Stopping dev.sh stops what it started: nothing answers on its port, and no process of its run is left.
kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
sleep 1
if curl -s -m 2 "http://127.0.0.1:$HTTP_PORT/health/live" >/dev/null 2>&1 \
    || grep -lsa "KRING_LISTEN=127.0.0.1:$HTTP_PORT" /proc/[0-9]*/environ >/dev/null; then
    echo "smoke: kring serve or worker still runs after dev.sh stopped" >&2
    exit 1
fi
echo "smoke: stopping dev.sh stopped its server and worker"
# Every command of dev.sh starts its database pool before using it (PostgresNIO warns otherwise).
if grep -q "PostgresClient.run()" "$LOG"; then
    echo "smoke: a kring command leased a connection before starting its pool:" >&2
    grep "PostgresClient.run()" "$LOG" | head -3 >&2
    exit 1
fi
# 3: the fuzz failed, 4: the browser tests failed, 5: both.
if [ "$FUZZ_FAILED" -eq 1 ] && [ "$BROWSER_FAILED" -eq 1 ]; then exit 5; fi
if [ "$BROWSER_FAILED" -eq 1 ]; then exit 4; fi
if [ "$FUZZ_FAILED" -eq 1 ]; then exit 3; fi
exit 0
