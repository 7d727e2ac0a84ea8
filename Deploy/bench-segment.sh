#!/usr/bin/env bash
# The segment builder's count as the builder asks for it. A release `kring serve` on a scratch cluster with one
# library of N generated customers (the generator of `kring bench segment`, which also times the count's SQL), a
# marketing user signed in to the API, and the benchmark's seven-condition rule posted to
# POST /api/v1/segments/preview again and again, one request after the other as one person building: every answer
# must be 200 with the SQL's count and the sample of 20. Prints p50, p95 and the slowest over all requests, as the
# client measured them.
#
#   Deploy/bench-segment.sh [--customers N] [--requests R] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
source Deploy/bench-server.sh
CUSTOMERS=68000
REQUESTS=60
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --customers) CUSTOMERS=$2; shift 2 ;;
        --requests) REQUESTS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        *) echo "usage: Deploy/bench-segment.sh [--customers N] [--requests R] [--no-build]" >&2; exit 2 ;;
    esac
done
kring_bench_serve 0 $BUILD bench-segment
printf '%s\n' "$PASSWORD" | "$KRING" user create --tenant bench --email marketing@bench.example --role marketing --name Marketing \
    --password-stdin >/dev/null
"$KRING" bench segment --tenant bench --customers "$CUSTOMERS" --runs 9 --rule-file "$DATA/rule.json" | grep -v '^compiled SQL' | tee "$DATA/sql.txt"
COUNT=$(awk '/^count: / { print $2 }' "$DATA/sql.txt")
TOKEN=$(curl -sf "http://127.0.0.1:$HTTP_PORT/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"marketing@bench.example\",\"password\":\"$PASSWORD\",\"tenant\":\"bench\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
echo "bench segment route: a release build, $CUSTOMERS customers, $REQUESTS requests one after another ($(nproc) cores)"
URL="http://127.0.0.1:$HTTP_PORT/api/v1/segments/preview" TOKEN="$TOKEN" RULE="$DATA/rule.json" REQUESTS="$REQUESTS" COUNT="$COUNT" python3 - <<'PY'
import json, math, os, sys, time, urllib.request
url, token, requests, expected = os.environ["URL"], os.environ["TOKEN"], int(os.environ["REQUESTS"]), int(os.environ["COUNT"])
body = json.dumps({"rule": json.load(open(os.environ["RULE"]))}).encode()
def post():
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
        status = response.status
    return time.perf_counter() - start, status, answer
for _ in range(3):
    post()  # warm up: the first requests prepare the server's connections
times, failures = [], 0
for _ in range(requests):
    elapsed, status, answer = post()
    times.append(elapsed * 1000)
    if status != 200 or answer.get("count") != expected or len(answer.get("sample") or []) != min(20, expected):
        failures += 1
times.sort()
def percentile(p):
    return times[max(0, math.ceil(p / 100 * len(times)) - 1)]  # nearest rank
print(f"preview route: {requests} requests, all answered: p50 {percentile(50):.1f} ms, p95 {percentile(95):.1f} ms, "
      f"slowest {times[-1]:.1f} ms; count {expected} with a sample of {min(20, expected)}; {failures} wrong or failed")
sys.exit(1 if failures else 0)
PY
