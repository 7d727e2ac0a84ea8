-- Subscription lists in use: the library's built-in transactional mails, unsubscribes, mail provider reports.

-- A campaign Kring creates itself (e.g. 'double_opt_in', the sign-up confirmation), found by this key.
ALTER TABLE campaigns ADD COLUMN system_key text UNIQUE;

-- An address that unsubscribed from all marketing mail and later bounces hard or complains is blocked for every
-- mail: the reason of a suppression may be raised (never lowered; see Suppressions.suppress).
GRANT UPDATE (reason) ON suppressions TO ${tenant_role};

-- A provider's report names the mail by its Message-ID.
CREATE INDEX sends_message_id ON sends (message_id) WHERE message_id IS NOT NULL;

-- What happened to a mail is recorded once per send, so a repeated webhook delivery or a second click on an
-- unsubscribe link counts once. Opens and clicks repeat by nature.
CREATE UNIQUE INDEX campaign_events_once ON campaign_events (send_id, kind)
    WHERE kind IN ('delivered', 'bounced_hard', 'bounced_soft', 'complained', 'unsubscribed');
