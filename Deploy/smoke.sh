#!/usr/bin/env bash
# End-to-end check of the README's run command: Deploy/dev.sh on a scratch data folder, then the demo
# tenant admin of zuid-kennemerland logs in and GET /api/v1/me answers its tenant and role, marketing sends a
# newsletter that lands in the mail folder with a working one-click unsubscribe, and stopping dev.sh stops
# its server and worker too.
# With --contract-fuzz it then runs Deploy/contract-fuzz.sh against that server; its failures exit 3.
set -euo pipefail
FUZZ=0
[ "${1:-}" = "--contract-fuzz" ] && FUZZ=1
cd "$(dirname "$0")/.."
source Deploy/postgres.sh

DATA=$(mktemp -d /tmp/kring-smoke.XXXXXX)
chmod 755 "$DATA"  # the postgres user must reach the cluster inside
PG_PORT=$((50000 + RANDOM % 4000))
HTTP_PORT=$((46000 + RANDOM % 3000))
LOG="$DATA/dev.log"
stop() {
    [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    kring_pg_stop "$DATA/pg"
    rm -rf "$DATA"
}
trap stop EXIT

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
platform = call("POST", "/api/v1/auth/login", {"email": "admin@probiblio.example", "password": "demo-wachtwoord-2026"})
tenants = call("GET", "/api/v1/admin/tenants", token=platform["access_token"])
slugs = sorted(t["slug"] for t in tenants["items"])
assert slugs == ["amstelland", "hilversum", "zuid-kennemerland"], slugs
print(f"smoke: dev.sh serves; {me['user']['email']} is {me['role']} of {me['tenant']['name']}; tenants {', '.join(slugs)}")

# A new user tries the campaign module: a demo newsletter goes out to the local mail folder, one mail per recipient,
# with a one-click unsubscribe that works.
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
print(f"smoke: {len(campaigns)} branch newsletters went to {recipients} recipients in the mail folder; one-click unsubscribe works")
PY

FUZZ_STATUS=0
if [ "$FUZZ" -eq 1 ]; then
    ./Deploy/contract-fuzz.sh "http://127.0.0.1:$HTTP_PORT" || FUZZ_STATUS=3
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
exit "$FUZZ_STATUS"
