-- Browser sessions of the staff web app. Each one belongs to a session family (refresh_token_families), so logging out,
-- "sign out everywhere", a disabled account or a suspended library end it exactly as they end an API session.
-- The cookie holds a random id; only its SHA-256 is stored. A row without a family is a sign-in half done: the password
-- was right and the second factor (or its enrolment) is still to come.
CREATE TABLE platform.browser_sessions (
    id_hash bytea PRIMARY KEY,
    family_id uuid REFERENCES platform.refresh_token_families (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES platform.users (id),
    tenant_id uuid REFERENCES platform.tenants (id),
    -- The form token: every POST carries it.
    csrf_token text NOT NULL,
    -- A half-done sign-in: 'second_factor' (code to enter) or 'enrol' (two-factor required, not yet set up).
    pending text CHECK (pending IN ('second_factor', 'enrol')),
    -- The secret offered during enrolment, until the first code confirms it.
    pending_secret text,
    failed_codes int NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    -- Idle minutes after which the session ends (the library's setting when it started).
    idle_minutes int NOT NULL CHECK (idle_minutes BETWEEN 1 AND 1440),
    CHECK ((pending IS NULL) = (family_id IS NOT NULL))
);
CREATE INDEX browser_sessions_family ON platform.browser_sessions (family_id);
CREATE INDEX browser_sessions_last_seen ON platform.browser_sessions (last_seen_at);

-- Two-factor sign-in with a time-based code (RFC 6238). The secret is what the authenticator app holds; the last used
-- time step stops a code from being used twice.
ALTER TABLE platform.users
    ADD COLUMN totp_secret text,
    ADD COLUMN totp_enabled_at timestamptz,
    ADD COLUMN totp_last_step bigint;

-- Ten one-time recovery codes per user, stored as SHA-256 (they are random, 50 bits each).
CREATE TABLE platform.recovery_codes (
    user_id uuid NOT NULL REFERENCES platform.users (id),
    code_hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON platform.browser_sessions, platform.recovery_codes TO kring_app;
