-- Mailings to business contacts: B2B newsletters and the new-year greeting by relation type.
--
-- A campaign addresses customers (b2c) or contacts (b2b), never both. A send and the events of its mail name one
-- recipient: a customer or a contact. The unique keys keep "never the same mail twice" for both kinds.

ALTER TABLE campaigns ADD COLUMN audience text NOT NULL DEFAULT 'b2c' CHECK (audience IN ('b2c', 'b2b'));
-- Journeys and the library's own transactional mails follow customers (memberships, bookings, sign-ups).
ALTER TABLE campaigns ADD CONSTRAINT campaigns_b2b_one_off CHECK (audience = 'b2c' OR kind = 'one_off');

ALTER TABLE sends ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE sends ADD COLUMN contact_id uuid REFERENCES contacts (id);
ALTER TABLE sends ADD CONSTRAINT sends_one_recipient CHECK ((customer_id IS NULL) <> (contact_id IS NULL));
CREATE UNIQUE INDEX sends_contact_once ON sends (campaign_id, contact_id, occurrence, step) WHERE contact_id IS NOT NULL;
CREATE INDEX sends_contact ON sends (contact_id, created_at) WHERE contact_id IS NOT NULL;

ALTER TABLE campaign_events ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE campaign_events ADD COLUMN contact_id uuid REFERENCES contacts (id);
ALTER TABLE campaign_events ADD CONSTRAINT campaign_events_one_recipient CHECK ((customer_id IS NULL) <> (contact_id IS NULL));
CREATE INDEX campaign_events_contact ON campaign_events (contact_id, kind, at) WHERE contact_id IS NOT NULL;

-- Deleting a contact (an erasure request) removes their mails' history with them; the library's role needs that.
GRANT DELETE ON sends, campaign_events TO ${tenant_role};

-- Erasing a customer clears what their mails' history quotes of them (a relay's reply names the address; a clicked
-- link may carry personal parameters).
GRANT UPDATE (detail, url) ON campaign_events TO ${tenant_role};

-- The library's own transactional mails (sign-up and booking confirmations) render their template's current version,
-- so that a library's rewording reaches the next mail; they were created pinned to version 1.
UPDATE campaigns SET template_version = NULL WHERE kind = 'transactional';
