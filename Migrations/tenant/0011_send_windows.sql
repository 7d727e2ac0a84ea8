-- The library's mail rate (settings mail_rate_per_minute) is shared by every worker: each claim of sends counts
-- into the current minute's window, under a row lock.
CREATE TABLE send_windows (
    minute timestamptz PRIMARY KEY,
    claimed integer NOT NULL DEFAULT 0 CHECK (claimed >= 0)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON send_windows TO ${tenant_role};
