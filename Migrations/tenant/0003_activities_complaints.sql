-- Activities with registrations and evaluations, and complaints.

CREATE TABLE activities (
    id uuid PRIMARY KEY,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    category text NOT NULL,
    target_group text,
    branch_id uuid REFERENCES branches (id),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
    capacity integer CHECK (capacity > 0),
    price_cents integer NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX activities_starts_at ON activities (starts_at, id);

CREATE TABLE registrations (
    id uuid PRIMARY KEY,
    activity_id uuid NOT NULL REFERENCES activities (id),
    customer_id uuid NOT NULL REFERENCES customers (id),
    status text NOT NULL CHECK (status IN ('booked', 'attended', 'no_show', 'cancelled', 'waitlisted')),
    price_paid_cents integer NOT NULL DEFAULT 0 CHECK (price_paid_cents >= 0),
    source text NOT NULL CHECK (source IN ('staff', 'ticketing', 'web')),
    registered_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (activity_id, customer_id)
);
CREATE INDEX registrations_customer ON registrations (customer_id, registered_at DESC);

CREATE TABLE evaluations (
    registration_id uuid PRIMARY KEY REFERENCES registrations (id),
    score integer NOT NULL CHECK (score BETWEEN 1 AND 10),
    comment text,
    created_at timestamptz NOT NULL
);

CREATE TABLE complaints (
    id uuid PRIMARY KEY,
    customer_id uuid REFERENCES customers (id),
    channel text NOT NULL CHECK (channel IN ('desk', 'phone', 'email', 'web', 'letter', 'event')),
    category text NOT NULL,
    description text,
    status text NOT NULL CHECK (status IN ('new', 'in_progress', 'resolved')),
    owner_user_id uuid,
    resolution text,
    due_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    resolved_at timestamptz
);
CREATE INDEX complaints_open ON complaints (due_at) WHERE status <> 'resolved';
CREATE INDEX complaints_customer ON complaints (customer_id);

GRANT SELECT, INSERT, UPDATE ON activities, registrations, evaluations, complaints TO ${tenant_role};
-- A duplicate's registration for an activity the survivor also attends is dropped on merge.
GRANT DELETE ON registrations TO ${tenant_role};
