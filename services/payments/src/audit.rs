//! The append-only, hash-chained log of transaction status changes
//! (`payments.transaction_audit`), built on `rentory-audit` like KYC's. Every status change
//! appends one row in the database transaction that makes the change; the table refuses
//! UPDATE, DELETE and TRUNCATE (migration 0001).
//!
//! Changes are made by people (the payer starting a checkout or asking for a verify, staff
//! refunding) and by the platform itself (a webhook, the reconciler). The chain's
//! `actor_role` is the source, followed by `/<role>` when a person acted, and its
//! `actor_id` the nil UUID when none did, so the source is hashed with the rest.

use std::net::IpAddr;

use futures::TryStreamExt;
use ipnetwork::IpNetwork;
use rentory_audit::{AuditEntry, ChainVerifier, ChainedEntry, GENESIS, Hash, truncate_to_micros};
use rentory_auth::{Actor, RequestContext};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;
use crate::transaction::Status;

/// Key of the transaction-level advisory lock that serialises appends, so two
/// transactions never chain onto the same previous row. Advisory locks are per database:
/// other services' chains use other keys. (ASCII "pay_audt".)
pub const APPEND_LOCK_KEY: i64 = 0x7061_795f_6175_6474;

/// What made a status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The payer started a checkout (the transaction's creation, or a stale attempt closed).
    Checkout,
    /// The payer, or staff, asked for the transaction to be checked now.
    ClientVerify,
    Webhook,
    Reconciler,
    Refund,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Checkout => "CHECKOUT",
            Source::ClientVerify => "CLIENT_VERIFY",
            Source::Webhook => "WEBHOOK",
            Source::Reconciler => "RECONCILER",
            Source::Refund => "REFUND",
        }
    }
}

/// Who or what caused a change, and the request that carried it.
#[derive(Debug, Clone)]
pub struct Cause {
    pub source: Source,
    /// The person, when one acted: (id, role).
    pub actor: Option<(Uuid, String)>,
    pub ip_address: Option<IpAddr>,
    pub request_id: Option<String>,
}

impl Cause {
    /// A person's call: their id and role, and the gateway's facts about the request.
    pub fn person(source: Source, actor: &Actor) -> Self {
        Self {
            source,
            actor: Some((actor.user_id, actor.role.as_str().to_owned())),
            ip_address: actor.context.client_ip,
            request_id: actor.context.request_id.clone(),
        }
    }

    /// The platform's own work; `request` is the delivery that caused it, if any (a
    /// webhook's).
    pub fn platform(source: Source, request: Option<&RequestContext>) -> Self {
        Self {
            source,
            actor: None,
            ip_address: request.and_then(|r| r.client_ip),
            request_id: request.and_then(|r| r.request_id.clone()),
        }
    }

    /// The chain's `(actor_id, actor_role)`: see the module docs.
    fn chained_actor(&self) -> (Uuid, String) {
        chained_actor(self.source.as_str(), self.actor.as_ref())
    }
}

fn chained_actor(source: &str, actor: Option<&(Uuid, String)>) -> (Uuid, String) {
    match actor {
        Some((id, role)) => (*id, format!("{source}/{role}")),
        None => (Uuid::nil(), source.to_owned()),
    }
}

/// One status change of a transaction.
pub struct Transition<'a> {
    pub transaction_id: Uuid,
    pub cause: &'a Cause,
    /// `None` for the row recording the transaction's creation.
    pub from: Option<Status>,
    pub to: Status,
    pub reason: Option<&'a str>,
    pub at: OffsetDateTime,
}

/// Appends `transition` inside the caller's transaction (which must also make the change).
/// Holds the append lock until that transaction ends.
#[tracing::instrument(skip_all, fields(transaction_id = %transition.transaction_id))]
pub async fn append(conn: &mut PgConnection, transition: &Transition<'_>) -> Result<(), Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    let last = sqlx::query_scalar!(
        "SELECT hash FROM payments.transaction_audit ORDER BY seq DESC LIMIT 1"
    )
    .fetch_optional(&mut *conn)
    .await?;
    let prev: Hash = match last {
        None => GENESIS,
        Some(bytes) => bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::corrupt("the last audit row's hash is not 32 bytes"))?,
    };
    let cause = transition.cause;
    let (actor_id, actor_role) = cause.chained_actor();
    let entry = AuditEntry {
        id: Uuid::now_v7(),
        subject_id: transition.transaction_id,
        actor_id,
        actor_role,
        ip_address: cause.ip_address,
        request_id: cause.request_id.clone(),
        from_status: transition.from.map(|s| s.as_str().to_owned()),
        to_status: transition.to.as_str().to_owned(),
        reason: transition.reason.map(str::to_owned),
        // Stored and hashed at the precision Postgres keeps.
        at: truncate_to_micros(transition.at),
        user_agent: None,
        content_sha256: None,
    };
    let row = ChainedEntry::seal(&prev, entry);
    let e = &row.entry;
    let (person, role) = match &cause.actor {
        Some((id, role)) => (Some(*id), Some(role.as_str())),
        None => (None, None),
    };
    sqlx::query!(
        r#"INSERT INTO payments.transaction_audit
             (id, transaction_id, source, actor_id, actor_role, ip_address, request_id,
              from_status, to_status, reason, at, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"#,
        e.id,
        e.subject_id,
        cause.source.as_str(),
        person,
        role,
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
/// checked, or an error naming the first row that does not check out.
#[tracing::instrument(skip_all)]
pub async fn verify_chain(pool: &PgPool) -> Result<usize, ChainError> {
    let mut rows = sqlx::query!(
        r#"SELECT id, transaction_id, source, actor_id, actor_role, ip_address, request_id,
                  from_status, to_status, reason, at, prev_hash, hash
           FROM payments.transaction_audit ORDER BY seq"#
    )
    .fetch(pool);
    let mut verifier = ChainVerifier::new();
    while let Some(row) = rows.try_next().await? {
        let person = match (row.actor_id, row.actor_role) {
            (Some(id), Some(role)) => Some((id, role)),
            _ => None,
        };
        let (actor_id, actor_role) = chained_actor(&row.source, person.as_ref());
        verifier.check(&ChainedEntry {
            entry: AuditEntry {
                id: row.id,
                subject_id: row.transaction_id,
                actor_id,
                actor_role,
                ip_address: row.ip_address.map(|net| net.ip()),
                request_id: row.request_id,
                from_status: row.from_status,
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

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("reading the audit log failed")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Broken(#[from] rentory_audit::Broken),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_part_of_what_is_hashed() {
        let person = (Uuid::now_v7(), "TENANT".to_owned());
        assert_eq!(
            chained_actor("CLIENT_VERIFY", Some(&person)),
            (person.0, "CLIENT_VERIFY/TENANT".to_owned())
        );
        assert_eq!(
            chained_actor("WEBHOOK", None),
            (Uuid::nil(), "WEBHOOK".to_owned())
        );
        let cause = Cause::platform(Source::Reconciler, None);
        assert_eq!(cause.chained_actor().1, "RECONCILER");
        assert_eq!(cause.request_id, None);
    }
}
