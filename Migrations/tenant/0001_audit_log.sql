-- Who read or changed which personal data in this library. Append-only for the tenant role.
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    actor_user_id uuid,
    actor_api_key_id text,
    action text NOT NULL,
    subject_type text NOT NULL,
    subject_id text,
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id, at);

GRANT SELECT, INSERT ON audit_log TO ${tenant_role};
