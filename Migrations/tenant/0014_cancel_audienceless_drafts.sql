-- A one-off campaign needs an audience (list or segment) once it leaves the draft; a draft cancelled before it got one
-- broke that rule, so cancelling such a draft failed. A cancelled campaign sends nothing and needs no audience.
ALTER TABLE campaigns DROP CONSTRAINT campaigns_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_one_off_audience
    CHECK (kind <> 'one_off' OR segment_id IS NOT NULL OR list_id IS NOT NULL OR state IN ('draft', 'cancelled'));
