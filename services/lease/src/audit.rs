//! The per-lease, hash-chained, append-only audit log (`lease.audit_log`, spec 5), built on
//! `rentory-audit` (version 2 rows: user agent and content hash).
//!
//! Each lease has its own chain: a row's `prev_hash` is the previous row of that lease
//! (32 zero bytes for the first), and `leases.audit_head` keeps the last hash, so rows cut
//! off the end show too. Appends happen under the lease's row lock, in the transaction that
//! makes the change. The table refuses UPDATE, DELETE and TRUNCATE by trigger.

use std::net::IpAddr;

use futures::TryStreamExt;
use ipnetwork::IpNetwork;
use rentory_audit::{
    AuditEntry, BrokenKind, ChainVerifier, ChainedEntry, GENESIS, Hash, truncate_to_micros,
};
use rentory_auth::Actor;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::lifecycle::Transition;

/// One accepted change as the log records it.
pub struct Record<'a> {
    pub lease_id: Uuid,
    pub actor: &'a Actor,
    pub transition: Transition,
    pub reason: Option<String>,
    /// The text the change applies to (the signed text, for signatures).
    pub content_sha256: &'a str,
    pub at: OffsetDateTime,
}

/// Seals `record` after `prev` (the lease's `audit_head`).
pub fn seal(prev: &Hash, record: &Record<'_>) -> ChainedEntry {
    let actor = record.actor;
    let context = &actor.context;
    ChainedEntry::seal(
        prev,
        AuditEntry {
            id: Uuid::now_v7(),
            subject_id: record.lease_id,
            actor_id: actor.user_id,
            actor_role: actor.role.as_str().to_owned(),
            // The gateway's trusted client IP, never a header the client set.
            ip_address: context.client_ip,
            request_id: context.request_id.clone(),
            from_status: record.transition.from.map(|s| s.as_str().to_owned()),
            to_status: record.transition.to.as_str().to_owned(),
            reason: record.reason.clone(),
            // Stored and hashed at the precision Postgres keeps.
            at: truncate_to_micros(record.at),
            user_agent: context.user_agent.clone(),
            content_sha256: Some(record.content_sha256.to_owned()),
        },
    )
}

/// `audit_head` as a hash; a stored value of the wrong length is corrupt data.
pub fn head(bytes: &[u8]) -> Option<Hash> {
    bytes.try_into().ok()
}

