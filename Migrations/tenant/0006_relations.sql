-- Business relations (B2B): organisations, the people there and their roles in the decision-making unit,
-- contact history (interactions), tasks and reminders, orders and subscriptions, agreements.

-- Organisation types: the built-in ones below, plus a library's own.
CREATE TABLE organisation_types (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    built_in boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);
INSERT INTO organisation_types (code, name, built_in, created_at) VALUES
    ('municipality', 'Gemeente', true, now()),
    ('primary_school', 'Basisschool', true, now()),
    ('secondary_school', 'Voortgezet onderwijs', true, now()),
    ('childcare', 'Kinderopvang', true, now()),
    ('partner', 'Partner', true, now()),
    ('fund', 'Fonds', true, now()),
    ('friend_sponsor', 'Vriend of sponsor', true, now()),
    ('referrer', 'Verwijzer', true, now()),
    ('other', 'Overig', true, now());

CREATE TABLE organisations (
    id uuid PRIMARY KEY,
    version integer NOT NULL DEFAULT 1,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    type text NOT NULL REFERENCES organisation_types (code),
    status text NOT NULL CHECK (status IN ('prospect', 'active', 'former')),
    -- A school board above its schools; a municipality above its departments.
    parent_id uuid REFERENCES organisations (id),
    street text,
    house_number text,
    postcode text CHECK (postcode ~ '^[1-9][0-9]{3} [A-Z]{2}$'),
    city text,
    municipality text,
    website text,
    -- A staff user (platform.users); no foreign key, a tenant schema stays movable as a unit.
    account_owner_user_id uuid,
    tags text[] NOT NULL DEFAULT '{}',
    notes text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (parent_id <> id)
);
-- Name and postcode identify an organisation (the import deduplicates on them).
CREATE UNIQUE INDEX organisations_name_postcode ON organisations (lower(name), coalesce(postcode, ''));
CREATE INDEX organisations_parent ON organisations (parent_id);
CREATE INDEX organisations_account_owner ON organisations (account_owner_user_id);

