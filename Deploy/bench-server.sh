# Sourced by the page and API benchmarks: a release `kring serve` on a scratch PostgreSQL cluster with one library
# (`bench`, its front desk user balie@bench.example) of generated members. After `kring_bench_serve`, KRING, DATA,
# PG_PORT, HTTP_PORT, PASSWORD and SERVER_PID are set, and everything is removed when the calling script exits.
source "$(dirname "${BASH_SOURCE[0]}")/postgres.sh"

# kring_bench_serve MEMBERS BUILD(1|0) NAME (MEMBERS 0: an empty library, for a benchmark that fills it itself)
kring_bench_serve() {
    local members=$1 build=$2 name=$3
    BUILD_PATH=${KRING_BENCH_BUILD_PATH:-.build-release}
    if [ "$build" = 1 ]; then
        echo "Building a release kring in $BUILD_PATH ..."
        swift build -c release --product kring --build-path "$BUILD_PATH" >/dev/null
    fi
    KRING="$(swift build -c release --build-path "$BUILD_PATH" --show-bin-path)/kring"
    DATA=$(mktemp -d "/tmp/kring-$name.XXXXXX")
    chmod 755 "$DATA"
    PG_PORT=$((50000 + RANDOM % 4000))
    HTTP_PORT=$((43000 + RANDOM % 3000))
    trap kring_bench_stop EXIT
    kring_pg_ensure_installed
    kring_pg_start "$DATA/pg" "$PG_PORT" >/dev/null
    kring_pg_bootstrap "$PG_PORT" >/dev/null
    psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE kring OWNER kring_owner"
    export KRING_DATABASE_URL="postgres://kring_app@127.0.0.1:$PG_PORT/kring?sslmode=disable"
    export KRING_OWNER_DATABASE_URL="postgres://kring_owner@127.0.0.1:$PG_PORT/kring?sslmode=disable"
    export KRING_JWT_KEYS_DIR="$DATA/keys" KRING_LISTEN="127.0.0.1:$HTTP_PORT" KRING_LOG_LEVEL=warning
    "$KRING" jwt-key generate --dir "$KRING_JWT_KEYS_DIR" >/dev/null
    "$KRING" migrate >/dev/null
    PASSWORD=bench-wachtwoord-2026
    printf '%s\n' "$PASSWORD" | "$KRING" tenant create --slug bench --name "Bibliotheek Bench" --admin-email admin@bench.example \
        --admin-name Beheer --password-stdin >/dev/null
    printf '%s\n' "$PASSWORD" | "$KRING" user create --tenant bench --email balie@bench.example --role frontdesk --name Balie --password-stdin >/dev/null
    if [ "$members" -gt 0 ]; then
        echo "Generating $members members ..."
        "$KRING" demo --tenant bench --members "$members" >/dev/null
    fi
    psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d kring -c "ANALYZE" >/dev/null
    "$KRING" serve >"$DATA/serve.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$HTTP_PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done
    curl -sf "http://127.0.0.1:$HTTP_PORT/health/ready" >/dev/null || { echo "the server did not start:" >&2; cat "$DATA/serve.log" >&2; exit 1; }
}

kring_bench_stop() {
    [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    kring_pg_stop "$DATA/pg"
    rm -rf "$DATA"
}
