-- Staff sign-in rules a library sets: two-factor for all staff, and the idle time after which a browser session ends.
ALTER TABLE settings DROP CONSTRAINT settings_key_check;
ALTER TABLE settings ADD CONSTRAINT settings_key_check CHECK (key IN (
    'complaint_due_days', 'mail_from_name', 'mail_from_address', 'mail_reply_to', 'mail_rate_per_minute',
    'mail_tracking', 'mail_layout_html', 'mail_layout_text', 'two_factor_required', 'idle_timeout_minutes'));
