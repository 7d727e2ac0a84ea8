#!/usr/bin/env bash
# Measures the staff web app where the counter waits: the customer search and the 360 view, rendered as HTML by a
# release build, against a scratch library of 68,000 generated members on a scratch PostgreSQL cluster.
# Usage: Deploy/bench-web.sh [--members N] [--requests N]
# Prints, per page, every request's server time (p50, p95, p99, max) over all N requests, and checks each answered 200.
set -euo pipefail
cd "$(dirname "$0")/.."
source Deploy/bench-server.sh
MEMBERS=68000
REQUESTS=500
while [ $# -gt 0 ]; do
    case "$1" in
        --members) MEMBERS=$2; shift 2 ;;
        --requests) REQUESTS=$2; shift 2 ;;
        *) echo "usage: Deploy/bench-web.sh [--members N] [--requests N]" >&2; exit 2 ;;
    esac
done
kring_bench_serve "$MEMBERS" 1 bench-web

# Keys to look up as the counter does: member numbers, last-name starts and postcodes of real rows; customers to open.
psql -At -h 127.0.0.1 -p "$PG_PORT" -U kring_owner -d kring -c "
    SELECT 'q', member_number FROM t_bench.customers WHERE member_number IS NOT NULL ORDER BY random() LIMIT $REQUESTS" >"$DATA/lookups"
psql -At -h 127.0.0.1 -p "$PG_PORT" -U kring_owner -d kring -c "
    SELECT 'q', left(last_name, 4) FROM t_bench.customers WHERE last_name IS NOT NULL ORDER BY random() LIMIT $((REQUESTS / 2))" >>"$DATA/lookups"
psql -At -h 127.0.0.1 -p "$PG_PORT" -U kring_owner -d kring -c "
    SELECT 'q', postcode FROM t_bench.customers WHERE postcode IS NOT NULL ORDER BY random() LIMIT $((REQUESTS / 2))" >>"$DATA/lookups"
psql -At -h 127.0.0.1 -p "$PG_PORT" -U kring_owner -d kring -c "
    SELECT 'id', id FROM t_bench.customers WHERE merged_into IS NULL ORDER BY random() LIMIT $REQUESTS" >>"$DATA/lookups"

python3 - "$HTTP_PORT" "$DATA/lookups" "$REQUESTS" "$PASSWORD" "$MEMBERS" <<'PY'
import http.client, re, sys, time, urllib.parse
port, keys_file, requests, password, members = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
conn = http.client.HTTPConnection("127.0.0.1", port)
cookies = {}
def call(method, path, body=None):
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Origin"] = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            cookies[name] = rest.split(";")[0]
    return response.status, data.decode("utf-8", "replace"), elapsed, response.getheader("Location")
status, page, _, _ = call("GET", "/inloggen")
token = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
form = urllib.parse.urlencode({"email": "balie@bench.example", "password": password, "library": "bench", "_csrf": token})
status, _, _, location = call("POST", "/inloggen", form)
assert status == 303 and location == "/", (status, location)
searches, profiles = {"member number": [], "name start": [], "postcode": []}, []
kinds = iter(["member number"] * requests + ["name start"] * (requests // 2) + ["postcode"] * (requests // 2))
for line in open(keys_file):
    kind, _, value = line.rstrip("\n").partition("|")
    if kind == "q": searches[next(kinds)].append("/klanten?q=" + urllib.parse.quote(value))
    elif kind == "id": profiles.append("/klanten/" + value)
for path in searches["name start"][:20] + profiles[:20]: call("GET", path)  # warm the pool and caches
def measure(name, paths):
    times, statuses = [], {}
    for path in paths:
        status, _, elapsed, _ = call("GET", path)
        statuses[status] = statuses.get(status, 0) + 1
        times.append(elapsed)
    times.sort()
    pick = lambda p: times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))]
    print(f"{name}: {len(times)} requests, answered {statuses}; p50 {pick(50):.1f} ms, p95 {pick(95):.1f} ms, "
          f"p99 {pick(99):.1f} ms, max {times[-1]:.1f} ms")
    return statuses
print(f"bench web: {members} generated members, a release build, one keep-alive connection, requests one after another")
results = {}
for kind, paths in searches.items():
    results.update({(kind, k): v for k, v in measure(f"customer search by {kind} (a unique hit answers 303 to the person)", paths).items()})
results.update({("360", k): v for k, v in measure("360 view of a customer (HTML)", profiles[:requests]).items()})
bad = {k: v for k, v in results.items() if k[1] not in (200, 303)}
sys.exit(1 if bad else 0)
PY
