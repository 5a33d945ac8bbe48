-- Identity owns accounts, profiles, staff positions, login sessions and login attempts.
CREATE SCHEMA IF NOT EXISTS identity;

CREATE TABLE identity.users (
    id              uuid PRIMARY KEY,
    email           text NOT NULL,
    password_hash   text NOT NULL,
    pin_hash        text NOT NULL,
    role            text NOT NULL CHECK (role IN ('TENANT', 'LANDLORD', 'GUIDE', 'ADMIN', 'STAFF')),
    status          text NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED', 'PENDING')),
    -- Consecutive failed logins since the last success or lock expiry.
    failed_logins   integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_normalised CHECK (email = lower(email))
);
CREATE UNIQUE INDEX users_email_key ON identity.users (email);

CREATE TABLE identity.profiles (
    user_id     uuid PRIMARY KEY REFERENCES identity.users (id) ON DELETE CASCADE,
    full_name   text NOT NULL,
    avatar_url  text,
    phone       text NOT NULL DEFAULT '',
    bio         text NOT NULL DEFAULT '',
    -- The AI persona and search history, kept by events from the AI orchestrator.
    preferences jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE identity.staff_metadata (
    user_id  uuid PRIMARY KEY REFERENCES identity.users (id) ON DELETE CASCADE,
    position text NOT NULL CHECK (position IN ('COMPLIANCE_OFFICER', 'OPERATIONS_MANAGER', 'FINANCIAL_CONTROLLER', 'SUPPORT_LEAD'))
);

-- A login session is one refresh-token family; access tokens carry its id as `sid`.
CREATE TABLE identity.sessions (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    client_ip       inet,
    user_agent      text,
    revoked_at      timestamptz,
    revoked_reason  text CHECK (revoked_reason IN ('LOGOUT', 'REFRESH_REUSE'))
);
CREATE INDEX sessions_user_idx ON identity.sessions (user_id);

-- Only a SHA-256 of each refresh token is kept; a token is single-use.
CREATE TABLE identity.refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES identity.sessions (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON identity.refresh_tokens (session_id);

-- Failed and successful logins, for spray detection and forensics.
CREATE TABLE identity.login_attempts (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL,
    user_id     uuid,
    client_ip   inet,
    succeeded   boolean NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_ip_idx ON identity.login_attempts (client_ip, at) WHERE NOT succeeded;

CREATE TABLE identity.outbox (
    id           uuid PRIMARY KEY,
    subject      text NOT NULL,
    payload      bytea NOT NULL,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON identity.outbox (created_at, id) WHERE published_at IS NULL;

CREATE TABLE identity.processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
