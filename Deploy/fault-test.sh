#!/usr/bin/env bash
# Fault test: Kring under a database restart and a relay outage, on a scratch cluster, with `kring serve` and
# `kring worker` as they run in production and a slow local SMTP relay (Deploy/smtp-sink.py) that logs each
# message's recipient.
#
# 1. PostgreSQL stops for KRING_FAULT_PG_DOWN seconds (default 70: longer than the minute after which PostgresNIO's
#    pool stops queueing and fails every lease at once) while a campaign is being sent, and is then started again.
#    While it is down every request is answered within a few seconds: /health/ready with 503, an API route with a
#    problem document (application/problem+json, 500 or 503). After it is back the server recovers by itself
#    (/health/ready and the API answer 200 again within 25 s) and the campaign completes: every recipient mailed
#    exactly once, none failed; the scheduler closes it (state `sent`).
# 2. The relay goes down for KRING_FAULT_SMTP_DOWN seconds (default 60) in the middle of a second campaign and comes
#    back on the same port: the sends wait (back-off, not failed) and all go out after it returns, none twice.
#
# Usage: Deploy/fault-test.sh     (KRING_BIN: the kring binary, default .build/debug/kring;
#                                  KRING_FAULT_RECIPIENTS: recipients per campaign, default 400;
#                                  KRING_FAULT_KEEP=1 keeps the scratch folder with the logs)
# Prints PASS/FAIL lines; exits 1 when a check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
source Deploy/postgres.sh

ROOT=$(pwd)
KRING=${KRING_BIN:-$ROOT/.build/debug/kring}
PYTHON=${KRING_TEST_PYTHON:-/usr/bin/python3}
RECIPIENTS=${KRING_FAULT_RECIPIENTS:-400}
PG_DOWN=${KRING_FAULT_PG_DOWN:-70}
SMTP_DOWN=${KRING_FAULT_SMTP_DOWN:-60}
# A request slower than this counts as hanging.
MAX_TIME=5
# Each DATA reply of the relay waits this long, so a campaign lasts long enough for the faults to hit it mid-way.
SINK_DELAY=0.1
SLUG=storing
PASSWORD=fault-wachtwoord-2026

[ -x "$KRING" ] || { echo "fault-test: no kring binary at $KRING (build it, or set KRING_BIN)" >&2; exit 2; }
"$PYTHON" -c 'import aiosmtpd' 2>/dev/null || { echo "fault-test: $PYTHON has no aiosmtpd (apt-get install python3-aiosmtpd)" >&2; exit 2; }
kring_pg_ensure_installed

WORK=$(mktemp -d /tmp/kring-fault.XXXXXX)
chmod 755 "$WORK"  # the postgres user must reach the cluster inside
PG_DIR="$WORK/pg"
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port)
HTTP_PORT=$(free_port)
SMTP_PORT=$(free_port)
BASE="http://127.0.0.1:$HTTP_PORT"
MAILS="$WORK/mails.tsv"   # recipient, Message-ID, campaign: one line per message the relay accepted
: >"$MAILS"

SERVER_PID= WORKER_PID= SINK_PID=
FAILED=0
cleanup() {
    local status=$?
    for pid in $SERVER_PID $WORKER_PID $SINK_PID; do kill "$pid" 2>/dev/null || true; done
    for pid in $SERVER_PID $WORKER_PID $SINK_PID; do wait "$pid" 2>/dev/null || true; done
    kring_pg_stop "$PG_DIR"
    if [ "${KRING_FAULT_KEEP:-0}" = 1 ]; then
        echo "fault-test: logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A step that fails outside the checks (a refused API call, say) says where before the script stops.
set -E
trap 'echo "FAIL fault-test: line $LINENO: $BASH_COMMAND" >&2' ERR

say() { echo "fault-test: $*"; }
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }
elapsed() { echo $(( $(date +%s) - $1 )); }
show_logs() {  # the last warnings and errors of the server and the worker, and the relay's output
    for log in server worker sink; do
        [ -f "$WORK/$log.log" ] || continue
        echo "--- $log: last warnings and errors"
        grep -v ' info \|^READY\|^STOPPED' "$WORK/$log.log" | tail -n "${1:-10}" | cut -c1-400
    done
    [ "${KRING_FAULT_KEEP:-0}" = 1 ] || echo "(KRING_FAULT_KEEP=1 keeps the whole logs)"
}
die() { echo "FAIL $*" >&2; show_logs 30 >&2; exit 1; }  # also from inside $( ... )

