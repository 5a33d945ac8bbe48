-- What a service's app role may do in its schema, after every migration, as the schema's
-- owner (scripts/deploy runs it right after the migrations):
--   psql -v ON_ERROR_STOP=1 -v schema=kyc -f deploy/sql/grants.sql "$OWNER_URL"
-- Idempotent; recomputed from the catalogue each time, so a table a new migration adds is
-- covered without editing this file.
--
-- Append-only tables are the ones a migration guarded with the schema's refuse_change()
-- trigger (kyc's audit log and link mints; lease's versions and audit
-- log; payments' transaction audit): the app role may read and insert them, nothing else.
-- sqlx's _sqlx_migrations is read-only to it. Every other table: read and write rows.
-- TRUNCATE is never granted.

\set ON_ERROR_STOP on

SELECT format('rentory_%s_app', :'schema') AS app \gset
SET app.rentory_schema = :'schema';
SET app.rentory_app = :'app';

DO $$
DECLARE
    s    text := current_setting('app.rentory_schema');
    app  text := current_setting('app.rentory_app');
    t    record;
BEGIN
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', s, app);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I TO %I', s, app);
    FOR t IN
        SELECT c.relname,
               c.relname = '_sqlx_migrations' AS migrations,
               EXISTS (
                   SELECT 1 FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid
                   WHERE tg.tgrelid = c.oid AND p.proname = 'refuse_change'
                     AND p.pronamespace = n.oid
               ) AS append_only
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = s AND c.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('REVOKE ALL ON %I.%I FROM %I', s, t.relname, app);
        IF t.migrations THEN
            EXECUTE format('GRANT SELECT ON %I.%I TO %I', s, t.relname, app);
        ELSIF t.append_only THEN
            EXECUTE format('GRANT SELECT, INSERT ON %I.%I TO %I', s, t.relname, app);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I.%I TO %I', s, t.relname, app);
        END IF;
    END LOOP;
END
$$;
