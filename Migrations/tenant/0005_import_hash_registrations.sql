-- Faster re-imports and the ticketing import.
--
-- import_hash fingerprints the export row (and mapping) a customer was last imported from. A re-import skips rows
-- whose fingerprint is unchanged. Any other change to the customer forgets the fingerprint, so the next import
-- compares the row in full again.
ALTER TABLE customers ADD COLUMN import_hash bigint;

CREATE FUNCTION customers_forget_import_hash() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.import_hash := NULL;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER customers_forget_import_hash BEFORE UPDATE ON customers FOR EACH ROW
    WHEN (OLD.import_hash IS NOT NULL AND NEW.import_hash IS NOT DISTINCT FROM OLD.import_hash)
    EXECUTE FUNCTION customers_forget_import_hash();

-- Identifiers compare byte by byte. Under a linguistic default collation every index comparison of these columns
-- went through strcoll, which made the member import's index upkeep about twice as dear. Names keep the
-- database's collation; their search index is bytewise on the lowercased name, which prefix LIKE can use.
ALTER TABLE customers ALTER COLUMN member_number TYPE text COLLATE "C",
    ALTER COLUMN email TYPE text COLLATE "C",
    ALTER COLUMN postcode TYPE text COLLATE "C";
ALTER TABLE households ALTER COLUMN postcode TYPE text COLLATE "C",
    ALTER COLUMN house_number TYPE text COLLATE "C",
    ALTER COLUMN house_number_addition TYPE text COLLATE "C";
DROP INDEX customers_last_name;
CREATE INDEX customers_last_name ON customers ((lower(last_name) COLLATE "C"));

-- The ticketing system's own references: its event id on an activity, its ticket or order line on a registration.
ALTER TABLE activities ADD COLUMN external_ref text UNIQUE;
ALTER TABLE registrations ADD COLUMN external_ref text;

ALTER TABLE imports DROP CONSTRAINT imports_kind_check;
ALTER TABLE imports ADD CONSTRAINT imports_kind_check CHECK (kind IN ('members', 'registrations'));

-- Set-based reference checks for a customer's household and favourite branch.
--
-- A foreign key checks (and locks) the referenced row once per written row; for an import of 100,000 members
-- that was 40% of the database's work. These statement triggers keep the same guarantee with one query per
-- statement: the referenced rows must exist and are locked FOR KEY SHARE, as a foreign key locks them, and a
-- referenced household or branch cannot be deleted. Violations raise foreign_key_violation (23503).
ALTER TABLE customers DROP CONSTRAINT customers_household_id_fkey;
ALTER TABLE customers DROP CONSTRAINT customers_favourite_branch_id_fkey;

CREATE FUNCTION customers_check_references() RETURNS trigger LANGUAGE plpgsql
SET search_path = ${tenant_schema}, pg_temp AS $fn$
DECLARE
    ids uuid[];
    found integer;
    own integer;
    locked integer;
BEGIN
    ids := ARRAY(SELECT DISTINCT household_id FROM written WHERE household_id IS NOT NULL);
    IF cardinality(ids) > 0 THEN
        -- Households this transaction wrote cannot be removed by another before it commits, so only the others
        -- are locked: an import creates thousands of households and need not lock each one again.
        SELECT count(*), count(*) FILTER (WHERE xmin = pg_current_xact_id()::xid) INTO found, own
        FROM households WHERE id = ANY (ids);
        IF found = cardinality(ids) AND own < found THEN
            SELECT count(*) INTO locked FROM (
                SELECT 1 FROM households WHERE id = ANY (ids) AND xmin <> pg_current_xact_id()::xid FOR KEY SHARE
            ) l;
            found := own + locked;
        END IF;
        IF found < cardinality(ids) THEN
            RAISE EXCEPTION 'customers refer to a household that does not exist'
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'customers_household_id_check';
        END IF;
    END IF;

    ids := ARRAY(SELECT DISTINCT favourite_branch_id FROM written WHERE favourite_branch_id IS NOT NULL);
    IF cardinality(ids) > 0 THEN
        SELECT count(*) INTO locked FROM (SELECT 1 FROM branches WHERE id = ANY (ids) FOR KEY SHARE) l;
        IF locked < cardinality(ids) THEN
            RAISE EXCEPTION 'customers refer to a branch that does not exist'
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'customers_favourite_branch_id_check';
        END IF;
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER customers_check_references_insert AFTER INSERT ON customers
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION customers_check_references();
CREATE TRIGGER customers_check_references_update AFTER UPDATE ON customers
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION customers_check_references();

-- A household or branch that customers still refer to stays.
CREATE FUNCTION customers_keep_referenced() RETURNS trigger LANGUAGE plpgsql
SET search_path = ${tenant_schema}, pg_temp AS $fn$
DECLARE
    referenced text;
BEGIN
    IF TG_TABLE_NAME = 'households' THEN
        IF EXISTS (SELECT 1 FROM customers WHERE household_id = ANY (ARRAY(
                       SELECT r.id FROM removed r WHERE NOT EXISTS (SELECT 1 FROM households h WHERE h.id = r.id)))) THEN
            referenced := 'household';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM customers WHERE favourite_branch_id = ANY (ARRAY(
                      SELECT r.id FROM removed r WHERE NOT EXISTS (SELECT 1 FROM branches b WHERE b.id = r.id)))) THEN
        referenced := 'favourite_branch';
    END IF;
    IF referenced IS NOT NULL THEN
        RAISE EXCEPTION 'a % that customers refer to cannot be removed', replace(referenced, '_', ' ')
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'customers_' || referenced || '_id_check';
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER households_keep_referenced_delete AFTER DELETE ON households
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION customers_keep_referenced();
CREATE TRIGGER households_keep_referenced_update AFTER UPDATE ON households
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION customers_keep_referenced();
CREATE TRIGGER branches_keep_referenced_delete AFTER DELETE ON branches
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION customers_keep_referenced();
CREATE TRIGGER branches_keep_referenced_update AFTER UPDATE ON branches
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION customers_keep_referenced();

-- Member numbers of erased customers, hashed: an import does not bring back a person erased at their request.
CREATE TABLE erased_member_numbers (
    member_number_sha256 bytea PRIMARY KEY,
    erased_at timestamptz NOT NULL
);
GRANT SELECT, INSERT ON erased_member_numbers TO ${tenant_role};

-- The library's own settings, one row per setting, changed by its administrators.
CREATE TABLE settings (
    key text PRIMARY KEY CHECK (key IN ('complaint_due_days')),
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by_user_id uuid
);
GRANT SELECT, INSERT, UPDATE ON settings TO ${tenant_role};