/// Inserts a sealed row inside the caller's transaction (which holds the lease's lock and
/// also moves `audit_head` to `row.hash`).
#[tracing::instrument(skip_all, fields(lease_id = %row.entry.subject_id))]
pub async fn insert(conn: &mut PgConnection, row: &ChainedEntry) -> Result<(), sqlx::Error> {
    let e = &row.entry;
    sqlx::query!(
        r#"INSERT INTO lease.audit_log
             (id, lease_id, actor_id, actor_role, ip_address, user_agent, request_id,
              from_status, to_status, reason, content_sha256, at, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"#,
        e.id,
        e.subject_id,
        e.actor_id,
        e.actor_role,
        e.ip_address.map(IpNetwork::from),
        e.user_agent,
        e.request_id,
        e.from_status,
        e.to_status,
        e.reason,
        e.content_sha256,
        e.at,
        row.prev_hash,
        row.hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One lease's rows in chain order.
pub async fn chain(pool: &PgPool, lease_id: Uuid) -> Result<Vec<ChainedEntry>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, lease_id, actor_id, actor_role, ip_address, user_agent, request_id,
                  from_status, to_status, reason, content_sha256, at, prev_hash, hash
           FROM lease.audit_log WHERE lease_id = $1 ORDER BY seq"#,
        lease_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ChainedEntry {
            entry: AuditEntry {
                id: r.id,
                subject_id: r.lease_id,
                actor_id: r.actor_id,
                actor_role: r.actor_role,
                ip_address: r.ip_address.map(|net| net.ip()),
                request_id: r.request_id,
                from_status: r.from_status,
                to_status: r.to_status,
                reason: r.reason,
                at: r.at,
                user_agent: r.user_agent,
                content_sha256: Some(r.content_sha256),
            },
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
        .collect())
}

/// What is wrong with the first broken row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Link(BrokenKind),
    /// The chain ends before `leases.audit_head`: rows were cut off the end (or the head
    /// was changed). The row named is the last one left (none when all are gone).
    CutTail,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Link(kind) => kind.fmt(f),
            Self::CutTail => f.write_str("the chain does not end at the lease's audit head"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("lease {lease_id}: audit row {}: {fault}", row_id.map_or_else(|| "(none)".to_owned(), |id| id.to_string()))]
pub struct BrokenRow {
    pub lease_id: Uuid,
    pub row_id: Option<Uuid>,
    pub fault: Fault,
}

/// Checks one lease's chain and that it ends at `audit_head`.
pub fn verify_lease(
    lease_id: Uuid,
    rows: &[ChainedEntry],
    audit_head: &[u8],
) -> Result<(), BrokenRow> {
    let mut verifier = ChainVerifier::new();
    for row in rows {
        verifier.check(row).map_err(|broken| BrokenRow {
            lease_id,
            row_id: Some(broken.row_id),
            fault: Fault::Link(broken.kind),
        })?;
    }
    let tail = rows
        .last()
        .map_or(GENESIS.as_slice(), |row| row.hash.as_slice());
    if tail != audit_head {
        return Err(BrokenRow {
            lease_id,
            row_id: rows.last().map(|row| row.entry.id),
            fault: Fault::CutTail,
        });
    }
    Ok(())
}

/// What a whole-database check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intact {
    pub rows: usize,
    pub leases: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Broken(#[from] BrokenRow),
    #[error("reading the audit log failed")]
    Database(#[from] sqlx::Error),
    /// The database has no lease schema: the lease service has never started against it.
    #[error("this database has no lease audit log (the lease service creates it when it starts)")]
    NoAuditLog,
}

/// Walks every lease's chain, oldest lease first, each in seq order, and names the first
/// broken row.
#[tracing::instrument(skip_all)]
pub async fn verify_all(pool: &PgPool) -> Result<Intact, VerifyError> {
    // Pointed at the wrong database, say so instead of failing on a missing relation.
    let table = sqlx::query_scalar!(r#"SELECT to_regclass('lease.audit_log')::text AS "table""#)
        .fetch_one(pool)
        .await?;
    if table.is_none() {
        return Err(VerifyError::NoAuditLog);
    }
    let mut leases =
        sqlx::query!(r#"SELECT id, audit_head FROM lease.leases ORDER BY created_at, id"#)
            .fetch(pool);
    let mut intact = Intact { rows: 0, leases: 0 };
    // The lease list streams on one connection while chains are read on others.
    while let Some(lease) = leases.try_next().await? {
        let rows = chain(pool, lease.id).await?;
        verify_lease(lease.id, &rows, &lease.audit_head)?;
        intact.rows += rows.len();
        intact.leases += 1;
    }
    // Rows of a lease that no longer exists cannot be: the foreign key keeps them tied.
    Ok(intact)
}

/// The client IP as a plain address, for answers.
pub fn ip_text(ip: Option<IpAddr>) -> Option<String> {
    ip.map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use rentory_auth::{RequestContext, Role, UserStatus};

    use super::*;
    use crate::lifecycle::Status;

    fn actor() -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            role: Role::Landlord,
            status: UserStatus::Active,
            position: None,
            session_id: Uuid::nil(),
            context: RequestContext {
                client_ip: Some("203.0.113.9".parse().unwrap()),
                request_id: Some("req-1".into()),
                user_agent: Some("ua/1".into()),
            },
        }
    }

    fn chain_of(n: usize) -> (Uuid, Vec<ChainedEntry>) {
        let lease_id = Uuid::now_v7();
        let actor = actor();
        let mut prev = GENESIS;
        let mut rows = vec![];
        for i in 0..n {
            let row = seal(
                &prev,
                &Record {
                    lease_id,
                    actor: &actor,
                    transition: Transition {
                        from: (i > 0).then_some(Status::Draft),
                        to: Status::Draft,
                    },
                    reason: None,
                    content_sha256: "00",
                    at: OffsetDateTime::now_utc(),
                },
            );
            prev = head(&row.hash).unwrap();
            rows.push(row);
        }
        (lease_id, rows)
    }

    #[test]
    fn rows_are_version_2_with_the_request_context() {
        let (_, rows) = chain_of(1);
        let e = &rows[0].entry;
        assert_eq!(e.user_agent.as_deref(), Some("ua/1"));
        assert_eq!(e.request_id.as_deref(), Some("req-1"));
        assert_eq!(e.ip_address, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(rows[0].prev_hash, GENESIS.to_vec());
        assert!(rentory_audit::canonical(e).starts_with(b"\0\0\0\x10rentory-audit/v2"));
    }

    #[test]
    fn a_cut_tail_and_an_edit_are_named() {
        let (id, rows) = chain_of(3);
        let head = rows[2].hash.clone();
        assert_eq!(verify_lease(id, &rows, &head), Ok(()));
        let cut = verify_lease(id, &rows[..2], &head).unwrap_err();
        assert_eq!(
            (cut.row_id, cut.fault),
            (Some(rows[1].entry.id), Fault::CutTail)
        );
        assert_eq!(verify_lease(id, &[], &head).unwrap_err().row_id, None);
        let mut edited = rows.clone();
        edited[1].entry.reason = Some("x".into());
        let broken = verify_lease(id, &edited, &head).unwrap_err();
        assert_eq!(
            (broken.row_id, broken.fault),
            (Some(rows[1].entry.id), Fault::Link(BrokenKind::WrongHash))
        );
        assert_eq!(verify_lease(id, &[], &GENESIS), Ok(()));
    }
}