-- A person; what they do at which organisation is in contact_roles, so one person can hold roles at
-- several organisations and a move keeps the history of both.
CREATE TABLE contacts (
    id uuid PRIMARY KEY,
    version integer NOT NULL DEFAULT 1,
    first_name text,
    infix text,
    last_name text NOT NULL CHECK (length(last_name) BETWEEN 1 AND 150),
    email text CHECK (email = lower(email)),
    phone text,
    notes text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX contacts_email ON contacts (email) WHERE email IS NOT NULL;
CREATE INDEX contacts_last_name ON contacts (lower(last_name) text_pattern_ops);

CREATE TABLE contact_roles (
    id uuid PRIMARY KEY,
    contact_id uuid NOT NULL REFERENCES contacts (id),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    dmu_role text NOT NULL CHECK (dmu_role IN ('decision_maker', 'advisor', 'gatekeeper', 'user', 'influencer')),
    job_title text,
    active_from date NOT NULL,
    active_to date,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (active_to IS NULL OR active_to >= active_from)
);
CREATE INDEX contact_roles_organisation ON contact_roles (organisation_id, active_to);
CREATE INDEX contact_roles_contact ON contact_roles (contact_id, active_from);

-- Consent for relationship mailings: one row per statement, never updated or deleted (as B2C consents).
CREATE TABLE contact_consents (
    id bigserial PRIMARY KEY,
    contact_id uuid NOT NULL REFERENCES contacts (id),
    topic text NOT NULL CHECK (topic ~ '^[a-z0-9][a-z0-9:._-]{0,79}$'),
    status text NOT NULL CHECK (status IN ('opted_in', 'confirmed', 'withdrawn')),
    recorded_at timestamptz NOT NULL,
    source text NOT NULL CHECK (source IN ('import', 'staff', 'web_form')),
    staff_user_id uuid,
    api_key_id text,
    evidence jsonb NOT NULL DEFAULT '{}',
    text_version text
);
CREATE INDEX contact_consents_contact_topic ON contact_consents (contact_id, topic, recorded_at DESC, id DESC);

-- The contact history of an organisation: meetings, visit reports, calls, logged e-mails, proposals, agreements.
CREATE TABLE interactions (
    id uuid PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    kind text NOT NULL CHECK (kind IN ('meeting', 'visit_report', 'phone_call', 'email', 'proposal', 'agreement')),
    occurred_at timestamptz NOT NULL,
    subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    report text,
    follow_up text,
    -- Staff users who took part (platform users: no foreign key).
    staff_user_ids uuid[] NOT NULL DEFAULT '{}',
    created_by_user_id uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX interactions_organisation ON interactions (organisation_id, occurred_at DESC, id DESC);
CREATE INDEX interactions_occurred ON interactions (occurred_at DESC, id DESC);

CREATE TABLE interaction_contacts (
    interaction_id uuid NOT NULL REFERENCES interactions (id),
    contact_id uuid NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (interaction_id, contact_id)
);
CREATE INDEX interaction_contacts_contact ON interaction_contacts (contact_id);

-- Orders of educational programmes and subscriptions: the transaction history of a school.
CREATE TABLE orders (
    id uuid PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    kind text NOT NULL CHECK (kind IN ('order', 'subscription')),
    product text NOT NULL CHECK (length(product) BETWEEN 1 AND 200),
    period_start date NOT NULL,
    period_end date,
    quantity integer NOT NULL CHECK (quantity > 0),
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    status text NOT NULL CHECK (status IN ('quoted', 'ordered', 'delivered', 'invoiced', 'cancelled')),
    notes text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (period_end IS NULL OR period_end >= period_start)
);
CREATE INDEX orders_organisation ON orders (organisation_id, period_start DESC, id DESC);
CREATE INDEX orders_period ON orders (period_start DESC, id DESC);

-- Performance and subsidy agreements (with municipalities, mostly); the renewal date feeds a reminder task.
CREATE TABLE agreements (
    id uuid PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    kind text NOT NULL CHECK (kind IN ('performance', 'subsidy')),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    period_start date NOT NULL,
    period_end date,
    amount_cents bigint CHECK (amount_cents >= 0),
    deliverables text,
    renewal_date date,
    status text NOT NULL CHECK (status IN ('draft', 'active', 'ended')),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (period_end IS NULL OR period_end >= period_start)
);
CREATE INDEX agreements_organisation ON agreements (organisation_id, period_start DESC, id DESC);
CREATE INDEX agreements_period ON agreements (period_start DESC, id DESC);

-- Tasks and reminders. `overdue_marked_at` is set once by the reminder job, which then notifies the assignee.
CREATE TABLE tasks (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('task', 'renewal')),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    notes text,
    due_on date NOT NULL,
    assignee_user_id uuid,
    organisation_id uuid REFERENCES organisations (id),
    contact_id uuid REFERENCES contacts (id),
    interaction_id uuid REFERENCES interactions (id),
    agreement_id uuid REFERENCES agreements (id),
    status text NOT NULL CHECK (status IN ('open', 'done', 'cancelled')),
    overdue_marked_at timestamptz,
    completed_at timestamptz,
    created_by_user_id uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (kind = 'task' OR agreement_id IS NOT NULL)
);
-- One renewal reminder per agreement.
CREATE UNIQUE INDEX tasks_agreement_renewal ON tasks (agreement_id) WHERE kind = 'renewal';
CREATE INDEX tasks_open_due ON tasks (due_on, id) WHERE status = 'open';
CREATE INDEX tasks_assignee ON tasks (assignee_user_id, due_on) WHERE status = 'open';
CREATE INDEX tasks_organisation ON tasks (organisation_id);

GRANT SELECT, INSERT ON organisation_types TO ${tenant_role};
GRANT SELECT, INSERT, UPDATE, DELETE ON organisations, contacts, contact_roles, interactions, interaction_contacts,
    orders, agreements, tasks TO ${tenant_role};
-- Consent rows are evidence; they go only with the contact they belong to.
GRANT SELECT, INSERT, DELETE ON contact_consents TO ${tenant_role};
