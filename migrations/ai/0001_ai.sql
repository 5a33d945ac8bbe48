CREATE SCHEMA IF NOT EXISTS ai;

-- What the concierge has learned each tenant wants (crate rentory-persona); one row per
-- tenant, replaced on every change, `version` growing by one each time.
CREATE TABLE ai.personas (
    user_id    uuid PRIMARY KEY,
    version    bigint NOT NULL CHECK (version >= 1),
    document   jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The concierge conversation, one row per message. Text is stored as it went to the model:
-- with phone numbers, e-mail addresses and links already removed.
CREATE TABLE ai.concierge_turns (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         uuid NOT NULL,
    speaker         text NOT NULL CHECK (speaker IN ('TENANT', 'CONCIERGE')),
    content         text NOT NULL,
    -- For the concierge's replies: who answered and the persona version after the turn.
    model           text,
    persona_version bigint,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX concierge_turns_user_idx ON ai.concierge_turns (user_id, id DESC);

-- Every model request: one row per HTTP attempt to Gemini, one per offline answer, one per
-- cache hit. `call_id` groups the attempts of one task call.
CREATE TABLE ai.calls (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id        uuid NOT NULL,
    task           text NOT NULL
        CHECK (task IN ('CONCIERGE', 'ANALYZE_PHOTOS', 'DRAFT_LEASE', 'FACE_MATCH')),
    user_id        uuid,
    model          text NOT NULL,
    -- answered, retryable, model_not_found, blocked, bad_output, rejected, timed_out,
    -- network (Gemini attempts); offline; cached.
    outcome        text NOT NULL,
    http_status    smallint,
    tokens_in      bigint NOT NULL DEFAULT 0 CHECK (tokens_in >= 0),
    tokens_out     bigint NOT NULL DEFAULT 0 CHECK (tokens_out >= 0),
    latency_ms     integer NOT NULL CHECK (latency_ms >= 0),
    -- Estimated from the published price list; 0 for offline answers and cache hits.
    cost_micro_usd bigint NOT NULL DEFAULT 0 CHECK (cost_micro_usd >= 0),
    request_id     text,
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_at_idx ON ai.calls (at);
CREATE INDEX calls_user_idx ON ai.calls (user_id, at) WHERE user_id IS NOT NULL;

-- The transactional outbox of crate rentory-events.
CREATE TABLE ai.outbox (
    id          uuid PRIMARY KEY,
    subject     text NOT NULL,
    payload     bytea NOT NULL,
    traceparent text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON ai.outbox (created_at, id) WHERE published_at IS NULL;

CREATE TABLE ai.processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