# --- a scratch cluster, migrated, with one library, its marketing user and RECIPIENTS subscribers
START=$(date +%s)
kring_pg_start "$PG_DIR" "$PG_PORT"
kring_pg_bootstrap "$PG_PORT"
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE kring OWNER kring_owner"
pg_stop() { kring_pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null; }
pg_start() { kring_pg_start "$PG_DIR" "$PG_PORT"; }
sql() { psql -X -q -tA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d kring -c "SET search_path = t_$SLUG" -c "$1"; }

export KRING_DATABASE_URL="postgres://kring_app@127.0.0.1:$PG_PORT/kring?sslmode=disable"
export KRING_OWNER_DATABASE_URL="postgres://kring_owner@127.0.0.1:$PG_PORT/kring?sslmode=disable"
export KRING_JWT_KEYS_DIR="$WORK/keys"
export KRING_LINK_SECRET_FILE="$WORK/link-secret"
export KRING_LISTEN="127.0.0.1:$HTTP_PORT"
export KRING_PUBLIC_URL="$BASE"
export KRING_ENVIRONMENT=dev
export KRING_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT?tls=none&helo=fault.kring"
# A small worker: two SMTP connections and batches of 20, with the production lease (120 s, KRING_FAULT_LEASE to
# change it): a send left `sending` by a fault is claimed again when it ends, so a mail that went but was not marked
# goes twice before the campaign completes, and the count at the relay shows it.
export KRING_SEND_CONNECTIONS=2 KRING_SEND_BATCH=20
[ -n "${KRING_FAULT_LEASE:-}" ] && export KRING_SEND_LEASE_SECONDS=$KRING_FAULT_LEASE
(umask 077 && head -c 32 /dev/urandom >"$KRING_LINK_SECRET_FILE")
"$KRING" jwt-key generate --dir "$KRING_JWT_KEYS_DIR" >/dev/null
"$KRING" migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; die "kring migrate"; }
printf '%s\n' "$PASSWORD" | "$KRING" tenant create --slug "$SLUG" --name "Bibliotheek Storing" --password-stdin >/dev/null
printf '%s\n' "$PASSWORD" | "$KRING" user create --tenant "$SLUG" --email "marketing@$SLUG.example" --role marketing \
    --name "Marketing" --password-stdin >/dev/null
LIST_ID=$("$PYTHON" -c 'import uuid; print(uuid.uuid4())')
sql "
INSERT INTO branches (id, name, municipality, created_at) VALUES (gen_random_uuid(), 'Centrale Bibliotheek', 'Haarlem', now());
INSERT INTO customers (id, roles, member_number, member_type, membership_status, membership_start, first_name, last_name, email,
                       favourite_branch_id, genres, created_at, updated_at)
SELECT gen_random_uuid(), '{member}', 'F' || n, 'adult', 'active', DATE '2015-01-01' + n, 'Lid' || n, 'Jansen',
       'lid' || n || '@$SLUG.example', (SELECT id FROM branches LIMIT 1), ARRAY['thriller'], now(), now()
FROM generate_series(1, $RECIPIENTS) n;
INSERT INTO lists (id, key, name, consent_text, consent_version, created_at, updated_at)
VALUES ('$LIST_ID', 'nieuwsbrief', 'Nieuwsbrief', 'Ja, stuur mij de nieuwsbrief.', 'v1', now(), now());
INSERT INTO consents (customer_id, topic, status, recorded_at, source, text_version, confirmed_at)
SELECT id, 'list:nieuwsbrief', 'confirmed', now(), 'staff', 'v1', now() FROM customers;
INSERT INTO settings (key, value, updated_at) VALUES ('mail_from_address', '\"nieuws@$SLUG.example\"', now());
" >/dev/null

