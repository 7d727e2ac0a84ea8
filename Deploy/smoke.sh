#!/usr/bin/env bash
# End-to-end check of the README's run command: Deploy/dev.sh on a scratch data folder, then the demo
# tenant admin of zuid-kennemerland logs in and GET /api/v1/me answers its tenant and role.
set -euo pipefail
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

python3 - "$HTTP_PORT" <<'PY'
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
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
PY
