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

/// How long a request waits for a connection before it is told the database is unavailable.
/// While Postgres is down the pool keeps trying to connect for this long, so it is also the
/// time to a 503 during an outage: under the gateway's request timeout and a client's
/// patience, over a restart's few hundred milliseconds (a restart within it is not noticed).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(4);
/// What a caller is told to wait before trying again when the database is unavailable.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);

async fn open(options: PgConnectOptions, max_connections: u32) -> Result<PgPool, DbError> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // Ping each connection as it leaves the pool (sqlx's default, stated because the
        // fault drills rely on it): connections a Postgres restart closed are found dead
        // and replaced here instead of failing the request that drew them.
        .test_before_acquire(true)
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

/// SQLSTATEs of a server going away or not yet there: class 08 (connection exception) and
/// these. `57P01` admin_shutdown is what a fast shutdown sends open sessions.
const UNAVAILABLE_STATES: &[&str] = &[
    "57P01", // admin_shutdown
    "57P02", // crash_shutdown
    "57P03", // cannot_connect_now (starting up, shutting down, recovering)
    "53300", // too_many_connections
];

/// Whether `error` says the database cannot be reached now (down, restarting, unreachable,
/// every connection busy) rather than that the query or the data is wrong: a caller may
/// succeed by trying again shortly.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || UNAVAILABLE_STATES.contains(&&*code)),
        _ => false,
    }
}

/// Whether a [`sqlx::Error`] for which [`is_unavailable`] holds is in `error`'s source
/// chain: services wrap them in their own error types.
pub fn caused_by_unavailable(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |e| e.source())
        .filter_map(|e| e.downcast_ref::<sqlx::Error>())
        .any(is_unavailable)
}

/// The status for a request that failed because the database is unavailable (see
/// [`caused_by_unavailable`]): `UNAVAILABLE` with RetryInfo, which the gateway answers as a
/// 503 problem with `Retry-After`. The cause is logged here, as a warning: an outage is
/// reported by the database's own monitoring, and one line per refused request is enough.
pub fn unavailable_status(error: &(dyn std::error::Error + 'static)) -> tonic::Status {
    tracing::warn!(
        error = crate::error_chain(error),
        "the database is unavailable; refusing the request"
    );
    crate::rpc_error::retry_after(
        crate::rpc_error::Reason::Unavailable,
        "the database is unavailable; try again shortly",
        RETRY_AFTER,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_unavailable_and_query_errors_are_not() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused
        ))));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::Protocol("bad".into())));
    }

    #[test]
    fn wrapped_outages_are_found_and_answered_unavailable() {
        #[derive(Debug, thiserror::Error)]
        #[error("database query failed")]
        struct Wrapper(#[source] sqlx::Error);

        assert!(caused_by_unavailable(&Wrapper(sqlx::Error::PoolTimedOut)));
        assert!(!caused_by_unavailable(&Wrapper(sqlx::Error::RowNotFound)));
        let status = unavailable_status(&Wrapper(sqlx::Error::PoolTimedOut));
        assert_eq!(status.code(), tonic::Code::Unavailable);
        let decoded = crate::rpc_error::decode(&status);
        assert_eq!(decoded.reason, Some(crate::rpc_error::Reason::Unavailable));
        assert_eq!(decoded.retry_after, Some(RETRY_AFTER));
        assert!(!status.message().contains("pool"));
    }
}
