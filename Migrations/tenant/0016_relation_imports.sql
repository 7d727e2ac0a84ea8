-- Imports of organisations and contacts run as jobs too, so that the web app shows their dry run, progress and bad rows
-- as it does for the member export.
ALTER TABLE imports DROP CONSTRAINT imports_kind_check;
ALTER TABLE imports ADD CONSTRAINT imports_kind_check CHECK (kind IN ('members', 'registrations', 'organisations', 'contacts'));
