//! Hash-chained audit rows, shared by every service that keeps an append-only audit table
//! (KYC decisions, payment status changes, lease signatures). Pure: no I/O, no database types.
//!
//! Each row stores `prev_hash` (the previous row's `hash`, or [`GENESIS`] for the first)
//! and `hash = SHA-256(prev_hash || canonical(row))`, so changing, removing or reordering
//! any row breaks the chain at that row, and [`verify`] names it. Appending needs the
//! previous row's hash, so appends to one table must be serialised (one writer at a time,
//! e.g. `pg_advisory_xact_lock`) or the chain forks.
//!
//! What the chain cannot show on its own is that rows were cut off *the end*; compare the
//! last hash with one kept elsewhere (a log line, an exported checkpoint) for that.
//!
//! # Canonical encoding (version 1)
//!
//! [`canonical`] is a byte string that two different rows can never share:
//!
//! ```text
//! canonical = frame("rentory-audit/v1") || field("id") || field("subject_id") || ...
//! field     = frame(name) || presence || value
//! presence  = 0x00 (NULL: nothing follows) | 0x01 (followed by frame(value bytes))
//! frame(b)  = u32 big-endian length of b || b
//! ```
//!
//! Fields, always in this order: `id`, `subject_id`, `actor_id` (16 raw UUID bytes each),
//! `actor_role`, `ip_address` (the text form of the address, RFC 5952 for IPv6),
//! `request_id`, `from_status`, `to_status`, `reason` (UTF-8), `at` (i64 big-endian
//! microseconds since the Unix epoch, floored: the precision Postgres `timestamptz`
//! keeps, so a row hashes the same before and after a database round trip).
//! Every variable-length value is framed by its length, so no field can bleed into the
//! next, and NULL differs from the empty string.
//!
//! # Version 2
//!
//! Leases also record the client's user agent and the SHA-256 of the document a change
//! applies to. A row with either set is encoded as version 2: `frame("rentory-audit/v2")`,
//! the version 1 fields in the same order, then `user_agent` and `content_sha256` (UTF-8).
//! A row with neither keeps the version 1 bytes, so chains written before version 2 (KYC,
//! payments) verify unchanged; the two versions begin with different format frames, so no
//! version 1 row can share its bytes with a version 2 row.

use std::fmt;
use std::net::IpAddr;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first row of every chain.
pub const GENESIS: Hash = [0u8; 32];

/// Identifies the encoding; a new layout gets a new version, never a silent change.
const FORMAT_V1: &[u8] = b"rentory-audit/v1";
const FORMAT_V2: &[u8] = b"rentory-audit/v2";

/// One status change as an audit table stores it, without the chain columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: Uuid,
    /// The audited object: a verification request, a lease.
    pub subject_id: Uuid,
    pub actor_id: Uuid,
    pub actor_role: String,
    /// The client IP the gateway saw; absent for calls that did not come through it.
    pub ip_address: Option<IpAddr>,
    pub request_id: Option<String>,
    /// Absent when the row records the object's creation.
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason: Option<String>,
    /// Hashed at microsecond precision; see [`truncate_to_micros`].
    pub at: OffsetDateTime,
    /// The client's user agent as the gateway forwarded it (version 2).
    pub user_agent: Option<String>,
    /// Lower-case hex SHA-256 of the document the change applies to (version 2).
    pub content_sha256: Option<String>,
}

/// The canonical bytes of `entry` (see the crate docs for the layout).
pub fn canonical(entry: &AuditEntry) -> Vec<u8> {
    let version2 = entry.user_agent.is_some() || entry.content_sha256.is_some();
    let mut out = Vec::with_capacity(256);
    frame(&mut out, if version2 { FORMAT_V2 } else { FORMAT_V1 });
    field(&mut out, "id", Some(entry.id.as_bytes()));
    field(&mut out, "subject_id", Some(entry.subject_id.as_bytes()));
    field(&mut out, "actor_id", Some(entry.actor_id.as_bytes()));
    field(&mut out, "actor_role", Some(entry.actor_role.as_bytes()));
    let ip = entry.ip_address.map(|ip| ip.to_string());
    field(&mut out, "ip_address", ip.as_deref().map(str::as_bytes));
    field(
        &mut out,
        "request_id",
        entry.request_id.as_deref().map(str::as_bytes),
    );
    field(
        &mut out,
        "from_status",
        entry.from_status.as_deref().map(str::as_bytes),
    );
    field(&mut out, "to_status", Some(entry.to_status.as_bytes()));
    field(
        &mut out,
        "reason",
        entry.reason.as_deref().map(str::as_bytes),
    );
    field(&mut out, "at", Some(&unix_micros(entry.at).to_be_bytes()));
    if version2 {
        field(
            &mut out,
            "user_agent",
            entry.user_agent.as_deref().map(str::as_bytes),
        );
        field(
            &mut out,
            "content_sha256",
            entry.content_sha256.as_deref().map(str::as_bytes),
        );
    }
    out
}

