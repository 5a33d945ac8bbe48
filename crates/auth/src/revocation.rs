//! Logout and refresh-token reuse revoke a login session at once, everywhere: identity writes
//! the session id to Redis for as long as an access token of it can live, and the gateway
//! refuses any token whose `sid` is listed. A deny-list (not an allow-list) so that an empty
//! Redis after a restart cannot log every user out; the cost is that revocations made just
//! before a Redis data loss last at most one access-token lifetime.

use std::time::Duration;

use uuid::Uuid;

pub fn revoked_session_key(session_id: Uuid) -> String {
    format!("rentory:revoked-session:{session_id}")
}

/// How long the deny-list entry must live: the longest an access token of the session can
/// still be presented, plus the verifier's clock leeway.
pub fn revocation_ttl(access_ttl: Duration) -> Duration {
    access_ttl + Duration::from_secs(60)
}
