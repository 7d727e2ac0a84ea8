-- Mails sent per library per minute, counted by the send workers: what the console's health page shows as sends per
-- minute. A count and nothing else; the hourly prune removes rows older than two days.
CREATE TABLE platform.send_counts (
    tenant_id uuid NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    minute timestamptz NOT NULL,
    sent integer NOT NULL CHECK (sent >= 0),
    PRIMARY KEY (tenant_id, minute)
);
-- The console reads the last hour of every library, and the prune the oldest rows.
CREATE INDEX send_counts_minute ON platform.send_counts (minute);
GRANT SELECT, INSERT, UPDATE, DELETE ON platform.send_counts TO kring_app;
GRANT SELECT ON platform.send_counts TO kring_console;
