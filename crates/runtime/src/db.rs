//! Each service owns one Postgres schema and never touches another's. Its pool puts that
//! schema first on the search path, and its migrations run at start-up, tracked in the
//! schema's own `_sqlx_migrations` table.

use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL is not a valid Postgres URL")]
    Url(#[source] sqlx::Error),
    #[error("could not connect to Postgres")]
    Connect(#[source] sqlx::Error),
    #[error("migrations of schema {schema} failed")]
    Migrate {
        schema: &'static str,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

pub async fn connect(
    url: &SecretString,
    schema: &'static str,
    max_connections: u32,
) -> Result<PgPool, DbError> {
    let options = PgConnectOptions::from_str(url.expose_secret())
        .map_err(DbError::Url)?
        .options([("search_path", schema)])
        .application_name(schema);
    open(options, max_connections).await
}

/// [`connect`] for a service that uses PostGIS: `public` (where the extension's types and
/// functions live) follows the service's schema on the search path. Parallel query workers
/// and JIT compilation are turned off for these connections: both take milliseconds to
/// start on small Cloud Run and CI machines, far longer than the indexed geo queries.
pub async fn connect_postgis(
    url: &SecretString,
    schema: &'static str,
    max_connections: u32,
) -> Result<PgPool, DbError> {
    // No space after the comma: sqlx passes these as `-c name=value` options, split on spaces.
    let search_path = format!("{schema},public");
    let options = PgConnectOptions::from_str(url.expose_secret())
        .map_err(DbError::Url)?
        .options([
            ("search_path", search_path.as_str()),
            ("max_parallel_workers_per_gather", "0"),
            // Custom plans of the geo queries cost more than jit_above_cost, and compiling
            // them takes 5-90 ms: longer than the indexed queries themselves.
            ("jit", "off"),
            // Custom plans misjudge ST_DWithin (10 rows estimated, 9,000 found in a city)
            // and read and sort the whole radius (37 ms) where the generic plan walks the
            // KNN index and stops at the LIMIT (1.2 ms). Postgres would switch to the
            // generic plan only after five executions per connection and statement.
            ("plan_cache_mode", "force_generic_plan"),
        ])
        .application_name(schema);
    open(options, max_connections).await
}

async fn open(options: PgConnectOptions, max_connections: u32) -> Result<PgPool, DbError> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(DbError::Connect)
}

/// Creates the schema if needed (the migrations table lives in it) and applies `migrator`.
/// Concurrent replicas are serialised by sqlx's advisory lock.
pub async fn migrate(
    pool: &PgPool,
    schema: &'static str,
    migrator: &Migrator,
) -> Result<(), DbError> {
    // `schema` is a compile-time constant of the calling service, never input.
    let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
    sqlx::raw_sql(&create)
        .execute(pool)
        .await
        .map_err(DbError::Connect)?;
    migrator
        .run(pool)
        .await
        .map_err(|source| DbError::Migrate { schema, source })
}
