#!/bin/sh
# PostgreSQL's first start (docker-entrypoint-initdb.d): Kring's two login roles with their passwords from the
# compose secrets, and the database, owned by kring_owner.
set -eu
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -f /kring/bootstrap.sql
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres \
    -v owner_password="$(cat /run/secrets/kring_owner_password)" -v app_password="$(cat /run/secrets/kring_app_password)" <<'SQL'
ALTER ROLE kring_owner PASSWORD :'owner_password';
ALTER ROLE kring_app PASSWORD :'app_password';
CREATE DATABASE kring OWNER kring_owner;
SQL
