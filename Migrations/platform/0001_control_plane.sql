-- The control plane: tenants, staff, credentials, audit and the job queue.
-- Owned by kring_owner; the application role kring_app gets row privileges only.

CREATE TABLE platform.tenants (
    id uuid PRIMARY KEY,
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z][a-z0-9-]{1,38}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    settings jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE platform.users (
    id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (email = lower(email)),
    display_name text NOT NULL DEFAULT '',
    -- NULL until the user sets a password (an invited user cannot log in yet).
    password_hash text,
    disabled_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE platform.platform_admins (
    user_id uuid PRIMARY KEY REFERENCES platform.users (id),
    created_at timestamptz NOT NULL
);

CREATE TABLE platform.memberships (
    user_id uuid NOT NULL REFERENCES platform.users (id),
    tenant_id uuid NOT NULL REFERENCES platform.tenants (id),
    role text NOT NULL CHECK (role IN ('tenant_admin', 'marketing', 'relations', 'frontdesk', 'analyst')),
    disabled_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, tenant_id)
);
CREATE INDEX memberships_tenant ON platform.memberships (tenant_id);

-- One family per login; its id is the access token's `sid`. A reused refresh token revokes the family.
CREATE TABLE platform.refresh_token_families (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES platform.users (id),
    tenant_id uuid REFERENCES platform.tenants (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoke_reason text
);
CREATE INDEX refresh_token_families_user ON platform.refresh_token_families (user_id);

CREATE TABLE platform.refresh_tokens (
    token_hash bytea PRIMARY KEY,
    family_id uuid NOT NULL REFERENCES platform.refresh_token_families (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX refresh_tokens_family ON platform.refresh_tokens (family_id);

-- One-time links with which an invited user sets a password. Only the SHA-256 of the token is kept.
CREATE TABLE platform.password_setup_tokens (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES platform.users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

CREATE TABLE platform.api_keys (
    id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
    tenant_id uuid NOT NULL REFERENCES platform.tenants (id),
    environment text NOT NULL CHECK (environment ~ '^[a-z]{2,12}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    scopes text[] NOT NULL,
    secret_hash bytea NOT NULL,
    created_by uuid REFERENCES platform.users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_keys_tenant ON platform.api_keys (tenant_id, created_at);

-- Failed-login counters per account and per client address. Keys are hashes: no e-mail address is stored here.
CREATE TABLE platform.login_throttle (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    last_failure_at timestamptz NOT NULL,
    locked_until timestamptz
);

CREATE TABLE platform.audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    tenant_id uuid,
    actor_user_id uuid,
    actor_api_key_id text,
    action text NOT NULL,
    target_type text,
    target_id text,
    ip text,
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant_at ON platform.audit_log (tenant_id, at);
CREATE INDEX audit_log_action_at ON platform.audit_log (action, at);

CREATE TABLE platform.jobs (
    id bigserial PRIMARY KEY,
    tenant_id uuid REFERENCES platform.tenants (id),
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'done', 'failed')),
    run_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    last_error text,
    locked_until timestamptz,
    locked_by text,
    created_at timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE INDEX jobs_runnable ON platform.jobs (run_at) WHERE status = 'queued';

GRANT USAGE ON SCHEMA platform TO kring_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    platform.tenants, platform.users, platform.platform_admins, platform.memberships,
    platform.refresh_token_families, platform.refresh_tokens, platform.password_setup_tokens, platform.api_keys,
    platform.login_throttle, platform.jobs
    TO kring_app;
GRANT SELECT ON platform.schema_migrations TO kring_app;
-- Append-only: the application may add and read audit events, never change or remove them.
GRANT SELECT, INSERT ON platform.audit_log TO kring_app;
GRANT USAGE ON SEQUENCE platform.audit_log_id_seq, platform.jobs_id_seq TO kring_app;
