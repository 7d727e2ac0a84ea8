#!/usr/bin/env bash
# Measures the JSON API under load: a release `kring serve` on a scratch PostgreSQL cluster with one demo library
# (3,000 generated members, as each demo library of Deploy/dev.sh), driven by wrk on the same machine.
# Usage: Deploy/bench-api.sh [--members N] [--seconds S] [--no-build] [--profile DIR [--profile-run RUN]]
# --profile DIR records the server and PostgreSQL with perf during one run (reports in DIR): by default the 360 view
# at 10 connections; --profile-run names another as "<run> <connections>", e.g. "customer search 10".
# Prints, per route and connection count: requests/s, p50 and p99 latency, errors (non-2xx, socket errors) and the
# server's peak resident memory during that run, over every request wrk completed; then checks that every 360 read
# was audited. Exits 1 when a run had errors or a read went unaudited.
set -euo pipefail
cd "$(dirname "$0")/.."
source Deploy/bench-server.sh
MEMBERS=3000
SECONDS_PER_RUN=15
BUILD=1
PROFILE=
PROFILE_RUN="360 view 10"
while [ $# -gt 0 ]; do
    case "$1" in
        --members) MEMBERS=$2; shift 2 ;;
        --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --profile) PROFILE=$2; shift 2 ;;
        --profile-run) PROFILE_RUN=$2; shift 2 ;;
        *) echo "usage: Deploy/bench-api.sh [--members N] [--seconds S] [--no-build] [--profile DIR [--profile-run RUN]]" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "bench api needs wrk (apt-get install wrk)" >&2; exit 2; }
kring_bench_serve "$MEMBERS" $BUILD bench-api

TOKEN=$(curl -sf "http://127.0.0.1:$HTTP_PORT/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"balie@bench.example\",\"password\":\"$PASSWORD\",\"tenant\":\"bench\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

# The paths wrk cycles through: customers to open, and searches as the counter types them (member numbers,
# last-name starts, postcodes of real rows).
psql -At -h 127.0.0.1 -p "$PG_PORT" -U kring_owner -d kring -c "
    SELECT '/api/v1/customers/' || id FROM t_bench.customers WHERE merged_into IS NULL ORDER BY random() LIMIT 1000" >"$DATA/profiles"
psql -At -h 127.0.0.1 -p "$PG_PORT" -U kring_owner -d kring -c "
    (SELECT member_number FROM t_bench.customers WHERE member_number IS NOT NULL ORDER BY random() LIMIT 500)
    UNION ALL (SELECT left(last_name, 4) FROM t_bench.customers WHERE last_name IS NOT NULL ORDER BY random() LIMIT 250)
    UNION ALL (SELECT postcode FROM t_bench.customers WHERE postcode IS NOT NULL ORDER BY random() LIMIT 250)" |
    python3 -c 'import sys, urllib.parse
for line in sys.stdin: print("/api/v1/customers?q=" + urllib.parse.quote(line.rstrip("\n")))' >"$DATA/searches"
echo "/health/live" >"$DATA/live"

cat >"$DATA/paths.lua" <<'LUA'
-- Cycles through the paths in the file named by PATHS, with the bearer token in TOKEN; prints one result line.
local paths, i = {}, 0
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
function init(args) i = math.random(#paths) end
function request()
    i = i % #paths + 1
    return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT %d %.3f %.3f %.3f %d %d\n", summary.requests, summary.duration / 1e6,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
LUA

audited() {
    psql -At -h 127.0.0.1 -p "$PG_PORT" -U kring_owner -d kring -c "SELECT count(*) FROM t_bench.audit_log WHERE action = 'customer.read'"
}
FAILED=0
READS=0
run() {  # name, paths file, connections, seconds
    local name=$1 file=$2 connections=$3 seconds=$4
    echo 5 >"/proc/$SERVER_PID/clear_refs"  # resets the peak resident size (VmHWM) for this run
    local perf_pid=
    if [ -n "$PROFILE" ] && [ "$name $connections" = "$PROFILE_RUN" ]; then
        mkdir -p "$PROFILE"
        perf record -q -g -a -o "$PROFILE/perf.data" -- sleep "$seconds" >/dev/null 2>&1 &
        perf_pid=$!
        top -b -d "$seconds" -n 2 >"$PROFILE/top.txt" &
    fi
    local out
    out=$(PATHS="$file" TOKEN="$TOKEN" wrk -t2 -c"$connections" -d"${seconds}s" --timeout 10s -s "$DATA/paths.lua" \
        "http://127.0.0.1:$HTTP_PORT" | grep '^RESULT')
    local peak
    peak=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status")
    if [ -n "$perf_pid" ]; then
        wait "$perf_pid" || true
        perf report -i "$PROFILE/perf.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null >"$PROFILE/by-process.txt" || true
        perf report -i "$PROFILE/perf.data" --pid "$SERVER_PID" --no-children --sort comm,symbol --stdio -g none 2>/dev/null >"$PROFILE/server.txt" || true
        perf report -i "$PROFILE/perf.data" --comm postgres --no-children --sort symbol --stdio -g none 2>/dev/null >"$PROFILE/postgres.txt" || true
    fi
    read -r _ requests duration p50 p99 non2xx socket <<<"$out"
    printf '%-22s %4d connections: %7.0f requests/s over all %d requests in %.1f s; p50 %6.1f ms, p99 %6.1f ms; ' \
        "$name" "$connections" "$(awk -v r="$requests" -v d="$duration" 'BEGIN { print r / d }')" "$requests" "$duration" "$p50" "$p99"
    printf 'errors: %d non-2xx, %d socket; server peak memory %s MiB\n' "$non2xx" "$socket" "$peak"
    if [ "$non2xx" != 0 ] || [ "$socket" != 0 ]; then FAILED=1; fi
    if [ "$name" = "360 view" ]; then READS=$((READS + requests)); fi
}

echo "bench api: a release build, $MEMBERS generated members, wrk with 2 threads on this machine ($(nproc) cores), ${SECONDS_PER_RUN} s per run"
PATHS="$DATA/profiles" TOKEN="$TOKEN" wrk -t2 -c10 -d3s -s "$DATA/paths.lua" "http://127.0.0.1:$HTTP_PORT" >/dev/null  # warm up
BEFORE=$(audited)
run "/health/live" "$DATA/live" 50 "$SECONDS_PER_RUN"
run "360 view" "$DATA/profiles" 10 "$SECONDS_PER_RUN"
run "360 view" "$DATA/profiles" 200 "$SECONDS_PER_RUN"
run "customer search" "$DATA/searches" 10 "$SECONDS_PER_RUN"
run "customer search" "$DATA/searches" 200 "$SECONDS_PER_RUN"
sleep 1  # requests wrk gave up on at the end of a run may still be finishing
AUDITED=$(( $(audited) - BEFORE ))
# wrk counts the requests it completed; ones still in flight when a run ended may be served (and audited) after.
if [ "$AUDITED" -ge "$READS" ] && [ "$AUDITED" -le $((READS + 210 * 2)) ]; then
    echo "audit: $AUDITED customer.read records for $READS completed 360 reads (every read audited)"
else
    echo "audit: $AUDITED customer.read records for $READS completed 360 reads: MISMATCH"
    FAILED=1
fi
exit $FAILED
