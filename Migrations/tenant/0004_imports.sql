-- Imports of library-system and ticketing exports: the uploaded file (kept only until the import ran),
-- progress and the report.
CREATE TABLE imports (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('members')),
    status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    dry_run boolean NOT NULL,
    mark_missing_ended boolean NOT NULL,
    mapping jsonb,
    file bytea,
    file_bytes integer NOT NULL,
    rows_total integer,
    rows_done integer NOT NULL DEFAULT 0,
    report jsonb,
    error text,
    created_by_user_id uuid,
    created_by_api_key_id text,
    created_at timestamptz NOT NULL,
    started_at timestamptz,
    finished_at timestamptz
);

GRANT SELECT, INSERT, UPDATE ON imports TO ${tenant_role};
