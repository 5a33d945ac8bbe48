//! Where the shared local servers are. Standard variable names first (API.md), so a test run
//! against other servers only needs the environment changed.

/// Admin connection used to create and drop test databases.
pub const ADMIN_URL_VAR: &str = "RENTORY_TEST_DATABASE_URL";
/// Trust-auth superuser that exists on every local install, used until the bootstrap script
/// has created the `rentory` role and someone points [`ADMIN_URL_VAR`] at it.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Template to clone test databases from (migrations pre-applied saves time per test).
pub const TEMPLATE_VAR: &str = "RENTORY_TEST_TEMPLATE_DB";
pub const DEFAULT_TEMPLATE: &str = "rentory_template";

/// The admin Postgres URL: `RENTORY_TEST_DATABASE_URL`, else the local `postgres` superuser.
pub fn admin_database_url() -> String {
    non_empty_var(ADMIN_URL_VAR).unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// `REDIS_URL`, else the local Redis.
pub fn redis_url() -> String {
    non_empty_var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned())
}

/// `NATS_URL`, else the local NATS (JetStream enabled).
pub fn nats_url() -> String {
    non_empty_var("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".to_owned())
}

pub(crate) fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}
