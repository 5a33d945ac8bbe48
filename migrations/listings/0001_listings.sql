CREATE SCHEMA IF NOT EXISTS listings;
-- Listings owns the property engine (spec 2.2): properties with PostGIS coordinates, their
-- photos, land details and ratings; the AI analyses landlords start from; tenants' saved
-- searches; and two projections fed by events: personas (ai.persona.updated) and contact
-- unlocks (payments.transaction.succeeded). PostGIS lives in `public`, which follows
-- `listings` on the service's search path.

-- A landlord's photo analysis: what the AI (or the offline provider) drafted, kept so the
-- listing can be finalised from it and so what the model said stays on record.
CREATE TABLE listings.analyses (
    id                       uuid PRIMARY KEY,
    landlord_id              uuid NOT NULL,
    category                 text NOT NULL
                             CHECK (category IN ('RESIDENTIAL', 'COMMERCIAL', 'EVENT_CENTER', 'LAND', 'SHORTLET')),
    title                    text NOT NULL,
    description              text NOT NULL,
    amenities                text[] NOT NULL DEFAULT '{}',
    neighborhood_description text NOT NULL DEFAULT '',
    suggested_price_kobo     bigint CHECK (suggested_price_kobo > 0),
    rent_period              text NOT NULL CHECK (rent_period IN ('YEAR', 'MONTH', 'NIGHT')),
    bedrooms                 smallint CHECK (bedrooms BETWEEN 0 AND 50),
    bathrooms                smallint CHECK (bathrooms BETWEEN 0 AND 50),
    confidence               double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    model                    text NOT NULL,
    reasons                  text[] NOT NULL DEFAULT '{}',
    photo_urls               text[] NOT NULL CHECK (cardinality(photo_urls) BETWEEN 1 AND 10),
    notes                    text NOT NULL DEFAULT '',
    address                  text NOT NULL DEFAULT '',
    coordinates              geography(Point, 4326),
    -- True when the landlord's app sent the coordinates; false for a gazetteer centre,
    -- which is good for comparables but not a listing's location.
    coordinates_exact        boolean NOT NULL DEFAULT false,
    comparables              integer NOT NULL DEFAULT 0,
    created_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analyses_landlord_idx ON listings.analyses (landlord_id, created_at DESC);

CREATE TABLE listings.properties (
    id                       uuid PRIMARY KEY,
    landlord_id              uuid NOT NULL,
    category                 text NOT NULL
                             CHECK (category IN ('RESIDENTIAL', 'COMMERCIAL', 'EVENT_CENTER', 'LAND', 'SHORTLET')),
    title                    text NOT NULL CHECK (char_length(title) BETWEEN 3 AND 120),
    description              text NOT NULL CHECK (char_length(description) <= 5000),
    neighborhood_description text NOT NULL DEFAULT '' CHECK (char_length(neighborhood_description) <= 2000),
    -- Integer kobo, per rent_period: never floating point money.
    price_kobo               bigint NOT NULL CHECK (price_kobo > 0),
    rent_period              text NOT NULL CHECK (rent_period IN ('YEAR', 'MONTH', 'NIGHT')),
    address                  text NOT NULL CHECK (char_length(address) BETWEEN 3 AND 300),
    coordinates              geography(Point, 4326) NOT NULL,
    bedrooms                 smallint CHECK (bedrooms BETWEEN 0 AND 50),
    bathrooms                smallint CHECK (bathrooms BETWEEN 0 AND 50),
    status                   text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'PENDING', 'ARCHIVED')),
    is_verified              boolean NOT NULL DEFAULT false,
    rentory_managed          boolean NOT NULL DEFAULT false,
    amenities                text[] NOT NULL DEFAULT '{}',
    photo_urls               text[] NOT NULL DEFAULT '{}',
    analysis_id              uuid REFERENCES listings.analyses (id),
    -- Averages of property_ratings, kept here so that discovery reads one row per listing.
    rating_security          double precision CHECK (rating_security BETWEEN 1 AND 5),
    rating_power             double precision CHECK (rating_power BETWEEN 1 AND 5),
    rating_neighborhood      double precision CHECK (rating_neighborhood BETWEEN 1 AND 5),
    rating_reviews           integer NOT NULL DEFAULT 0 CHECK (rating_reviews >= 0),
    ai_audited               boolean NOT NULL DEFAULT false,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    -- Shortlets are priced per night; event centres per year, month or night (a day's
    -- hire); everything else per year or month.
    CONSTRAINT properties_night_rates CHECK (
        (category <> 'SHORTLET' OR rent_period = 'NIGHT')
        AND (rent_period <> 'NIGHT' OR category IN ('SHORTLET', 'EVENT_CENTER'))
    )
);
-- Discovery: nearest-first (KNN `<->`) over active listings; bounding boxes and polygons
-- are tested in planar lon/lat, through the geometry cast.
CREATE INDEX properties_active_coordinates_idx ON listings.properties
    USING gist (coordinates) WHERE status = 'ACTIVE';
