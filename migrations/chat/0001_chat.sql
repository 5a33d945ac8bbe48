-- The chat service (spec 2.4, 6): one session per tenant and property, its messages and
-- read markers, and the contact unlocks it learns from payments events (the unlock-bypass
-- guard masks contact details until the tenant has paid).
CREATE SCHEMA IF NOT EXISTS chat;

-- Every message bumps last_updated. No index covers it, so the bump is a HOT update (no
-- index writes) on the hot path; a fill factor below 100 leaves the room HOT needs. Lists
-- sort a participant's few sessions in memory; only supervisors' "all sessions" scans.
CREATE TABLE chat.chat_sessions (
    id                uuid PRIMARY KEY,
    property_id       uuid NOT NULL,
    tenant_id         uuid NOT NULL,
    landlord_id       uuid NOT NULL,
    assigned_guide_id uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_updated      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chat_sessions_one_per_tenant_property UNIQUE (tenant_id, property_id),
    CONSTRAINT chat_sessions_tenant_is_not_landlord CHECK (tenant_id <> landlord_id)
) WITH (fillfactor = 80);
CREATE INDEX chat_sessions_landlord_idx ON chat.chat_sessions (landlord_id);
CREATE INDEX chat_sessions_guide_idx ON chat.chat_sessions (assigned_guide_id)
    WHERE assigned_guide_id IS NOT NULL;

-- `seq` orders a session's messages and is what history cursors compare. Inserts take the
-- session row's lock first (the last_updated bump), so within a session seq order is
-- commit order and a reader paging with after_id never skips a message that commits late.
CREATE TABLE chat.messages (
    id                    uuid PRIMARY KEY,
    seq                   bigint GENERATED ALWAYS AS IDENTITY,
    session_id            uuid NOT NULL REFERENCES chat.chat_sessions (id),
    sender_id             uuid NOT NULL,
    sender_role           text NOT NULL
        CHECK (sender_role IN ('TENANT', 'LANDLORD', 'GUIDE', 'ADMIN', 'STAFF')),
    -- Stored whole; masking happens on the way out.
    content               text NOT NULL CHECK (char_length(content) BETWEEN 1 AND 4000),
    client_id             text CHECK (client_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    is_admin_intervention boolean NOT NULL DEFAULT false,
    is_read               boolean NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT now(),
    -- A resend with the same client_id is the same message (NULLs never collide).
    CONSTRAINT messages_one_per_client_id UNIQUE (session_id, sender_id, client_id)
);
CREATE UNIQUE INDEX messages_session_seq_idx ON chat.messages (session_id, seq);

-- How far each reader has read; only ever moves forward.
CREATE TABLE chat.read_markers (
    session_id uuid NOT NULL REFERENCES chat.chat_sessions (id),
    reader_id  uuid NOT NULL,
    message_id uuid NOT NULL REFERENCES chat.messages (id),
    seq        bigint NOT NULL,
    read_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, reader_id)
);

-- Projection of rentory.payments.transaction.succeeded (CONTACT_UNLOCK) and .refunded, so
-- masking needs no call to payments per message. One row per transaction, whichever event
-- arrives first: a refund seen before its payment still wins.
CREATE TABLE chat.contact_unlocks (
    transaction_id uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL,
    property_id    uuid NOT NULL,
    reference      text NOT NULL,
    unlocked_at    timestamptz NOT NULL,
    refunded_at    timestamptz
);
CREATE INDEX contact_unlocks_held_idx ON chat.contact_unlocks (tenant_id, property_id)
    WHERE refunded_at IS NULL;

-- A session as every read shows it: with whether its tenant holds an unlock for its property.
CREATE VIEW chat.sessions_shown AS
SELECT s.id, s.property_id, s.tenant_id, s.landlord_id, s.assigned_guide_id, s.created_at,
       s.last_updated,
       EXISTS (SELECT 1 FROM chat.contact_unlocks u
               WHERE u.tenant_id = s.tenant_id AND u.property_id = s.property_id
                 AND u.refunded_at IS NULL) AS contact_unlocked
FROM chat.chat_sessions s;

-- rentory-events: the transactional outbox and consumer idempotency.
CREATE TABLE chat.outbox (
    id           uuid PRIMARY KEY,
    subject      text NOT NULL,
    payload      bytea NOT NULL,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON chat.outbox (created_at, id) WHERE published_at IS NULL;

CREATE TABLE chat.processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
