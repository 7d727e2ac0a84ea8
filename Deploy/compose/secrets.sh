#!/bin/sh
# Writes the secrets Deploy/compose.yaml reads from files, once: database passwords, the link secret (32 random bytes
# that sign the links in mails) and the demo staff password. Existing files are kept.
set -eu
dir="$(dirname "$0")/../secrets"
mkdir -p "$dir"
umask 077
secret() { [ -s "$dir/$1" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/$1"; }
secret postgres_password
secret kring_owner_password
secret kring_app_password
secret demo_password
[ -s "$dir/link_secret" ] || head -c 32 /dev/urandom > "$dir/link_secret"
# The containers run as uid 10001 (Kring) and 999 (PostgreSQL); compose mounts these files read-only.
chmod 0444 "$dir"/*
echo "secrets in $dir; the demo staff password is in $dir/demo_password"
