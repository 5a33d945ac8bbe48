-- The lease service (spec 2.4, 3.3, 4.3, 5): leases drafted by the AI legal architect, every
-- version of their text, the per-lease hash-chained audit log of status changes, and the rent
-- paid on them (with the receipt s.5 of the Lagos State Tenancy Law 2011 requires).
CREATE SCHEMA IF NOT EXISTS lease;

CREATE TABLE lease.leases (
    id                    uuid PRIMARY KEY,
    property_id           uuid NOT NULL,
    tenant_id             uuid NOT NULL,
    landlord_id           uuid NOT NULL,
    status                text NOT NULL CHECK (status IN
        ('DRAFT', 'SIGNED_BY_LANDLORD', 'SIGNED_BY_TENANT', 'PENDING_ADMIN', 'FULLY_SIGNED')),
    version               integer NOT NULL CHECK (version >= 1),
    content               text NOT NULL CHECK (char_length(content) BETWEEN 1 AND 60000),
    content_sha256        text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    -- The terms, typed.
    rent_kobo             bigint NOT NULL CHECK (rent_kobo > 0),
    rent_period           text NOT NULL CHECK (rent_period IN ('YEAR', 'HALF_YEAR', 'QUARTER', 'MONTH', 'NIGHT')),
    duration_months       integer NOT NULL CHECK (duration_months BETWEEN 1 AND 120),
    start_date            date NOT NULL,
    deposit_kobo          bigint NOT NULL CHECK (deposit_kobo >= 0),
    service_charge_kobo   bigint NOT NULL CHECK (service_charge_kobo >= 0),
    advance_rent_months   integer NOT NULL CHECK (advance_rent_months >= 0),
    negotiation_points    text[] NOT NULL DEFAULT '{}',
    -- Decided at draft time: SITTING when this tenant already held a fully signed lease of
    -- this property (s.4 allows a sitting tenant less rent in advance).
    tenancy               text NOT NULL CHECK (tenancy IN ('NEW', 'SITTING')),
    jurisdiction          text NOT NULL,
    property_title        text NOT NULL,
    premises_address      text NOT NULL,
    landlord_name         text NOT NULL,
    tenant_name           text NOT NULL,
    drafted_by_model      text NOT NULL,
    draft_reasons         text[] NOT NULL DEFAULT '{}',
    landlord_signed_at    timestamptz,
    landlord_signed_sha256 text,
    landlord_signed_ip    inet,
    tenant_signed_at      timestamptz,
    tenant_signed_sha256  text,
    tenant_signed_ip      inet,
    authorized_by         uuid,
    authorized_role       text,
    authorized_ip         inet,
    fully_signed_at       timestamptz,
    -- The certified document (content + signature certificate), fixed once, when the lease
    -- becomes FULLY_SIGNED.
    document              text,
    document_sha256       text CHECK (document_sha256 ~ '^[0-9a-f]{64}$'),
    -- The hash of this lease's last audit row: the next row chains from it, and verify
    -- compares it with the chain's tail (rows cut off the end).
    audit_head            bytea NOT NULL CHECK (length(audit_head) = 32),
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    CONSTRAINT leases_tenant_is_not_landlord CHECK (tenant_id <> landlord_id),
    CONSTRAINT leases_landlord_signature_whole CHECK (
        (landlord_signed_at IS NULL) = (landlord_signed_sha256 IS NULL)),
    CONSTRAINT leases_tenant_signature_whole CHECK (
        (tenant_signed_at IS NULL) = (tenant_signed_sha256 IS NULL)),
    CONSTRAINT leases_fully_signed_has_document CHECK (
        (status = 'FULLY_SIGNED') = (document IS NOT NULL AND document_sha256 IS NOT NULL
                                     AND fully_signed_at IS NOT NULL AND authorized_by IS NOT NULL))
);
-- One open lease per property and tenant; DraftLease maps a violation to ALREADY_EXISTS.
CREATE UNIQUE INDEX leases_one_open_per_pair
    ON lease.leases (property_id, tenant_id) WHERE status <> 'FULLY_SIGNED';
