//! The append-only, hash-chained log of verification status changes (`kyc.audit_log`),
//! built on `rentory-audit`. The table refuses UPDATE, DELETE and TRUNCATE by trigger
//! (migration 0001); this module only ever appends, and can re-verify the whole chain.

use futures::TryStreamExt;
use ipnetwork::IpNetwork;
use rentory_audit::{AuditEntry, ChainVerifier, ChainedEntry, GENESIS, Hash, truncate_to_micros};
use rentory_auth::Actor;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;
use crate::verification::Status;

/// Key of the transaction-level advisory lock that serialises appends, so two
/// transactions never chain onto the same previous row. Advisory locks are per database,
/// not per schema: other services' chains use other keys. (ASCII "kyc_audt".)
pub const APPEND_LOCK_KEY: i64 = 0x6b79_635f_6175_6474;

/// One status change of a verification request.
pub struct Transition<'a> {
    pub request_id: Uuid,
    pub actor: &'a Actor,
    pub from: Status,
    pub to: Status,
    pub reason: Option<&'a str>,
    pub at: OffsetDateTime,
}

/// Appends `transition` inside the caller's transaction (which must also make the change).
/// Holds the append lock until that transaction ends.
#[tracing::instrument(skip_all, fields(verification_request_id = %transition.request_id))]
pub async fn append(conn: &mut PgConnection, transition: &Transition<'_>) -> Result<(), Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    let last = sqlx::query_scalar!("SELECT hash FROM kyc.audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let prev: Hash = match last {
        None => GENESIS,
        Some(bytes) => bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::corrupt("the last audit row's hash is not 32 bytes"))?,
    };
    let actor = transition.actor;
    let entry = AuditEntry {
        id: Uuid::now_v7(),
        subject_id: transition.request_id,
        actor_id: actor.user_id,
        actor_role: actor.role.as_str().to_owned(),
        ip_address: actor.context.client_ip,
        request_id: actor.context.request_id.clone(),
        from_status: Some(transition.from.as_str().to_owned()),
        to_status: transition.to.as_str().to_owned(),
        reason: transition.reason.map(str::to_owned),
        // Stored and hashed at the precision Postgres keeps.
        at: truncate_to_micros(transition.at),
        user_agent: None,
        content_sha256: None,
    };
    let row = ChainedEntry::seal(&prev, entry);
    let e = &row.entry;
    sqlx::query!(
        r#"INSERT INTO kyc.audit_log
             (id, verification_request_id, actor_id, actor_role, ip_address, request_id,
              from_status, to_status, reason, at, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"#,
        e.id,
        e.subject_id,
        e.actor_id,
        e.actor_role,
        e.ip_address.map(IpNetwork::from),
        e.request_id,
        e.from_status,
        e.to_status,
        e.reason,
        e.at,
        row.prev_hash,
        row.hash
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Reads the whole log in chain order and checks every link. Returns the number of rows
/// checked, or [`Error::AuditChainBroken`] naming the first row that does not check out.
#[tracing::instrument(skip_all)]
pub async fn verify_audit_chain(pool: &PgPool) -> Result<usize, Error> {
    let mut rows = sqlx::query!(
        r#"SELECT id, verification_request_id, actor_id, actor_role, ip_address, request_id,
                  from_status, to_status, reason, at, prev_hash, hash
           FROM kyc.audit_log ORDER BY seq"#
    )
    .fetch(pool);
    let mut verifier = ChainVerifier::new();
    while let Some(row) = rows.try_next().await? {
        verifier.check(&ChainedEntry {
            entry: AuditEntry {
                id: row.id,
                subject_id: row.verification_request_id,
                actor_id: row.actor_id,
                actor_role: row.actor_role,
                ip_address: row.ip_address.map(|net| net.ip()),
                request_id: row.request_id,
                from_status: Some(row.from_status),
                to_status: row.to_status,
                reason: row.reason,
                at: row.at,
                user_agent: None,
                content_sha256: None,
            },
            prev_hash: row.prev_hash,
            hash: row.hash,
        })?;
    }
    Ok(verifier.checked())
}
