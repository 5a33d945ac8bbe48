-- Database roles for Rentory, once per database, as an administrator (Cloud SQL: the
-- `postgres` user; locally: any superuser):
--   psql -v ON_ERROR_STOP=1 -f deploy/sql/roles.sql "$ADMIN_URL_OF_THE_RENTORY_DATABASE"
-- Idempotent. Sets no passwords: give each LOGIN role one afterwards (deploy/README.md).
--
-- Per service schema S (identity, kyc, ai, listings, chat, lease, payments):
--   rentory_S_owner  owns the schema and everything its migrations create; used only to
--                    migrate (scripts/deploy), never by a running service.
--   rentory_S_app    what the service connects as (its DATABASE_URL secret): reads and writes
--                    rows as deploy/sql/grants.sql allows, owns nothing. Not being the owner,
--                    it can neither ALTER the append-only tables nor DISABLE their triggers,
--                    and grants.sql gives it no UPDATE, DELETE or TRUNCATE on them: the
--                    audit logs hold even against the service's own credentials.
-- The app role keeps CREATE on the database and on its schema for one reason: each service
-- runs `CREATE SCHEMA IF NOT EXISTS` and sqlx's `CREATE TABLE IF NOT EXISTS
-- _sqlx_migrations` at start-up, and Postgres checks the privilege before it sees the object
-- exists. With every migration already applied by the owner the start-up migration does
-- nothing else; with one missing it fails (the app role cannot alter the owner's tables),
-- the new revision never becomes ready and Cloud Run keeps serving the old one.

\set ON_ERROR_STOP on

CREATE EXTENSION IF NOT EXISTS postgis;

DO $$
DECLARE
    s text;
BEGIN
    FOREACH s IN ARRAY ARRAY['identity', 'kyc', 'ai', 'listings', 'chat', 'lease', 'payments'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = format('rentory_%s_owner', s)) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', format('rentory_%s_owner', s));
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = format('rentory_%s_app', s)) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOINHERIT', format('rentory_%s_app', s));
        END IF;
        -- Giving a schema to a role needs membership in it (Cloud SQL's postgres user is no
        -- superuser); a superuser gains nothing by it.
        EXECUTE format('GRANT %I TO %I', format('rentory_%s_owner', s), current_user);
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', s, format('rentory_%s_owner', s));
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', s, format('rentory_%s_owner', s));
        EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', s, format('rentory_%s_app', s));
        -- PostGIS's types and functions live in public (listings).
        EXECUTE format('GRANT USAGE ON SCHEMA public TO %I, %I', format('rentory_%s_owner', s), format('rentory_%s_app', s));
    END LOOP;
END
$$;

DO $$
DECLARE
    s text;
BEGIN
    FOREACH s IN ARRAY ARRAY['identity', 'kyc', 'ai', 'listings', 'chat', 'lease', 'payments'] LOOP
        EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO %I, %I', current_database(),
            format('rentory_%s_owner', s), format('rentory_%s_app', s));
    END LOOP;
END
$$;
