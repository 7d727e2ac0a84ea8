# Sourced by dev.sh and test.sh: install PostgreSQL 15 if missing and run a private cluster.
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system user.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

kring_apt_install() {
    # kring_apt_install PACKAGE... : installs what is missing (root only; others are told what to install).
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "Please install: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
        return 1
    fi
    echo "Installing ${missing[*]} ..."
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

kring_pg_ensure_installed() {
    if [ ! -x "$PG_BIN/initdb" ]; then
        kring_apt_install postgresql-15 postgresql-client-15 || return 1
    fi
    command -v psql >/dev/null || kring_apt_install postgresql-client-15
}

# Runs a command as the cluster's owner.
kring_pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# kring_pg_start DIR PORT: initialise (once) and start a cluster in DIR, listening on 127.0.0.1:PORT
# and on a Unix socket in DIR. Tuned for throwaway data: no fsync.
kring_pg_start() {
    local dir=$1 port=$2
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" --shell /usr/sbin/nologin postgres
        chown -R postgres: "$dir"
        chmod 700 "$dir"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        kring_pg_as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; return 1; }
    fi
    if kring_pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        return 0
    fi
    kring_pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB" \
        start >/dev/null || { tail -20 "$dir/postgres.log" >&2; return 1; }
}

kring_pg_stop() {
    local dir=$1
    kring_pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# kring_pg_bootstrap PORT: the login roles kring_owner and kring_app (Deploy/bootstrap.sql).
kring_pg_bootstrap() {
    local port=$1 here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -f "$here/bootstrap.sql" >/dev/null
}
