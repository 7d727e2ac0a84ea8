-- Mosaic: licensed reference data that Probiblio loads once for all libraries (a scheme of segments and subsegments,
-- and per 6-position postcode the households and inhabitants per subsegment). It lives in its own schema, which the
-- platform writes and every library's role may read (tenant migration 0017) but not change. Kring never ships it: the
-- demo and the tests load generated data with invented names.
CREATE SCHEMA reference AUTHORIZATION CURRENT_USER;
REVOKE ALL ON SCHEMA reference FROM PUBLIC;

-- One load of the supplier's files. Exactly one delivery is current; reports name the one they used.
CREATE TABLE reference.mosaic_deliveries (
    id uuid PRIMARY KEY,
    label text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    -- SHA-256 of the two files: loading the same files again changes nothing.
    scheme_sha256 text NOT NULL,
    areas_sha256 text NOT NULL,
    segments int NOT NULL,
    subsegments int NOT NULL,
    postcodes int NOT NULL,
    households bigint NOT NULL,
    inhabitants bigint NOT NULL,
    loaded_at timestamptz NOT NULL,
    loaded_by_user_id uuid,
    current boolean NOT NULL DEFAULT false,
    replaced_at timestamptz
);
CREATE UNIQUE INDEX mosaic_deliveries_current ON reference.mosaic_deliveries (current) WHERE current;

CREATE TABLE reference.mosaic_segments (
    delivery_id uuid NOT NULL REFERENCES reference.mosaic_deliveries (id) ON DELETE CASCADE,
    code text COLLATE "C" NOT NULL,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, code)
);

CREATE TABLE reference.mosaic_subsegments (
    delivery_id uuid NOT NULL,
    code text COLLATE "C" NOT NULL,
    segment_code text COLLATE "C" NOT NULL,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- What the supplier says of the subsegment beyond its name: media use, leisure, ... (column -> text).
    characteristics jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (delivery_id, code),
    FOREIGN KEY (delivery_id, segment_code) REFERENCES reference.mosaic_segments (delivery_id, code) ON DELETE CASCADE
);

-- Households and inhabitants per postcode and subsegment, as delivered.
CREATE TABLE reference.mosaic_areas (
    delivery_id uuid NOT NULL,
    postcode text COLLATE "C" NOT NULL CHECK (postcode ~ '^[1-9][0-9]{3} [A-Z]{2}$'),
    municipality text NOT NULL,
    subsegment_code text COLLATE "C" NOT NULL,
    households int NOT NULL CHECK (households >= 0),
    inhabitants int NOT NULL CHECK (inhabitants >= 0),
    PRIMARY KEY (delivery_id, postcode, subsegment_code),
    FOREIGN KEY (delivery_id, subsegment_code) REFERENCES reference.mosaic_subsegments (delivery_id, code) ON DELETE CASCADE
);
CREATE INDEX mosaic_areas_municipality ON reference.mosaic_areas (delivery_id, municipality);

-- Per postcode its municipality and its dominant subsegment (most households): how a customer gets a Mosaic
-- subsegment from the postcode, in reports and segment rules. Filled with the delivery.
CREATE TABLE reference.mosaic_postcodes (
    delivery_id uuid NOT NULL REFERENCES reference.mosaic_deliveries (id) ON DELETE CASCADE,
    postcode text COLLATE "C" NOT NULL,
    municipality text NOT NULL,
    subsegment_code text COLLATE "C" NOT NULL,
    segment_code text COLLATE "C" NOT NULL,
    PRIMARY KEY (delivery_id, postcode)
);

GRANT USAGE ON SCHEMA reference TO kring_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON reference.mosaic_deliveries, reference.mosaic_segments, reference.mosaic_subsegments,
    reference.mosaic_areas, reference.mosaic_postcodes TO kring_app;