CREATE INDEX properties_active_geometry_idx ON listings.properties
    USING gist ((coordinates::geometry)) WHERE status = 'ACTIVE';
CREATE INDEX properties_landlord_idx ON listings.properties (landlord_id, created_at DESC);
-- One listing per analysis: a double-submitted "publish" cannot list the property twice.
CREATE UNIQUE INDEX properties_one_per_analysis ON listings.properties (analysis_id)
    WHERE analysis_id IS NOT NULL;

-- Spec 2.2: required for LAND, refused for every other category (enforced by the service,
-- which writes both rows in one transaction).
CREATE TABLE listings.land_details (
    property_id uuid PRIMARY KEY REFERENCES listings.properties (id) ON DELETE CASCADE,
    size        double precision NOT NULL CHECK (size > 0 AND size < 1e9),
    unit        text NOT NULL CHECK (unit IN ('SQM', 'PLOTS', 'HECTARES')),
    dimensions  text NOT NULL DEFAULT '' CHECK (char_length(dimensions) <= 120),
    zoning      text NOT NULL DEFAULT '' CHECK (char_length(zoning) <= 120)
);

-- Every photo stored in the public bucket: re-encoded (no EXIF, no GPS), content-addressed.
CREATE TABLE listings.photos (
    id          uuid PRIMARY KEY,
    analysis_id uuid NOT NULL REFERENCES listings.analyses (id) ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position BETWEEN 0 AND 9),
    object_key  text NOT NULL,
    url         text NOT NULL,
    sha256      bytea NOT NULL CHECK (length(sha256) = 32),
    width       integer NOT NULL CHECK (width > 0),
    height      integer NOT NULL CHECK (height > 0),
    bytes       integer NOT NULL CHECK (bytes > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (analysis_id, position)
);

-- Spec 2.2 Property_Ratings: one row per tenant review (replaced when the tenant rates
-- again) and at most one AI audit per listing; aspects the audit could not judge are NULL.
CREATE TABLE listings.property_ratings (
    id           uuid PRIMARY KEY,
    property_id  uuid NOT NULL REFERENCES listings.properties (id) ON DELETE CASCADE,
    source       text NOT NULL CHECK (source IN ('TENANT', 'AI_AUDIT')),
    rater_id     uuid,
    security     smallint CHECK (security BETWEEN 1 AND 5),
    power        smallint CHECK (power BETWEEN 1 AND 5),
    neighborhood smallint CHECK (neighborhood BETWEEN 1 AND 5),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT property_ratings_tenant_has_rater CHECK ((source = 'TENANT') = (rater_id IS NOT NULL))
);
CREATE UNIQUE INDEX property_ratings_one_per_tenant ON listings.property_ratings (property_id, rater_id)
    WHERE source = 'TENANT';
CREATE UNIQUE INDEX property_ratings_one_audit ON listings.property_ratings (property_id)
    WHERE source = 'AI_AUDIT';

-- A tenant's saved discover query; new listings that match raise listings.search.matched.
CREATE TABLE listings.saved_searches (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 80),
    center          geography(Point, 4326) NOT NULL,
    radius_m        double precision NOT NULL CHECK (radius_m > 0 AND radius_m <= 100000),
    polygon         geometry(MultiPolygon, 4326),
    polygon_geojson text,
    category        text CHECK (category IN ('RESIDENTIAL', 'COMMERCIAL', 'EVENT_CENTER', 'LAND', 'SHORTLET')),
    min_price_kobo  bigint CHECK (min_price_kobo >= 0),
    max_price_kobo  bigint CHECK (max_price_kobo >= 0),
    bedrooms        smallint CHECK (bedrooms BETWEEN 0 AND 50),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT saved_searches_polygon_pair CHECK ((polygon IS NULL) = (polygon_geojson IS NULL))
);
CREATE INDEX saved_searches_tenant_idx ON listings.saved_searches (tenant_id, created_at);
CREATE INDEX saved_searches_center_idx ON listings.saved_searches USING gist (center);

-- Projection of rentory.ai.persona.updated: the newest persona version per tenant.
CREATE TABLE listings.personas (
    user_id    uuid PRIMARY KEY,
    version    bigint NOT NULL CHECK (version > 0),
    persona    jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Projection of rentory.payments.transaction.succeeded (type CONTACT_UNLOCK): who paid to
-- see which landlord's contact.
CREATE TABLE listings.contact_unlocks (
    tenant_id      uuid NOT NULL,
    property_id    uuid NOT NULL,
    transaction_id uuid NOT NULL UNIQUE,
    reference      text NOT NULL,
    amount_kobo    bigint NOT NULL CHECK (amount_kobo > 0),
    unlocked_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, property_id)
);

-- rentory-events: the transactional outbox and consumer idempotency.
CREATE TABLE listings.outbox (
    id           uuid PRIMARY KEY,
    subject      text NOT NULL,
    payload      bytea NOT NULL,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON listings.outbox (created_at, id) WHERE published_at IS NULL;

CREATE TABLE listings.processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
