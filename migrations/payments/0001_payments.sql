CREATE SCHEMA IF NOT EXISTS payments;
-- The payments service (ARCHITECTURE.md, section 1): Paystack transactions for contact
-- unlocks and rent, their hash-chained audit log, every webhook as received, landlords'
-- payout subaccounts, and the outbox of rentory-events.

CREATE TABLE payments.transactions (
    id              uuid PRIMARY KEY,
    -- Ours, sent to Paystack: only the characters Paystack accepts in a reference.
    reference       text NOT NULL CHECK (reference ~ '^[A-Za-z0-9.=-]{1,100}$'),
    type            text NOT NULL CHECK (type IN ('CONTACT_UNLOCK', 'RENT')),
    status          text NOT NULL DEFAULT 'PENDING'
                    CHECK (status IN ('PENDING', 'SUCCESS', 'FAILED', 'ABANDONED', 'REFUNDED')),
    amount_kobo     bigint NOT NULL CHECK (amount_kobo > 0),
    currency        text NOT NULL DEFAULT 'NGN' CHECK (currency = 'NGN'),
    payer_id        uuid NOT NULL,
    property_id     uuid,
    lease_id        uuid,
    -- The landlord's Paystack subaccount that takes its share of rent, when it has one.
    subaccount_code text,
    -- Set once Paystack's initialize answered; NULL while the checkout is being started.
    authorization_url text,
    access_code     text,
    paystack_id     bigint,
    -- Why the transaction failed, was closed or refused, for people.
    status_reason   text NOT NULL DEFAULT '' CHECK (char_length(status_reason) <= 1000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    paid_at         timestamptz,
    -- The reconciler: verify calls made, and when to verify a PENDING transaction next.
    verify_attempts integer NOT NULL DEFAULT 0 CHECK (verify_attempts >= 0),
    next_verify_at  timestamptz,
    -- Set while a refund is being asked of Paystack, so two staff cannot refund twice.
    refund_started_at timestamptz,
    CONSTRAINT transactions_reference_key UNIQUE (reference),
    CONSTRAINT transactions_one_subject CHECK (
        (type = 'CONTACT_UNLOCK' AND property_id IS NOT NULL AND lease_id IS NULL)
        OR (type = 'RENT' AND lease_id IS NOT NULL AND property_id IS NULL)
    ),
    CONSTRAINT transactions_paid_when_settled CHECK (
        status NOT IN ('SUCCESS', 'REFUNDED') OR paid_at IS NOT NULL
    ),
    CONSTRAINT transactions_reconciled_while_pending CHECK (
        status = 'PENDING' OR next_verify_at IS NULL
    )
);
-- One attempt in progress per payer and property or lease, and one success per tenant and
-- property: a second checkout reuses the first, and nobody pays twice for one contact.
CREATE UNIQUE INDEX transactions_one_pending_unlock ON payments.transactions (payer_id, property_id)
    WHERE type = 'CONTACT_UNLOCK' AND status = 'PENDING';
CREATE UNIQUE INDEX transactions_one_pending_rent ON payments.transactions (payer_id, lease_id)
    WHERE type = 'RENT' AND status = 'PENDING';
CREATE UNIQUE INDEX transactions_one_unlock ON payments.transactions (payer_id, property_id)
    WHERE type = 'CONTACT_UNLOCK' AND status = 'SUCCESS';
-- The caller's own, newest first (ids are UUIDv7, so id order is creation order).
CREATE INDEX transactions_payer_idx ON payments.transactions (payer_id, id DESC);
-- The reconciler's queue.
CREATE INDEX transactions_due_idx ON payments.transactions (next_verify_at)
    WHERE status = 'PENDING';

-- Refuses UPDATE, DELETE and TRUNCATE on the append-only audit log.
CREATE FUNCTION payments.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Every status change of a transaction, hash-chained (crate rentory-audit), written in the
-- transaction that makes the change. `source` says what made it: CHECKOUT (started by the
-- payer), CLIENT_VERIFY (the payer or staff asked), WEBHOOK, RECONCILER or REFUND; people
-- are in actor_id / actor_role, NULL for the platform's own sources. The hash covers the
-- source too: the chain's actor_role is `<source>` or `<source>/<role>`, its actor_id the
-- nil UUID when no person acted (see src/audit.rs).
CREATE TABLE payments.transaction_audit (
    seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id             uuid PRIMARY KEY,
    transaction_id uuid NOT NULL REFERENCES payments.transactions (id),
    source         text NOT NULL
                   CHECK (source IN ('CHECKOUT', 'CLIENT_VERIFY', 'WEBHOOK', 'RECONCILER', 'REFUND')),
    actor_id       uuid,
    actor_role     text,
    ip_address     inet,
    request_id     text,
    -- NULL for the row that records the transaction's creation.
    from_status    text,
    to_status      text NOT NULL,
    reason         text,
    at             timestamptz NOT NULL,
    prev_hash      bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash           bytea NOT NULL CHECK (length(hash) = 32),
    CONSTRAINT transaction_audit_actor_together CHECK ((actor_id IS NULL) = (actor_role IS NULL)),
    CONSTRAINT transaction_audit_prev_hash_key UNIQUE (prev_hash),
    CONSTRAINT transaction_audit_hash_key UNIQUE (hash)
);
CREATE INDEX transaction_audit_transaction_idx ON payments.transaction_audit (transaction_id, seq);
CREATE TRIGGER transaction_audit_append_only BEFORE UPDATE OR DELETE ON payments.transaction_audit
    FOR EACH ROW EXECUTE FUNCTION payments.refuse_change();
CREATE TRIGGER transaction_audit_no_truncate BEFORE TRUNCATE ON payments.transaction_audit
    FOR EACH STATEMENT EXECUTE FUNCTION payments.refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON payments.transaction_audit FROM PUBLIC;

-- Every correctly signed Paystack webhook, stored before it is answered and processed from
-- here (a crash after the answer loses nothing). Unsigned or wrongly signed ones are never
-- written.
CREATE TABLE payments.webhook_events (
    id           uuid PRIMARY KEY,
    -- Paystack's event and the id and status it is about: the same delivery retried has the
    -- same identity, and is stored once.
    identity     text NOT NULL,
    event        text NOT NULL,
    reference    text,
    -- The body exactly as received; its signature was checked over these bytes.
    body         bytea NOT NULL,
    request_id   text,
    ip_address   inet,
    received_at  timestamptz NOT NULL DEFAULT now(),
    -- Processing: tries so far, a lease against two workers taking it at once, the result.
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    claimed_until timestamptz,
    processed_at timestamptz,
    outcome      text,
    last_error   text,
    CONSTRAINT webhook_events_identity_key UNIQUE (identity),
    CONSTRAINT webhook_events_outcome_when_processed CHECK ((processed_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX webhook_events_unprocessed_idx ON payments.webhook_events (received_at)
    WHERE processed_at IS NULL;
CREATE INDEX webhook_events_reference_idx ON payments.webhook_events (reference);

-- The bank account a landlord's rent is paid out to, as a Paystack subaccount. Only the
-- last four digits of the account number are kept.
CREATE TABLE payments.payout_accounts (
    landlord_id          uuid PRIMARY KEY,
    business_name        text NOT NULL CHECK (char_length(business_name) BETWEEN 1 AND 100),
    bank_code            text NOT NULL CHECK (bank_code ~ '^[0-9]{3}$'),
    account_number_last4 text NOT NULL CHECK (account_number_last4 ~ '^[0-9]{4}$'),
    subaccount_code      text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- The transactional outbox and consumer idempotency of crate rentory-events.
CREATE TABLE payments.outbox (
    id           uuid PRIMARY KEY,
    subject      text NOT NULL,
    payload      bytea NOT NULL,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON payments.outbox (created_at, id) WHERE published_at IS NULL;

CREATE TABLE payments.processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