# --- the relay, the server and the worker
start_sink() {
    "$PYTHON" Deploy/smtp-sink.py --dir "$WORK/sink" --port "$SMTP_PORT" --pipelining --delay "$SINK_DELAY" \
        --recipients-log "$MAILS" >>"$WORK/sink.log" 2>&1 &
    SINK_PID=$!
    for _ in $(seq 1 100); do
        grep -q "READY $SMTP_PORT" "$WORK/sink.log" 2>/dev/null && return 0
        kill -0 "$SINK_PID" 2>/dev/null || break
        sleep 0.1
    done
    die "the SMTP sink did not start on port $SMTP_PORT"
}
stop_sink() {
    kill "$SINK_PID" && wait "$SINK_PID" || true
    SINK_PID=
    # Back to the "READY" check of the next start.
    sed -i "s/READY $SMTP_PORT/STOPPED $SMTP_PORT/" "$WORK/sink.log"
}
start_sink
"$KRING" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
"$KRING" worker >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!
for attempt in $(seq 1 120); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/health/ready")" = 200 ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "kring serve stopped"
    [ "$attempt" -lt 120 ] || die "kring serve not ready after a minute"
    sleep 0.5
done
say "PostgreSQL on 127.0.0.1:$PG_PORT, kring serve on $BASE, worker, relay on 127.0.0.1:$SMTP_PORT; set up in $(elapsed "$START") s"

