-- Run once per cluster as a superuser: the two login roles Kring uses.
--   kring_owner: owns the database and the platform schema, runs migrations and creates tenant roles.
--   kring_app:   the server and worker. NOINHERIT: it holds a tenant's privileges only after
--                set_config('role', ...) inside a transaction, and its empty search_path fails closed.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kring_owner') THEN
        CREATE ROLE kring_owner LOGIN CREATEROLE CREATEDB;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kring_app') THEN
        CREATE ROLE kring_app LOGIN NOINHERIT;
    END IF;
END
$$;
ALTER ROLE kring_app SET search_path = '';
