-- A library reads the shared Mosaic reference data (platform migration 0005) for its reports and segment rules;
-- it cannot change it. Reference tables are replicated to every node of a distributed database.
-- Grants on the shared schema change one catalogue row for all libraries: libraries migrated in parallel take turns.
SELECT pg_advisory_xact_lock(hashtext('kring.reference.grants'));
GRANT USAGE ON SCHEMA reference TO ${tenant_role};
GRANT SELECT ON reference.mosaic_deliveries, reference.mosaic_segments, reference.mosaic_subsegments, reference.mosaic_areas,
    reference.mosaic_postcodes TO ${tenant_role};
