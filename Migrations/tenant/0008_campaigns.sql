-- Campaigns: subscription lists, templates, one-off and automated campaigns, the recipient snapshot (sends) and
-- what happened to each mail.

-- A subscription list. Subscribing is a consent statement on the topic 'list:<key>' (the consents table keeps the
-- history and its proof); a list campaign reaches only customers whose latest statement on it is 'confirmed'.
CREATE TABLE lists (
    id uuid PRIMARY KEY,
    key text NOT NULL UNIQUE CHECK (key ~ '^[a-z0-9][a-z0-9._-]{0,59}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text,
    -- The text a subscriber agrees to, and its version; a changed text gets a new version.
    consent_text text NOT NULL CHECK (length(consent_text) BETWEEN 1 AND 5000),
    consent_version text NOT NULL CHECK (length(consent_version) BETWEEN 1 AND 64),
    -- Shown on the public sign-up form and in the preference centre.
    public boolean NOT NULL DEFAULT true,
    archived_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Mustache templates: subject, HTML and text part. Every save is a new version; a send renders the version its
-- campaign names.
CREATE TABLE templates (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 500),
    html text NOT NULL,
    text_body text NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE template_versions (
    template_id uuid NOT NULL REFERENCES templates (id),
    version integer NOT NULL,
    subject text NOT NULL,
    html text NOT NULL,
    text_body text NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (template_id, version)
);

-- A campaign: one-off (to a segment or a list), a journey (automated, evaluated by the scheduler) or the library's
-- transactional mails (confirmations). Service campaigns (reminders, confirmations) need no list consent.
CREATE TABLE campaigns (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind text NOT NULL CHECK (kind IN ('one_off', 'journey', 'transactional')),
    purpose text NOT NULL CHECK (purpose IN ('marketing', 'service')),
    state text NOT NULL CHECK (state IN ('draft', 'scheduled', 'sending', 'sent', 'paused', 'cancelled', 'active')),
    list_id uuid REFERENCES lists (id),
    segment_id uuid REFERENCES segments (id),
    segment_version integer,
    template_id uuid REFERENCES templates (id),
    template_version integer,
    subject text,
    -- A/B split of the subject: half of the recipients (by send id) get subject_b.
    subject_b text,
    from_name text,
    from_address text,
    reply_to text,
    -- Lower is sooner: transactional mails go before campaigns.
    priority smallint NOT NULL DEFAULT 5 CHECK (priority BETWEEN 0 AND 9),
    -- Journeys: the trigger and its steps (see KringCampaigns/Journeys).
    journey jsonb,
    scheduled_at timestamptz,
    started_at timestamptz,
    finished_at timestamptz,
    recipients integer,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (kind <> 'one_off' OR segment_id IS NOT NULL OR list_id IS NOT NULL OR state = 'draft')
);
CREATE INDEX campaigns_due ON campaigns (scheduled_at) WHERE state = 'scheduled';

-- The recipient snapshot: one row per campaign x customer x occurrence x step. The unique key is the guarantee that
-- a recipient never gets the same mail twice, also when a snapshot or a journey run is repeated.
CREATE TABLE sends (
    id uuid PRIMARY KEY,
    campaign_id uuid NOT NULL REFERENCES campaigns (id),
    customer_id uuid NOT NULL REFERENCES customers (id),
    -- Which occurrence of a journey ('' for a one-off): a membership start, a birthday year, an activity.
    occurrence text NOT NULL DEFAULT '' COLLATE "C",
    step smallint NOT NULL DEFAULT 0,
    email text NOT NULL COLLATE "C",
    status text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed', 'skipped', 'cancelled')),
    priority smallint NOT NULL,
    -- When the send may be claimed: its planned time while pending, the end of the worker's lease while sending.
    due_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    claimed_by text,
    variant text CHECK (variant IN ('a', 'b')),
    -- Per-recipient data of the occurrence, e.g. {"activity_id": ...} for a reminder.
    context jsonb NOT NULL DEFAULT '{}',
    message_id text,
    sent_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL,
    UNIQUE (campaign_id, customer_id, occurrence, step)
);
CREATE INDEX sends_due ON sends (priority, due_at) WHERE status IN ('pending', 'sending');
CREATE INDEX sends_customer ON sends (customer_id, created_at);

-- campaign_events (0007) becomes the event log of every mail: delivered, bounced, opened, clicked, unsubscribed,
-- complained, with the send and, for clicks, the link.
ALTER TABLE campaign_events DROP CONSTRAINT campaign_events_kind_check;
ALTER TABLE campaign_events ADD CONSTRAINT campaign_events_kind_check CHECK (kind IN (
    'sent', 'delivered', 'bounced_hard', 'bounced_soft', 'opened', 'clicked', 'unsubscribed', 'complained'));
ALTER TABLE campaign_events ADD COLUMN send_id uuid REFERENCES sends (id);
ALTER TABLE campaign_events ADD COLUMN url text;
ALTER TABLE campaign_events ADD COLUMN detail jsonb NOT NULL DEFAULT '{}';
CREATE INDEX campaign_events_campaign ON campaign_events (campaign_id, kind);
CREATE INDEX campaign_events_send ON campaign_events (send_id) WHERE send_id IS NOT NULL;

-- Per-library mail settings live in settings; widen its key check.
ALTER TABLE settings DROP CONSTRAINT settings_key_check;
ALTER TABLE settings ADD CONSTRAINT settings_key_check CHECK (key IN (
    'complaint_due_days', 'mail_from_name', 'mail_from_address', 'mail_reply_to', 'mail_rate_per_minute',
    'mail_tracking', 'mail_layout_html', 'mail_layout_text'));

GRANT SELECT, INSERT, UPDATE ON lists, templates, campaigns TO ${tenant_role};
GRANT SELECT, INSERT ON template_versions TO ${tenant_role};
GRANT SELECT, INSERT, UPDATE ON sends TO ${tenant_role};
