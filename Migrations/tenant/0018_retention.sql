-- How long the library keeps personal data it no longer needs (AVG article 5(1)(e)): ended members, activity guests
-- without other ties, mail events and the audit log. The nightly retention job reads these settings.
ALTER TABLE settings DROP CONSTRAINT settings_key_check;
ALTER TABLE settings ADD CONSTRAINT settings_key_check CHECK (key IN (
    'complaint_due_days', 'mail_from_name', 'mail_from_address', 'mail_reply_to', 'mail_rate_per_minute',
    'mail_tracking', 'mail_layout_html', 'mail_layout_text', 'two_factor_required', 'idle_timeout_minutes',
    'retention_ended_members_months', 'retention_guests_months', 'retention_mail_events_months', 'retention_audit_months'));

-- The library's role may add to its audit log but not remove from it. This function is the only way it can, and only
-- for records older than the shortest term a library may set (12 months), so no mistake or misuse can clear recent
-- history. It answers the records removed. (Mail events the role may delete already: a B2B contact's deletion does.)
CREATE FUNCTION retention_delete_audit(before timestamptz) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = ${tenant_schema}, pg_temp AS $fn$
DECLARE
    removed bigint;
BEGIN
    IF before > now() - interval '12 months' THEN
        RAISE EXCEPTION 'the audit log is kept at least 12 months' USING ERRCODE = 'check_violation';
    END IF;
    DELETE FROM audit_log WHERE at < before;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$fn$;
REVOKE ALL ON FUNCTION retention_delete_audit(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_delete_audit(timestamptz) TO ${tenant_role};
-- Finding old rows without reading the whole table.
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX campaign_events_at ON campaign_events (at);