-- Listing, newest first, for each kind of caller.
CREATE INDEX leases_landlord_idx ON lease.leases (landlord_id, created_at DESC, id DESC);
CREATE INDEX leases_tenant_idx ON lease.leases (tenant_id, created_at DESC, id DESC);
CREATE INDEX leases_status_idx ON lease.leases (status, created_at DESC, id DESC);
CREATE INDEX leases_all_idx ON lease.leases (created_at DESC, id DESC);
-- VerifyDocument.
CREATE INDEX leases_signed_content_idx ON lease.leases (content_sha256)
    WHERE status = 'FULLY_SIGNED';
CREATE INDEX leases_document_idx ON lease.leases (document_sha256)
    WHERE status = 'FULLY_SIGNED';

-- Refuses UPDATE, DELETE and TRUNCATE on the append-only tables below. The local `rentory`
-- role is a superuser (and owns these tables), so privileges alone would not stop it: the
-- triggers are what hold. A superuser can still disable them; the hash chain shows it.
CREATE FUNCTION lease.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Every text a lease has had, version 1 first.
CREATE TABLE lease.lease_versions (
    lease_id       uuid NOT NULL REFERENCES lease.leases (id),
    version        integer NOT NULL CHECK (version >= 1),
    content        text NOT NULL,
    content_sha256 text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    author_id      uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (lease_id, version)
);
CREATE TRIGGER lease_versions_append_only BEFORE UPDATE OR DELETE ON lease.lease_versions
    FOR EACH ROW EXECUTE FUNCTION lease.refuse_change();
CREATE TRIGGER lease_versions_no_truncate BEFORE TRUNCATE ON lease.lease_versions
    FOR EACH STATEMENT EXECUTE FUNCTION lease.refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON lease.lease_versions FROM PUBLIC;

-- One hash chain per lease (API.md): each row's prev_hash is the previous row's hash in that
-- lease's list, the first row's is 32 zero bytes. Appends lock the lease row first, so a
-- lease's rows are written one at a time; UNIQUE (lease_id, prev_hash) makes a fork
-- impossible even if that were ever forgotten.
CREATE TABLE lease.audit_log (
    id             uuid PRIMARY KEY,
    lease_id       uuid NOT NULL REFERENCES lease.leases (id),
    -- Chain order. Not hashed: the prev_hash links already fix the order.
    seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    actor_id       uuid NOT NULL,
    actor_role     text NOT NULL,
    ip_address     inet,
    user_agent     text,
    request_id     text,
    from_status    text,
    to_status      text NOT NULL,
    reason         text,
    content_sha256 text NOT NULL,
    at             timestamptz NOT NULL,
    prev_hash      bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash           bytea NOT NULL CHECK (length(hash) = 32),
    CONSTRAINT audit_log_no_fork UNIQUE (lease_id, prev_hash),
    CONSTRAINT audit_log_hash_key UNIQUE (hash)
);
CREATE INDEX audit_log_lease_idx ON lease.audit_log (lease_id, seq);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON lease.audit_log
    FOR EACH ROW EXECUTE FUNCTION lease.refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON lease.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION lease.refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON lease.audit_log FROM PUBLIC;

-- Rent paid on a lease, from payments' events: one row per transaction, one per rent period.
CREATE TABLE lease.rent_payments (
    transaction_id   uuid PRIMARY KEY,
    reference        text NOT NULL,
    lease_id         uuid NOT NULL REFERENCES lease.leases (id),
    amount_kobo      bigint NOT NULL,
    paid_at          timestamptz NOT NULL,
    period_number    integer NOT NULL CHECK (period_number >= 1),
    period_start     date NOT NULL,
    period_end       date NOT NULL,
    receipt_number   text NOT NULL UNIQUE,
    receipt_markdown text NOT NULL,
    receipt_sha256   text NOT NULL CHECK (receipt_sha256 ~ '^[0-9a-f]{64}$'),
    refunded_at      timestamptz
);
-- One standing payment per rent period. Partial: after a refund the same period is owed
-- again, and its new payment must fit beside the refunded row (whose receipt stays).
CREATE UNIQUE INDEX rent_payments_one_per_period
    ON lease.rent_payments (lease_id, period_number) WHERE refunded_at IS NULL;
CREATE INDEX rent_payments_lease_idx ON lease.rent_payments (lease_id, paid_at);

-- rentory-events: the transactional outbox and consumer idempotency.
CREATE TABLE lease.outbox (
    id           uuid PRIMARY KEY,
    subject      text NOT NULL,
    payload      bytea NOT NULL,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON lease.outbox (created_at, id) WHERE published_at IS NULL;

CREATE TABLE lease.processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
