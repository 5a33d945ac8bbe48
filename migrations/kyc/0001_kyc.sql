CREATE SCHEMA IF NOT EXISTS kyc;
-- KYC owns verification requests (ID image + face scan, staff decision), the advisory
-- face-match audit, the record of every signed image link minted, and the hash-chained,
-- append-only audit log of status changes.

CREATE TABLE kyc.verification_requests (
    id                  uuid PRIMARY KEY,
    user_id             uuid NOT NULL,
    status              text NOT NULL DEFAULT 'PENDING'
                        CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    role_requested      text NOT NULL CHECK (role_requested IN ('TENANT', 'LANDLORD', 'GUIDE')),
    -- The originals, stored untouched in the private bucket; the bytes' own type and hash.
    id_image_key        text NOT NULL,
    id_image_mime       text NOT NULL CHECK (id_image_mime IN ('image/jpeg', 'image/png', 'image/webp')),
    id_image_bytes      bigint NOT NULL CHECK (id_image_bytes > 0),
    id_image_sha256     bytea NOT NULL CHECK (length(id_image_sha256) = 32),
    face_scan_key       text NOT NULL,
    face_scan_mime      text NOT NULL CHECK (face_scan_mime IN ('image/jpeg', 'image/png', 'image/webp')),
    face_scan_bytes     bigint NOT NULL CHECK (face_scan_bytes > 0),
    face_scan_sha256    bytea NOT NULL CHECK (length(face_scan_sha256) = 32),
    reviewer_id         uuid,
    rejection_reason    text CHECK (char_length(rejection_reason) BETWEEN 1 AND 500),
    created_at          timestamptz NOT NULL DEFAULT now(),
    decided_at          timestamptz,
    CONSTRAINT verification_requests_reviewer_iff_decided CHECK (
        (status = 'PENDING') = (reviewer_id IS NULL)
    ),
    CONSTRAINT verification_requests_decided_at_iff_decided CHECK (
        (status = 'PENDING') = (decided_at IS NULL)
    ),
    CONSTRAINT verification_requests_reason_iff_rejected CHECK (
        (status = 'REJECTED') = (rejection_reason IS NOT NULL)
    )
);
-- One open request per user at a time; Submit maps a violation of it to ALREADY_EXISTS.
CREATE UNIQUE INDEX verification_requests_one_pending_per_user
    ON kyc.verification_requests (user_id) WHERE status = 'PENDING';
-- GetMine: a user's latest request.
CREATE INDEX verification_requests_user_latest_idx
    ON kyc.verification_requests (user_id, created_at DESC, id DESC);
-- The review queue: by status, oldest first, keyset-paginated on (created_at, id).
CREATE INDEX verification_requests_queue_idx
    ON kyc.verification_requests (status, created_at, id);

-- What the AI face match said (advisory only; staff decide). One row per request, written
-- once by the face-match consumer; verdict UNAVAILABLE when no model could judge.
CREATE TABLE kyc.face_match_audits (
    verification_request_id uuid PRIMARY KEY REFERENCES kyc.verification_requests (id),
    verdict     text NOT NULL CHECK (verdict IN ('MATCH', 'NO_MATCH', 'INCONCLUSIVE', 'UNAVAILABLE')),
    score       double precision CHECK (score >= 0 AND score <= 1),
    model       text NOT NULL DEFAULT '',
    reasons     text[] NOT NULL DEFAULT '{}',
    -- Deliveries of the submitted event it took (1 = first try).
    attempts    integer NOT NULL CHECK (attempts >= 1),
    checked_at  timestamptz NOT NULL DEFAULT now()
);

-- Refuses UPDATE, DELETE and TRUNCATE on the append-only tables below.
CREATE FUNCTION kyc.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Every signed image link handed to a reviewer: who, for which request and image, until
-- when, from where. The URL itself is a credential and is never stored.
CREATE TABLE kyc.link_mints (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reviewer_id             uuid NOT NULL,
    verification_request_id uuid NOT NULL REFERENCES kyc.verification_requests (id),
    image                   text NOT NULL CHECK (image IN ('ID_IMAGE', 'FACE_SCAN')),
    expires_at              timestamptz NOT NULL,
    client_ip               inet,
    request_id              text,
    minted_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX link_mints_request_idx ON kyc.link_mints (verification_request_id, minted_at);
CREATE INDEX link_mints_reviewer_idx ON kyc.link_mints (reviewer_id, minted_at);
CREATE TRIGGER link_mints_append_only BEFORE UPDATE OR DELETE ON kyc.link_mints
    FOR EACH ROW EXECUTE FUNCTION kyc.refuse_change();
CREATE TRIGGER link_mints_no_truncate BEFORE TRUNCATE ON kyc.link_mints
    FOR EACH STATEMENT EXECUTE FUNCTION kyc.refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON kyc.link_mints FROM PUBLIC;

-- Every status change of a verification request, hash-chained (crate rentory-audit):
-- hash = SHA-256(prev_hash || canonical(row)), the first row's prev_hash is 32 zero bytes.
-- Appends are serialised by a transaction-level advisory lock, so the chain never forks;
-- the unique prev_hash makes a fork impossible even for a writer that skips the lock.
CREATE TABLE kyc.audit_log (
    -- Chain order. Not hashed: the prev_hash links already fix the order.
    seq                     bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                      uuid PRIMARY KEY,
    verification_request_id uuid NOT NULL REFERENCES kyc.verification_requests (id),
    actor_id                uuid NOT NULL,
    actor_role              text NOT NULL,
    ip_address              inet,
    request_id              text,
    from_status             text NOT NULL,
    to_status               text NOT NULL,
    reason                  text,
    at                      timestamptz NOT NULL,
    prev_hash               bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash                    bytea NOT NULL CHECK (length(hash) = 32),
    CONSTRAINT audit_log_prev_hash_key UNIQUE (prev_hash),
    CONSTRAINT audit_log_hash_key UNIQUE (hash)
);
CREATE INDEX audit_log_request_idx ON kyc.audit_log (verification_request_id, seq);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON kyc.audit_log
    FOR EACH ROW EXECUTE FUNCTION kyc.refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON kyc.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION kyc.refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON kyc.audit_log FROM PUBLIC;

-- The transactional outbox and consumer idempotency of crate rentory-events.
CREATE TABLE kyc.outbox (
    id          uuid PRIMARY KEY,
    subject     text NOT NULL,
    payload     bytea NOT NULL,
    traceparent text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON kyc.outbox (created_at, id) WHERE published_at IS NULL;

CREATE TABLE kyc.processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
