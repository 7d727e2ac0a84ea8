-- One customer view: members, activity guests and visitors, their households, consents and contact history.

CREATE TABLE branches (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 120),
    municipality text NOT NULL,
    street text,
    house_number text,
    postcode text,
    city text,
    created_at timestamptz NOT NULL
);

-- Customers at one address. Parents are linked to youth members in household_links.
CREATE TABLE households (
    id uuid PRIMARY KEY,
    postcode text NOT NULL,
    house_number text NOT NULL,
    house_number_addition text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    UNIQUE (postcode, house_number, house_number_addition)
);

CREATE TABLE customers (
    id uuid PRIMARY KEY,
    version integer NOT NULL DEFAULT 1,
    roles text[] NOT NULL CHECK (roles <@ ARRAY['member', 'guest', 'visitor'] AND cardinality(roles) > 0),
    member_number text UNIQUE,
    member_type text CHECK (member_type IN ('youth', 'adult', 'friend', 'nt2', 'library_at_home', 'digital', 'institution', 'other')),
    membership_status text CHECK (membership_status IN ('active', 'ended', 'suspended')),
    membership_start date,
    membership_end date,
    end_reason text,
    subscription_fee_cents integer CHECK (subscription_fee_cents >= 0),
    first_name text,
    infix text,
    last_name text,
    birth_date date,
    email text CHECK (email = lower(email)),
    phone text,
    postcode text CHECK (postcode ~ '^[1-9][0-9]{3} [A-Z]{2}$'),
    house_number text,
    house_number_addition text,
    street text,
    city text,
    municipality text,
    preferred_language text,
    favourite_branch_id uuid REFERENCES branches (id),
    genres text[] NOT NULL DEFAULT '{}',
    tags text[] NOT NULL DEFAULT '{}',
    notes text,
    household_id uuid REFERENCES households (id),
    -- Loan signals, never loan titles (data minimisation).
    last_loan_date date,
    loans_12m integer NOT NULL DEFAULT 0 CHECK (loans_12m >= 0),
    loans_total integer NOT NULL DEFAULT 0 CHECK (loans_total >= 0),
    genre_loans jsonb NOT NULL DEFAULT '{}',
    merged_into uuid REFERENCES customers (id),
    erased_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX customers_email ON customers (email) WHERE email IS NOT NULL;
CREATE INDEX customers_last_name ON customers (lower(last_name) text_pattern_ops);
CREATE INDEX customers_postcode ON customers (postcode);
CREATE INDEX customers_household ON customers (household_id);

CREATE TABLE household_links (
    parent_id uuid NOT NULL REFERENCES customers (id),
    child_id uuid NOT NULL REFERENCES customers (id),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (parent_id, child_id),
    CHECK (parent_id <> child_id)
);

-- Consent history: one row per statement, never updated or deleted (proof). The current state of a topic
-- is its latest row.
CREATE TABLE consents (
    id bigserial PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id),
    topic text NOT NULL CHECK (topic ~ '^[a-z0-9][a-z0-9:._-]{0,79}$'),
    status text NOT NULL CHECK (status IN ('opted_in', 'confirmed', 'withdrawn')),
    recorded_at timestamptz NOT NULL,
    source text NOT NULL CHECK (source IN ('import', 'staff', 'web_form', 'merge')),
    staff_user_id uuid,
    api_key_id text,
    -- Web form evidence (client address, form URL); cleared on erasure.
    evidence jsonb NOT NULL DEFAULT '{}',
    text_version text,
    confirmed_at timestamptz,
    withdrawn_at timestamptz,
    -- Youth under 16: the parent or guardian who gave consent.
    given_by_parent_id uuid REFERENCES customers (id)
);
CREATE INDEX consents_customer_topic ON consents (customer_id, topic, recorded_at DESC, id DESC);

-- The timeline: contact moments by staff and events written by the system.
CREATE TABLE contact_moments (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id),
    kind text NOT NULL CHECK (kind IN ('contact', 'system')),
    channel text CHECK (channel IN ('desk', 'phone', 'email', 'web', 'letter', 'event')),
    direction text CHECK (direction IN ('inbound', 'outbound')),
    event text,
    subject text,
    body text,
    staff_user_id uuid,
    occurred_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX contact_moments_customer ON contact_moments (customer_id, occurred_at DESC, id);

-- Hashed e-mail addresses that must never be mailed again (erased customers, later unsubscribes and bounces).
CREATE TABLE suppressions (
    email_sha256 bytea PRIMARY KEY,
    reason text NOT NULL,
    created_at timestamptz NOT NULL
);

GRANT SELECT, INSERT, UPDATE ON branches, households, customers TO ${tenant_role};
-- An address left without customers (after an erasure) is removed.
GRANT DELETE ON households TO ${tenant_role};
GRANT SELECT, INSERT, DELETE ON household_links TO ${tenant_role};
-- Consent rows are evidence: the only change ever made to one is clearing web-form evidence on erasure.
GRANT SELECT, INSERT ON consents TO ${tenant_role};
GRANT UPDATE (evidence, customer_id) ON consents TO ${tenant_role};
GRANT SELECT, INSERT, UPDATE ON contact_moments TO ${tenant_role};
GRANT SELECT, INSERT ON suppressions TO ${tenant_role};
