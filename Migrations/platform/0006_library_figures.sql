-- Each library's figures per day, from aggregates only (the figure catalogue in KringInsight): what a library's trend
-- lines are drawn from, and the only thing of a library that Probiblio's console reads.
CREATE TABLE platform.library_figures (
    tenant_id uuid NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    day date NOT NULL,
    code text NOT NULL CHECK (code ~ '^[a-z0-9_]{1,60}$'),
    -- NULL when the figure has nothing to be computed over (a share of no members).
    value numeric,
    -- How many people the figure is computed over: the console shows a figure over fewer than 10 as "< 10".
    people integer CHECK (people >= 0),
    PRIMARY KEY (tenant_id, code, day)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON platform.library_figures TO kring_app;

-- What the console may read of the platform's own records about libraries: the events on a library as a whole.
CREATE VIEW platform.tenant_events AS
    SELECT at, tenant_id, actor_user_id, action, coalesce(details ->> 'reason', '') AS reason
    FROM platform.audit_log
    WHERE target_type = 'tenant';

-- Probiblio's console reads as this role: the figures, the libraries' names and statuses, the job queue without its
-- payloads and errors, the migrations, the events on libraries and the Mosaic deliveries; nothing of a library's schema
-- and no personal field. kring_app switches to it for every read of the console (SET LOCAL ROLE), so the database
-- itself refuses anything else.
-- Roles belong to the cluster: another database of the same server may have made it, or be making it right now.
DO $$
BEGIN
    BEGIN
        CREATE ROLE kring_console NOLOGIN NOINHERIT;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        GRANT kring_console TO kring_app;
    EXCEPTION WHEN unique_violation THEN NULL;
    END;
END
$$;
GRANT USAGE ON SCHEMA platform TO kring_console;
GRANT SELECT ON platform.library_figures, platform.schema_migrations, platform.tenant_events TO kring_console;
GRANT SELECT (id, slug, name, status, created_at, updated_at) ON platform.tenants TO kring_console;
GRANT SELECT (id, tenant_id, kind, status, run_at, attempts, locked_until, created_at, finished_at) ON platform.jobs TO kring_console;
GRANT USAGE ON SCHEMA reference TO kring_console;
GRANT SELECT ON reference.mosaic_deliveries TO kring_console;
