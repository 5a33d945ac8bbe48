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