fn frame(out: &mut Vec<u8>, bytes: &[u8]) {
    // Values are bounded by the database long before 4 GiB; saturating keeps this total.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

fn field(out: &mut Vec<u8>, name: &str, value: Option<&[u8]>) {
    frame(out, name.as_bytes());
    match value {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            frame(out, bytes);
        }
    }
}

fn unix_micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos().div_euclid(1_000);
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

/// `at` without its sub-microsecond part, in UTC: what Postgres stores. Use it for the
/// value you both hash and insert.
pub fn truncate_to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.unix_timestamp_nanos();
    let floored = nanos - nanos.rem_euclid(1_000);
    OffsetDateTime::from_unix_timestamp_nanos(floored).unwrap_or(at)
}

/// `SHA-256(prev_hash || canonical)`.
pub fn chain(prev_hash: &Hash, canonical: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical);
    hasher.finalize().into()
}

/// A row as stored: the entry and its chain columns. The hashes are byte vectors because
/// a tampered table may hold anything, including values of the wrong length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedEntry {
    pub entry: AuditEntry,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl ChainedEntry {
    /// Links `entry` after the row whose hash is `prev_hash` ([`GENESIS`] for the first).
    pub fn seal(prev_hash: &Hash, entry: AuditEntry) -> Self {
        let hash = chain(prev_hash, &canonical(&entry));
        Self {
            entry,
            prev_hash: prev_hash.to_vec(),
            hash: hash.to_vec(),
        }
    }
}

/// What is wrong with the first row that does not check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokenKind {
    /// `prev_hash` is not the previous row's `hash` (or [`GENESIS`] for the first row): a
    /// row before it was removed, inserted or reordered, or this column was edited.
    WrongPrevHash,
    /// `hash` does not match the row's contents: the row (or its hash) was edited.
    WrongHash,
}

impl fmt::Display for BrokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WrongPrevHash => "prev_hash does not match the previous row's hash",
            Self::WrongHash => "hash does not match the row's contents",
        })
    }
}

/// The first broken row of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at row {row_id} (position {position}): {kind}")]
pub struct Broken {
    pub row_id: Uuid,
    /// Zero-based position of the row in the order walked.
    pub position: usize,
    pub kind: BrokenKind,
}

/// Walks `rows` in chain order (oldest first) and names the first row that does not
/// check out. An empty chain is intact.
pub fn verify<'a>(rows: impl IntoIterator<Item = &'a ChainedEntry>) -> Result<(), Broken> {
    let mut verifier = ChainVerifier::new();
    rows.into_iter().try_for_each(|row| verifier.check(row))
}

/// [`verify`] one row at a time, for chains streamed from a database without holding
/// them in memory.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_prev: Vec<u8>,
    position: usize,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// A verifier expecting the first row of a chain next.
    pub fn new() -> Self {
        Self {
            expected_prev: GENESIS.to_vec(),
            position: 0,
        }
    }

    /// Rows checked so far.
    pub fn checked(&self) -> usize {
        self.position
    }

    /// Checks the next row; after an error the verifier should not be used further.
    pub fn check(&mut self, row: &ChainedEntry) -> Result<(), Broken> {
        let broken = |kind| Broken {
            row_id: row.entry.id,
            position: self.position,
            kind,
        };
        if row.prev_hash != self.expected_prev {
            return Err(broken(BrokenKind::WrongPrevHash));
        }
        // prev_hash equals a 32-byte value here, so the conversion cannot fail.
        let prev: Hash = row
            .prev_hash
            .as_slice()
            .try_into()
            .map_err(|_| broken(BrokenKind::WrongPrevHash))?;
        if chain(&prev, &canonical(&row.entry)).as_slice() != row.hash.as_slice() {
            return Err(broken(BrokenKind::WrongHash));
        }
        self.expected_prev.clone_from(&row.hash);
        self.position += 1;
        Ok(())
    }
}

/// Hex form of a hash, for logs and API answers.
pub fn to_hex(hash: &[u8]) -> String {
    hex::encode(hash)
}

#[cfg(test)]
mod tests;
