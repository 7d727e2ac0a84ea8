-- Login counters decay (they halve over time) instead of resetting after a quiet window, so they hold fractions.
ALTER TABLE platform.login_throttle ALTER COLUMN failures TYPE double precision;
