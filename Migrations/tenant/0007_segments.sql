-- Segments: saved rule trees (all / any / not over conditions) that select customers, with every version kept.

CREATE TABLE segments (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- b2c selects customers; b2b (contacts at organisations) is reserved for business-relation segments.
    subject text NOT NULL CHECK (subject IN ('b2c', 'b2b')),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    rule jsonb NOT NULL,
    -- A staff user (platform.users); no foreign key, a tenant schema stays movable as a unit.
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Every version of a segment as it was saved; a campaign can name the version it was sent to.
CREATE TABLE segment_versions (
    segment_id uuid NOT NULL REFERENCES segments (id),
    version integer NOT NULL,
    name text NOT NULL,
    rule jsonb NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (segment_id, version)
);

-- What happened to a campaign mail per customer: sent, opened, clicked. Segments select on it ("opened the last
-- newsletter"); the mail module fills it. Kept minimal here: the campaigns table itself belongs to that module,
-- so campaign_id has no foreign key yet.
CREATE TABLE campaign_events (
    id bigserial PRIMARY KEY,
    campaign_id uuid NOT NULL,
    customer_id uuid NOT NULL REFERENCES customers (id),
    kind text NOT NULL CHECK (kind IN ('sent', 'opened', 'clicked')),
    at timestamptz NOT NULL
);
CREATE INDEX campaign_events_customer ON campaign_events (customer_id, kind, at);

-- Segment conditions on a customer's branch and membership: the benchmark rule (adults in two branches, active)
-- picks a few percent of a million customers; without this index each count reads the whole table.
CREATE INDEX customers_branch_status ON customers (favourite_branch_id, membership_status, member_type);
-- "Registered for / attended an activity": registrations are found per activity (few in a time window), then
-- their customers; registrations_customer serves the other direction.
CREATE INDEX registrations_activity_status ON registrations (activity_id, status, customer_id);

GRANT SELECT, INSERT, UPDATE ON segments TO ${tenant_role};
-- Versions are history: never changed.
GRANT SELECT, INSERT ON segment_versions TO ${tenant_role};
GRANT SELECT, INSERT ON campaign_events TO ${tenant_role};