# --- the API: JSON in and out through Python, so the script needs no jq
json() { "$PYTHON" -c 'import json, sys; v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[k]
print(v)' "$1"; }
api() {  # api METHOD PATH [BODY]: prints the body; fails on a status outside 2xx
    curl -sf --max-time 30 -X "$1" "$BASE$2" -H 'content-type: application/json' ${TOKEN:+-H "authorization: Bearer $TOKEN"} \
        ${3:+-d "$3"}
}
TOKEN=
TOKEN=$(api POST /api/v1/auth/login "{\"email\":\"marketing@$SLUG.example\",\"password\":\"$PASSWORD\",\"tenant\":\"$SLUG\"}" | json access_token)
TEMPLATE_ID=$(api POST /api/v1/templates '{"name":"Storing","subject":"Nieuws","html":"<p>Hallo {{customer.first_name}}</p><p><a href=\"{{unsubscribe_url}}\">Afmelden</a></p>","text":"Hallo {{customer.first_name}}. Afmelden: {{unsubscribe_url}}"}' | json id)

start_campaign() {  # start_campaign NAME: prints the id of a new campaign to the list, started now
    local id recipients
    id=$(api POST /api/v1/campaigns "{\"name\":\"$1\",\"list_id\":\"$LIST_ID\",\"template_id\":\"$TEMPLATE_ID\",\"subject\":\"$1 voor {{customer.first_name}}\"}" | json id)
    recipients=$(api POST "/api/v1/campaigns/$id/schedule" '{}' | json recipients)
    [ "$recipients" = "$RECIPIENTS" ] || die "campaign $1 has $recipients recipients, not $RECIPIENTS"
    echo "$id"
}
mailed() { awk -F'\t' -v c="$1" 'tolower($3) == tolower(c)' "$MAILS" | wc -l; }  # messages the relay took for campaign $1
wait_mailed() {  # wait_mailed CAMPAIGN COUNT TIMEOUT
    local deadline=$(( $(date +%s) + $3 ))
    while [ "$(mailed "$1")" -lt "$2" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "only $(mailed "$1") of $2 mails of campaign $1 arrived within $3 s"
        sleep 0.2
    done
}
stat_of() { api GET "/api/v1/campaigns/$1/stats" | json "$2"; }
wait_settled() {  # wait_settled CAMPAIGN TIMEOUT: until no send is pending or sending; answers 1 on time-out
    local deadline=$(( $(date +%s) + $2 )) pending
    while true; do
        pending=$(stat_of "$1" pending 2>/dev/null || echo "?")
        [ "$pending" = 0 ] && return 0
        [ "$(date +%s)" -lt "$deadline" ] || { show_sessions; return 1; }
        sleep 1
    done
}
# What every session of the database is doing (no query text beyond its first words, never bound values): tells a
# send loop waiting for a pooled connection from one waiting on a lock or left idle inside a transaction.
show_sessions() {
    echo "     database sessions (pid, state, wait, seconds in transaction, statement):"
    psql -X -q -tA -F ' | ' -h 127.0.0.1 -p "$PG_PORT" -U postgres -d kring -c "
        SELECT pid, state, coalesce(wait_event_type || ':' || wait_event, '-'),
               coalesce(round(extract(epoch FROM now() - xact_start))::text, '-'), left(regexp_replace(query, '\s+', ' ', 'g'), 70)
        FROM pg_stat_activity WHERE datname = 'kring' AND pid <> pg_backend_pid() ORDER BY xact_start NULLS LAST" \
        | sed 's/^/     /' || true
}
# Every recipient of the campaign exactly once at the relay: prints the counts and answers 1 otherwise.
check_mails() {  # check_mails CAMPAIGN LABEL
    "$PYTHON" - "$MAILS" "$1" "$RECIPIENTS" "$SLUG" "$2" <<'PY'
import collections, sys
path, campaign, recipients, slug, label = sys.argv[1], sys.argv[2].lower(), int(sys.argv[3]), sys.argv[4], sys.argv[5]
counts = collections.Counter()
ids = collections.Counter()
for line in open(path):
    rcpt, message_id, kind = line.rstrip("\n").split("\t")
    if kind.lower() == campaign:
        counts[rcpt.lower()] += 1
        ids[message_id] += 1
expected = {f"lid{n}@{slug}.example" for n in range(1, recipients + 1)}
missing = sorted(expected - set(counts))
twice = sorted(r for r, c in counts.items() if c > 1)
unexpected = sorted(set(counts) - expected)
line = (f"{label}: {sum(counts.values())} messages for {len(counts)} of {recipients} recipients; "
        f"missing {len(missing)}, more than once {len(twice)} (same Message-ID again: {sum(1 for c in ids.values() if c > 1)}), "
        f"unexpected {len(unexpected)}")
ok = not missing and not twice and not unexpected
print(("PASS " if ok else "FAIL ") + line)
for what, items in (("missing", missing), ("more than once", twice), ("unexpected", unexpected)):
    if items:
        print(f"     {what}: {', '.join(f'{r} x{counts[r]}' for r in items[:10])}{' ...' if len(items) > 10 else ''}")
sys.exit(0 if ok else 1)
PY
}
check_stats() {  # check_stats CAMPAIGN LABEL: sent = RECIPIENTS and nothing failed, suppressed or skipped
    local stats
    stats=$(api GET "/api/v1/campaigns/$1/stats")
    local sent failed suppressed skipped pending
    sent=$(json sent <<<"$stats"); failed=$(json failed <<<"$stats"); pending=$(json pending <<<"$stats")
    suppressed=$(json suppressed <<<"$stats"); skipped=$(json skipped <<<"$stats")
    if [ "$sent" = "$RECIPIENTS" ] && [ "$failed" = 0 ] && [ "$pending" = 0 ] && [ "$suppressed" = 0 ] && [ "$skipped" = 0 ]; then
        pass "$2: Kring counts $sent sent, $failed failed, $pending pending"
    else
        fail "$2: Kring counts $sent sent (of $RECIPIENTS), $failed failed, $pending pending, $suppressed suppressed, $skipped skipped"
        sql "SELECT status, attempts, left(coalesce(last_error, '-'), 120), count(*) FROM sends WHERE campaign_id = '$1' AND status <> 'sent' GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 5" | sed 's/^/     /'
    fi
}
# One request with a deadline: prints "STATUS|CONTENT-TYPE|SECONDS" (status 000 when it timed out).
probe() {  # probe PATH [TOKEN]
    local out
    out=$(curl -s -o /dev/null -w '%{http_code}|%{content_type}|%{time_total}' --max-time "$MAX_TIME" \
        ${2:+-H "authorization: Bearer $2"} "$BASE$1") || true
    echo "${out:-000||$MAX_TIME}"
}

# === 1. PostgreSQL goes down while the server answers and the worker sends a campaign ===
say "scenario 1: PostgreSQL down for $PG_DOWN s in the middle of a campaign of $RECIPIENTS recipients"
S1=$(date +%s)
CAMPAIGN1=$(start_campaign "Herstart")
wait_mailed "$CAMPAIGN1" $((RECIPIENTS / 5)) 120
BEFORE=$(mailed "$CAMPAIGN1")
pg_stop
DOWN_AT=$(date +%s)
say "PostgreSQL stopped after $BEFORE of $RECIPIENTS mails"
READY_PROBES=0 READY_OK=0 API_PROBES=0 API_OK=0 SLOWEST=0
BAD=()
while [ $(( $(date +%s) - DOWN_AT )) -lt "$PG_DOWN" ]; do
    IFS='|' read -r code type seconds <<<"$(probe /health/ready)"
    READY_PROBES=$((READY_PROBES + 1))
    if [ "$code" = 503 ]; then READY_OK=$((READY_OK + 1)); else BAD+=("/health/ready: $code $type ${seconds}s"); fi
    SLOWEST=$("$PYTHON" -c "print(max($SLOWEST, $seconds))")
    IFS='|' read -r code type seconds <<<"$(probe "/api/v1/campaigns/$CAMPAIGN1/stats" "$TOKEN")"
    API_PROBES=$((API_PROBES + 1))
    if { [ "$code" = 503 ] || [ "$code" = 500 ]; } && [ "$type" = application/problem+json ]; then
        API_OK=$((API_OK + 1))
    else
        BAD+=("GET /api/v1/campaigns/{id}/stats: $code $type ${seconds}s")
    fi
    SLOWEST=$("$PYTHON" -c "print(max($SLOWEST, $seconds))")
    sleep 0.5
done
DURING=$(( $(mailed "$CAMPAIGN1") - BEFORE ))
pg_start
UP_AT=$(date +%s)
say "PostgreSQL started again after $((UP_AT - DOWN_AT)) s; the relay took $DURING mails meanwhile"
if [ "$READY_OK" -eq "$READY_PROBES" ]; then
    pass "database down: /health/ready answered 503 to $READY_OK of $READY_PROBES requests"
else
    fail "database down: /health/ready answered 503 to $READY_OK of $READY_PROBES requests"
fi
if [ "$API_OK" -eq "$API_PROBES" ]; then
    pass "database down: the API answered a problem document (500/503) to $API_OK of $API_PROBES requests"
else
    fail "database down: the API answered a problem document (500/503) to $API_OK of $API_PROBES requests"
fi
if "$PYTHON" -c "import sys; sys.exit(0 if $SLOWEST < $MAX_TIME else 1)"; then
    pass "database down: every request answered, the slowest in ${SLOWEST}s (limit ${MAX_TIME}s)"
else
    fail "database down: some request took ${SLOWEST}s or hung (limit ${MAX_TIME}s)"
fi
for bad in "${BAD[@]:0:6}"; do echo "     $bad"; done

# Recovery: both answer 200 again by themselves.
RECOVERED=
while [ $(( $(date +%s) - UP_AT )) -lt 60 ]; do
    IFS='|' read -r ready _ <<<"$(probe /health/ready)"
    IFS='|' read -r apicode _ <<<"$(probe "/api/v1/campaigns/$CAMPAIGN1/stats" "$TOKEN")"
    if [ "$ready" = 200 ] && [ "$apicode" = 200 ]; then RECOVERED=$(elapsed "$UP_AT"); break; fi
    sleep 0.5
done
# PostgresNIO's pool tries a new connection after a back-off that grows by 1.25 each failed attempt (capped at a
# minute, not configurable): after 70 s down its next try comes about 14 s after the database is back.
if [ -n "$RECOVERED" ] && [ "$RECOVERED" -le 25 ]; then
    pass "database back: /health/ready and the API answer 200 again after ${RECOVERED}s"
else
    fail "database back: /health/ready ($ready) and the API ($apicode) not both 200 within ${RECOVERED:-60}s (limit 25 s)"
fi

if wait_settled "$CAMPAIGN1" 180; then
    say "campaign 1 settled $(elapsed "$UP_AT") s after PostgreSQL came back"
else
    fail "campaign 1: sends still pending 180 s after PostgreSQL came back"
fi
check_mails "$CAMPAIGN1" "database restart" || FAILED=1
check_stats "$CAMPAIGN1" "database restart"
say "scenario 1 took $(elapsed "$S1") s"

# === 2. The relay goes down for a minute in the middle of a campaign ===
say "scenario 2: the relay down for $SMTP_DOWN s in the middle of a campaign of $RECIPIENTS recipients"
S2=$(date +%s)
CAMPAIGN2=$(start_campaign "Relay")
wait_mailed "$CAMPAIGN2" $((RECIPIENTS / 5)) 120
stop_sink
DOWN_AT=$(date +%s)
BEFORE=$(mailed "$CAMPAIGN2")
say "relay stopped after $BEFORE of $RECIPIENTS mails"
sleep $((SMTP_DOWN / 2))
# Meanwhile nothing gave up: the sends wait for a retry.
FAILED_MEANWHILE=$(stat_of "$CAMPAIGN2" failed)
WAITING=$(sql "SELECT count(*) || ' wait for a retry in ' || coalesce(round(extract(epoch FROM min(due_at) - now()))::text, '?') || ' to '
                      || coalesce(round(extract(epoch FROM max(due_at) - now()))::text, '?') || ' s'
               FROM sends WHERE campaign_id = '$CAMPAIGN2' AND status = 'pending' AND last_error IS NOT NULL")
if [ "$FAILED_MEANWHILE" = 0 ]; then
    pass "relay down: no send failed; $WAITING after a failed attempt"
else
    fail "relay down: $FAILED_MEANWHILE sends failed for good while the relay was down ($WAITING wait for a retry)"
fi
sleep $((SMTP_DOWN - SMTP_DOWN / 2))
start_sink
UP_AT=$(date +%s)
say "relay back after $((UP_AT - DOWN_AT)) s"
if wait_settled "$CAMPAIGN2" 300; then
    say "campaign 2 settled $(elapsed "$UP_AT") s after the relay came back"
else
    fail "campaign 2: sends still pending 300 s after the relay came back"
fi
check_mails "$CAMPAIGN2" "relay outage" || FAILED=1
check_stats "$CAMPAIGN2" "relay outage"
say "attempts per send of campaign 2 (attempts: sends): $(sql "SELECT string_agg(attempts || ': ' || n, ', ' ORDER BY attempts) FROM (SELECT attempts, count(*) n FROM sends WHERE campaign_id = '$CAMPAIGN2' GROUP BY 1) a")"
say "scenario 2 took $(elapsed "$S2") s"

# The scheduler (a job every minute, which ran through the restart) closed the first campaign meanwhile.
deadline=$(( $(date +%s) + 90 ))
while state=$(api GET "/api/v1/campaigns/$CAMPAIGN1" | json state) && [ "$state" != sent ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 2
done
[ "$state" = sent ] && pass "database restart: the scheduler closed the campaign (state sent)" \
    || fail "database restart: the campaign is ${state:-unreadable}, not sent, minutes after its last send"

# Both processes lived through it all.
kill -0 "$SERVER_PID" 2>/dev/null && kill -0 "$WORKER_PID" 2>/dev/null \
    && pass "kring serve and kring worker still run" || fail "kring serve or kring worker stopped"
say "done in $(elapsed "$START") s"
if [ "$FAILED" -ne 0 ]; then
    show_logs 15
    exit 1
fi
