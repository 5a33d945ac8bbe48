//! The SQL of leases and their versions. Every statement is compile-time checked
//! (`.sqlx/`); writes take the caller's transaction so a change, its audit row and its
//! event commit together.

use ipnetwork::IpNetwork;
use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// A lease as stored.
#[derive(Debug, Clone)]
pub struct LeaseRow {
    pub id: Uuid,
    pub property_id: Uuid,
    pub tenant_id: Uuid,
    pub landlord_id: Uuid,
    pub status: String,
    pub version: i32,
    pub content: String,
    pub content_sha256: String,
    pub rent_kobo: i64,
    pub rent_period: String,
    pub duration_months: i32,
    pub start_date: Date,
    pub deposit_kobo: i64,
    pub service_charge_kobo: i64,
    pub advance_rent_months: i32,
    pub negotiation_points: Vec<String>,
    pub tenancy: String,
    pub jurisdiction: String,
    pub property_title: String,
    pub premises_address: String,
    pub landlord_name: String,
    pub tenant_name: String,
    pub drafted_by_model: String,
    pub draft_reasons: Vec<String>,
    pub landlord_signed_at: Option<OffsetDateTime>,
    pub landlord_signed_sha256: Option<String>,
    pub landlord_signed_ip: Option<IpNetwork>,
    pub tenant_signed_at: Option<OffsetDateTime>,
    pub tenant_signed_sha256: Option<String>,
    pub tenant_signed_ip: Option<IpNetwork>,
    pub authorized_by: Option<Uuid>,
    pub authorized_role: Option<String>,
    pub authorized_ip: Option<IpNetwork>,
    pub fully_signed_at: Option<OffsetDateTime>,
    pub document: Option<String>,
    pub document_sha256: Option<String>,
    pub audit_head: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[tracing::instrument(skip_all, fields(lease_id = %id))]
pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<LeaseRow>, sqlx::Error> {
    sqlx::query_as!(LeaseRow, r#"SELECT * FROM lease.leases WHERE id = $1"#, id)
        .fetch_optional(pool)
        .await
}

/// The lease, locked until the transaction ends: every change and its audit row are made
/// under this lock, so a lease's changes (and its audit chain) are serialised without any
/// global lock.
#[tracing::instrument(skip_all, fields(lease_id = %id))]
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<LeaseRow>, sqlx::Error> {
    sqlx::query_as!(
        LeaseRow,
        r#"SELECT * FROM lease.leases WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The open (not FULLY_SIGNED) lease of this property and tenant, if any.
pub async fn open_lease_of(
    pool: &PgPool,
    property_id: Uuid,
    tenant_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT id FROM lease.leases
           WHERE property_id = $1 AND tenant_id = $2 AND status <> 'FULLY_SIGNED'"#,
        property_id,
        tenant_id
    )
    .fetch_optional(pool)
    .await
}

/// Whether this tenant already holds a fully signed lease of this property (a sitting
/// tenant, for s.4).
pub async fn is_sitting(
    pool: &PgPool,
    property_id: Uuid,
    tenant_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM lease.leases
           WHERE property_id = $1 AND tenant_id = $2 AND status = 'FULLY_SIGNED') AS "found!""#,
        property_id,
        tenant_id
    )
    .fetch_one(pool)
    .await?;
    Ok(found)
}

/// Inserts a new DRAFT. A second open lease of the pair fails on
/// `leases_one_open_per_pair`.
pub async fn insert(conn: &mut PgConnection, l: &LeaseRow) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO lease.leases
             (id, property_id, tenant_id, landlord_id, status, version, content, content_sha256,
              rent_kobo, rent_period, duration_months, start_date, deposit_kobo,
              service_charge_kobo, advance_rent_months, negotiation_points, tenancy,
              jurisdiction, property_title, premises_address, landlord_name, tenant_name,
              drafted_by_model, draft_reasons, audit_head, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                   $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)"#,
        l.id,
        l.property_id,
        l.tenant_id,
        l.landlord_id,
        l.status,
        l.version,
        l.content,
        l.content_sha256,
        l.rent_kobo,
        l.rent_period,
        l.duration_months,
        l.start_date,
        l.deposit_kobo,
        l.service_charge_kobo,
        l.advance_rent_months,
        &l.negotiation_points,
        l.tenancy,
        l.jurisdiction,
        l.property_title,
        l.premises_address,
        l.landlord_name,
        l.tenant_name,
        l.drafted_by_model,
        &l.draft_reasons,
        l.audit_head,
        l.created_at,
        l.updated_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_version(
    conn: &mut PgConnection,
    lease_id: Uuid,
    version: i32,
    content: &str,
    content_sha256: &str,
    author_id: Uuid,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO lease.lease_versions
             (lease_id, version, content, content_sha256, author_id, created_at)
           VALUES ($1, $2, $3, $4, $5, $6)"#,
        lease_id,
        version,
        content,
        content_sha256,
        author_id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes back what a change altered on a locked row: status, content, signatures,
/// authorization, document and audit head.
pub async fn save(conn: &mut PgConnection, l: &LeaseRow) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE lease.leases SET
             status = $2, version = $3, content = $4, content_sha256 = $5,
             landlord_signed_at = $6, landlord_signed_sha256 = $7, landlord_signed_ip = $8,
             tenant_signed_at = $9, tenant_signed_sha256 = $10, tenant_signed_ip = $11,
             authorized_by = $12, authorized_role = $13, authorized_ip = $14,
             fully_signed_at = $15, document = $16, document_sha256 = $17,
             audit_head = $18, updated_at = $19
           WHERE id = $1"#,
        l.id,
        l.status,
        l.version,
        l.content,
        l.content_sha256,
        l.landlord_signed_at,
        l.landlord_signed_sha256,
        l.landlord_signed_ip,
        l.tenant_signed_at,
        l.tenant_signed_sha256,
        l.tenant_signed_ip,
        l.authorized_by,
        l.authorized_role,
        l.authorized_ip,
        l.fully_signed_at,
        l.document,
        l.document_sha256,
        l.audit_head,
        l.updated_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What ListLeases may filter on; `party` limits to leases the user is a party to.
pub struct ListFilter {
    pub party: Option<Uuid>,
    pub status: Option<String>,
    pub property_id: Option<Uuid>,
    /// Strictly older than this (created_at, id), newest first.
    pub before: Option<(OffsetDateTime, Uuid)>,
    pub limit: i64,
}

pub async fn list(pool: &PgPool, f: &ListFilter) -> Result<Vec<LeaseRow>, sqlx::Error> {
    let (before_at, before_id) = f.before.unzip();
    sqlx::query_as!(
        LeaseRow,
        r#"SELECT * FROM lease.leases
           WHERE ($1::uuid IS NULL OR landlord_id = $1 OR tenant_id = $1)
             AND ($2::text IS NULL OR status = $2)
             AND ($3::uuid IS NULL OR property_id = $3)
             AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
           ORDER BY created_at DESC, id DESC
           LIMIT $6"#,
        f.party,
        f.status,
        f.property_id,
        before_at,
        before_id,
        f.limit
    )
    .fetch_all(pool)
    .await
}

pub struct VersionRow {
    pub version: i32,
    pub content: String,
    pub content_sha256: String,
    pub author_id: Uuid,
    pub created_at: OffsetDateTime,
}

pub async fn versions(pool: &PgPool, lease_id: Uuid) -> Result<Vec<VersionRow>, sqlx::Error> {
    sqlx::query_as!(
        VersionRow,
        r#"SELECT version, content, content_sha256, author_id, created_at
           FROM lease.lease_versions WHERE lease_id = $1 ORDER BY version"#,
        lease_id
    )
    .fetch_all(pool)
    .await
}

/// A FULLY_SIGNED lease whose signed content or certified document has this hash:
/// (fully_signed_at, matched the document).
pub async fn verify(
    pool: &PgPool,
    sha256: &str,
) -> Result<Option<(OffsetDateTime, bool)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT fully_signed_at AS "fully_signed_at!", document_sha256 = $1 AS "document!"
           FROM lease.leases
           WHERE status = 'FULLY_SIGNED' AND (content_sha256 = $1 OR document_sha256 = $1)
           ORDER BY fully_signed_at
           LIMIT 1"#,
        sha256
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.fully_signed_at, r.document)))
}
