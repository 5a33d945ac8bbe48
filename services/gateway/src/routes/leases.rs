//! Leases: drafted by the AI legal architect for a property's landlord and a tenant, edited
//! while DRAFT, signed by both over the SHA-256 of the exact text they read, authorized by
//! compliance, and then served as a certified Markdown document whose hash anyone can check.
//! Every rule (who may see a lease, the state machine, compliance findings) is the lease
//! service's; the gateway checks shapes, forwards, and maps. Two things are the gateway's
//! own: the audit chain's verdict goes out as the `Audit-Chain` header (the body is the bare
//! array API.md names), and the certified document's bytes are hashed again here before
//! they are served, so a corrupted document is never passed on as verified.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rentory_proto::lease::v1 as pb;
use rentory_proto::prost_types::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::extract::{ApiJson, ApiQuery, OptionalJson, TextFields, present};
use crate::grpc::Forward;
use crate::model::{naira, non_empty};
use crate::problem::{Problem, ProblemDocument};
use crate::rate_limit::Guarded;
use crate::routes::{Created, created};
use crate::state::AppState;

/// `PATCH /leases/{id}` carries a whole lease: the service caps content at 60,000
/// characters, which with JSON escaping and some non-ASCII text needs more than the default
/// JSON cap. Bodies over this are refused before they are read.
pub const MAX_LEASE_BODY_BYTES: usize = 128 * 1024;
/// The response header carrying the audit chain's verdict.
pub const AUDIT_CHAIN_HEADER: &str = "audit-chain";
/// RFC 9530's digest of the representation sent.
pub const REPR_DIGEST_HEADER: &str = "repr-digest";

fn at(ts: Option<Timestamp>) -> Option<OffsetDateTime> {
    ts.as_ref().and_then(rentory_proto::offset_date_time)
}

// --- bodies --------------------------------------------------------------------------

/// What the lease says about money and time.
#[derive(Debug, Serialize, ToSchema)]
pub struct TermsBody {
    #[schema(example = 250_000_000)]
    pub rent_kobo: i64,
    /// `rent_kobo` in naira, as a decimal string.
    #[schema(example = "2500000.00")]
    pub rent: String,
    /// YEAR, HALF_YEAR, QUARTER, MONTH or NIGHT: what the rent is per.
    #[schema(example = "YEAR")]
    pub rent_period: String,
    #[schema(example = 12)]
    pub duration_months: u32,
    /// YYYY-MM-DD.
    #[schema(example = "2026-06-01")]
    pub start_date: String,
    pub deposit_kobo: i64,
    #[schema(example = "0.00")]
    pub deposit: String,
    pub service_charge_kobo: i64,
    #[schema(example = "0.00")]
    pub service_charge: String,
    /// Rent paid in advance at signing, in months.
    pub advance_rent_months: u32,
    /// Points agreed in chat, each written into the lease as a clause.
    pub negotiation_points: Vec<String>,
}

impl From<pb::Terms> for TermsBody {
    fn from(t: pb::Terms) -> Self {
        Self {
            rent: naira(t.rent_kobo),
            rent_kobo: t.rent_kobo,
            rent_period: t.rent_period,
            duration_months: t.duration_months,
            start_date: t.start_date,
            deposit: naira(t.deposit_kobo),
            deposit_kobo: t.deposit_kobo,
            service_charge: naira(t.service_charge_kobo),
            service_charge_kobo: t.service_charge_kobo,
            advance_rent_months: t.advance_rent_months,
            negotiation_points: t.negotiation_points,
        }
    }
}

/// A compliance check the lease does not pass.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceFinding {
    #[schema(example = "ADVANCE_RENT_OVER_LIMIT")]
    pub code: String,
    /// BLOCKING (refuses signing) or ADVISORY.
    #[schema(example = "BLOCKING")]
    pub severity: String,
    pub message: String,
    #[schema(example = "Lagos State Tenancy Law 2011, s.4")]
    pub rule: String,
}

/// One party's signature over the content with this hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignatureBody {
    /// LANDLORD or TENANT.
    #[schema(example = "TENANT")]
    pub party: String,
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub signed_at: Option<OffsetDateTime>,
    pub content_sha256: String,
    pub ip_address: Option<String>,
}

/// A lease.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeaseBody {
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-00000000d001")]
    pub id: String,
    pub property_id: String,
    pub tenant_id: String,
    pub landlord_id: String,
    /// DRAFT, SIGNED_BY_LANDLORD, SIGNED_BY_TENANT, PENDING_ADMIN or FULLY_SIGNED.
    #[schema(example = "DRAFT")]
    pub status: String,
    /// Markdown.
    pub content: String,
    /// Lower-case hex SHA-256 of the UTF-8 content: what signing names.
    pub content_sha256: String,
    pub version: u32,
    pub terms: Option<TermsBody>,
    pub findings: Vec<ComplianceFinding>,
    pub signatures: Vec<SignatureBody>,
    /// NEW, or SITTING when the tenant held a fully signed lease of this property before.
    #[schema(example = "NEW")]
    pub tenancy: String,
    #[schema(example = "Lagos State")]
    pub jurisdiction: String,
    pub property_title: String,
    pub premises_address: String,
    pub landlord_name: String,
    pub tenant_name: String,
    /// The model that drafted version 1 (`offline` for the template).
    pub drafted_by_model: String,
    pub draft_reasons: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub fully_signed_at: Option<OffsetDateTime>,
    /// The compliance officer who authorized it.
    pub authorized_by: Option<String>,
}

impl From<pb::Lease> for LeaseBody {
    fn from(l: pb::Lease) -> Self {
        Self {
            id: l.id,
            property_id: l.property_id,
            tenant_id: l.tenant_id,
            landlord_id: l.landlord_id,
            status: l.status,
            content: l.content,
            content_sha256: l.content_sha256,
            version: l.version,
            terms: l.terms.map(Into::into),
            findings: l
                .findings
                .into_iter()
                .map(|f| ComplianceFinding {
                    code: f.code,
                    severity: f.severity,
                    message: f.message,
                    rule: f.rule,
                })
                .collect(),
            signatures: l
                .signatures
                .into_iter()
                .map(|s| SignatureBody {
                    party: s.party,
                    user_id: s.user_id,
                    signed_at: at(s.signed_at),
                    content_sha256: s.content_sha256,
                    ip_address: s.ip_address.and_then(non_empty),
                })
                .collect(),
            tenancy: l.tenancy,
            jurisdiction: l.jurisdiction,
            property_title: l.property_title,
            premises_address: l.premises_address,
            landlord_name: l.landlord_name,
            tenant_name: l.tenant_name,
            drafted_by_model: l.drafted_by_model,
            draft_reasons: l.draft_reasons,
            created_at: at(l.created_at),
            updated_at: at(l.updated_at),
            fully_signed_at: at(l.fully_signed_at),
            authorized_by: l.authorized_by.and_then(non_empty),
        }
    }
}

/// A page of leases, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeasePage {
    pub items: Vec<LeaseBody>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// One version of a lease's content.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeaseVersionBody {
    pub version: u32,
    pub content: String,
    pub content_sha256: String,
    pub author_id: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
}

/// Every version of the content, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeaseVersions {
    pub items: Vec<LeaseVersionBody>,
}

/// One row of a lease's hash-chained audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryBody {
    pub id: String,
    /// Null on the row that records the lease's creation.
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_id: String,
    pub actor_role: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
    /// The content the change was about.
    pub content_sha256: String,
    pub reason: Option<String>,
    /// Lower-case hex; the next row's `prev_hash`.
    pub hash: String,
    pub prev_hash: String,
}

impl From<pb::AuditEntry> for AuditEntryBody {
    fn from(e: pb::AuditEntry) -> Self {
        Self {
            id: e.id,
            from_status: e.from_status.and_then(non_empty),
            to_status: e.to_status,
            actor_id: e.actor_id,
            actor_role: e.actor_role,
            ip_address: e.ip_address.and_then(non_empty),
            user_agent: e.user_agent.and_then(non_empty),
            request_id: e.request_id.and_then(non_empty),
            at: at(e.at),
            content_sha256: e.content_sha256,
            reason: e.reason.and_then(non_empty),
            hash: e.hash,
            prev_hash: e.prev_hash,
        }
    }
}

/// Whether a document with this SHA-256 was fully signed here.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyBody {
    pub sha256: String,
    pub fully_signed: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub fully_signed_at: Option<OffsetDateTime>,
    /// SIGNED_CONTENT or CERTIFIED_DOCUMENT; null when nothing matched.
    #[schema(example = "CERTIFIED_DOCUMENT")]
    pub matched: Option<String>,
}

/// The next rent payment the tenant owes.
#[derive(Debug, Serialize, ToSchema)]
pub struct RentDueBody {
    /// 0 when the whole term is paid.
    pub amount_kobo: i64,
    #[schema(example = "2500000.00")]
    pub amount: String,
    /// 1-based number of the rent period this payment covers.
    pub period_number: u32,
    /// YYYY-MM-DD.
    pub period_start: String,
    /// YYYY-MM-DD, exclusive.
    pub period_end: String,
    pub paid_in_full: bool,
}

/// A rent payment and its receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct RentPaymentBody {
    pub transaction_id: String,
    pub reference: String,
    pub amount_kobo: i64,
    pub amount: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub paid_at: Option<OffsetDateTime>,
    pub period_number: u32,
    pub period_start: String,
    pub period_end: String,
    #[schema(example = "RR-0190f3a2-0001")]
    pub receipt_number: String,
    /// The rent receipt s.5 of the Lagos State Tenancy Law requires, as Markdown.
    pub receipt_markdown: String,
    pub refunded: bool,
}

impl From<pb::RentPayment> for RentPaymentBody {
    fn from(p: pb::RentPayment) -> Self {
        Self {
            transaction_id: p.transaction_id,
            reference: p.reference,
            amount: naira(p.amount_kobo),
            amount_kobo: p.amount_kobo,
            paid_at: at(p.paid_at),
            period_number: p.period_number,
            period_start: p.period_start,
            period_end: p.period_end,
            receipt_number: p.receipt_number,
            receipt_markdown: p.receipt_markdown,
            refunded: p.refunded,
        }
    }
}

/// What the tenant owes next and what was paid.
#[derive(Debug, Serialize, ToSchema)]
pub struct RentBody {
    pub next_due: RentDueBody,
    /// Oldest first.
    pub payments: Vec<RentPaymentBody>,
}

// --- requests ------------------------------------------------------------------------

/// The terms the landlord offers. Unknown fields are refused: a misspelt money field would
/// otherwise be silently left out of a legal document.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsRequest {
    #[schema(example = 250_000_000)]
    pub rent_kobo: i64,
    /// YEAR, HALF_YEAR, QUARTER, MONTH or NIGHT; the property's when left out.
    #[schema(example = "YEAR")]
    pub rent_period: Option<String>,
    #[schema(example = 12)]
    pub duration_months: u32,
    /// YYYY-MM-DD.
    #[schema(example = "2026-06-01")]
    pub start_date: String,
    pub deposit_kobo: Option<i64>,
    pub service_charge_kobo: Option<i64>,
    pub advance_rent_months: Option<u32>,
    pub negotiation_points: Option<Vec<String>>,
}

impl From<TermsRequest> for pb::Terms {
    fn from(t: TermsRequest) -> Self {
        Self {
            rent_kobo: t.rent_kobo,
            rent_period: t.rent_period.unwrap_or_default(),
            duration_months: t.duration_months,
            start_date: t.start_date,
            deposit_kobo: t.deposit_kobo.unwrap_or_default(),
            service_charge_kobo: t.service_charge_kobo.unwrap_or_default(),
            advance_rent_months: t.advance_rent_months.unwrap_or_default(),
            negotiation_points: t.negotiation_points.unwrap_or_default(),
        }
    }
}

/// A lease to draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftLeaseRequest {
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-00000000a001")]
    pub property_id: String,
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-00000000c001")]
    pub tenant_id: String,
    pub terms: TermsRequest,
}

/// New content for a DRAFT lease.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EditLeaseRequest {
    /// Markdown, at most 60,000 characters.
    pub content: String,
    /// The hash of the content the edit was made from: when given and no longer current,
    /// the edit is refused with 409 `stale-content` instead of overwriting another edit.
    pub base_content_sha256: Option<String>,
}

/// The content being signed, as the signer read it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignLeaseRequest {
    pub content_sha256: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WithdrawLeaseRequest {
    /// Why, for the audit log.
    #[schema(example = "the tenant asked for a longer term")]
    pub reason: String,
}

/// Optional: the content the officer reviewed.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AuthorizeLeaseRequest {
    pub content_sha256: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeasesQuery {
    /// Only leases in this status (e.g. PENDING_ADMIN: the compliance queue).
    pub status: Option<String>,
    /// Only leases of this property.
    pub property_id: Option<String>,
    /// Page size, 1 - 100 (default 50).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl LeasesQuery {
    fn into_request(self) -> Result<pb::ListLeasesRequest, Problem> {
        let mut fields = TextFields::default();
        let limit = fields.integer::<u32>("limit", self.limit.as_deref(), "a whole number 1 - 100");
        fields.finish()?;
        let text = |value: Option<String>| {
            present(value.as_deref())
                .map(str::to_owned)
                .unwrap_or_default()
        };
        Ok(pb::ListLeasesRequest {
            status: text(self.status),
            property_id: text(self.property_id),
            // 0 asks for the service's default.
            limit: limit.unwrap_or_default(),
            cursor: text(self.cursor),
        })
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// Lower-case (or upper-case) hex SHA-256 of the signed content or of the certified
    /// document, 64 characters.
    pub sha256: Option<String>,
}

/// The hash as the service stores it (lower-case hex), or a 422 naming `sha256`.
fn sha256_param(raw: Option<&str>) -> Result<String, Problem> {
    let Some(hash) = present(raw) else {
        return Err(Problem::invalid_field("sha256", "is required"));
    };
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Problem::invalid_field(
            "sha256",
            "must be a SHA-256 in hex (64 characters 0-9, a-f)",
        ));
    }
    Ok(hash.to_ascii_lowercase())
}

// --- handlers ------------------------------------------------------------------------

/// Drafts a lease (the LANDLORD of an ACTIVE property, for an ACTIVE tenant who has a chat
/// session about it): the AI legal architect writes it from the terms and the compliance
/// rules check it. One open lease per property and tenant: a second draft is 409 with the
/// open lease's `lease_id`.
#[utoipa::path(
    post,
    path = "/leases",
    tag = "leases",
    security(("bearer" = [])),
    request_body = DraftLeaseRequest,
    responses(
        (status = 201, description = "The DRAFT lease", body = LeaseBody),
        (status = 400, description = "An unknown field", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not the property's ACTIVE landlord", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such property or tenant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "An open lease exists (`lease_id` names it)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn draft_lease(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    ApiJson(body): ApiJson<DraftLeaseRequest>,
) -> Result<Created<LeaseBody>, Problem> {
    let lease = state
        .clients
        .leases
        .clone()
        .draft_lease(forward.with_authorization(user.authorization).request(
            pb::DraftLeaseRequest {
                property_id: body.property_id,
                tenant_id: body.tenant_id,
                terms: Some(body.terms.into()),
            },
        ))
        .await?
        .into_inner();
    Ok(created(lease.into()))
}

/// The caller's leases (as landlord or tenant), newest first; ADMIN and STAFF see all.
#[utoipa::path(
    get,
    path = "/leases",
    tag = "leases",
    security(("bearer" = [])),
    params(LeasesQuery),
    responses(
        (status = 200, body = LeasePage),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter, `limit` or `cursor`", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn list_leases(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    ApiQuery(query): ApiQuery<LeasesQuery>,
) -> Result<Json<LeasePage>, Problem> {
    let page = state
        .clients
        .leases
        .clone()
        .list_leases(
            forward
                .with_authorization(user.authorization)
                .request(query.into_request()?),
        )
        .await?
        .into_inner();
    Ok(Json(LeasePage {
        items: page.leases.into_iter().map(LeaseBody::from).collect(),
        next_cursor: non_empty(page.next_cursor),
    }))
}

/// Whether a document with this SHA-256 (the signed content, or the certified document of
/// `GET /leases/{id}/document`) was fully signed here, and when. Needs no token: a bank or a
/// court checks a document it was handed. Rate-limited per client IP.
#[utoipa::path(
    get,
    path = "/leases/verify",
    tag = "leases",
    params(VerifyQuery),
    responses(
        (status = 200, body = VerifyBody),
        (status = 422, description = "`sha256` missing or not 64 hex characters", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 429, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn verify_document(
    State(state): State<AppState>,
    forward: Forward,
    ApiQuery(query): ApiQuery<VerifyQuery>,
) -> Result<Json<VerifyBody>, Problem> {
    let sha256 = sha256_param(query.sha256.as_deref())?;
    let answer = state
        .clients
        .leases
        .clone()
        .verify_document(forward.request(pb::VerifyDocumentRequest { sha256 }))
        .await?
        .into_inner();
    Ok(Json(VerifyBody {
        sha256: answer.sha256,
        fully_signed: answer.fully_signed,
        fully_signed_at: at(answer.fully_signed_at),
        matched: non_empty(answer.matched),
    }))
}

/// One lease (its landlord, its tenant, ADMIN, STAFF).
#[utoipa::path(
    get,
    path = "/leases/{id}",
    tag = "leases",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Lease id")),
    responses(
        (status = 200, body = LeaseBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such lease, or not one the caller may see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn get_lease(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
) -> Result<Json<LeaseBody>, Problem> {
    let lease = state
        .clients
        .leases
        .clone()
        .get_lease(
            forward
                .with_authorization(user.authorization)
                .request(pb::GetLeaseRequest { lease_id: id }),
        )
        .await?
        .into_inner();
    Ok(Json(lease.into()))
}

/// Replaces the content of a DRAFT lease (its landlord): a new version with a new hash, and
/// the compliance rules run again. With `base_content_sha256`, an edit made from content
/// that has changed since is 409 `stale-content`.
#[utoipa::path(
    patch,
    path = "/leases/{id}",
    tag = "leases",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Lease id")),
    request_body = EditLeaseRequest,
    responses(
        (status = 200, body = LeaseBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not the lease's landlord", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not DRAFT (`lease_status` names the current one), or `stale-content`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "Over 128 KiB", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Empty or over 60,000 characters", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn edit_lease(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditLeaseRequest>,
) -> Result<Json<LeaseBody>, Problem> {
    let lease =
        state
            .clients
            .leases
            .clone()
            .edit_lease(forward.with_authorization(user.authorization).request(
                pb::EditLeaseRequest {
                    lease_id: id,
                    content: body.content,
                    base_content_sha256: body.base_content_sha256,
                },
            ))
            .await?
            .into_inner();
    Ok(Json(lease.into()))
}

/// Every version of the lease's content, oldest first.
#[utoipa::path(
    get,
    path = "/leases/{id}/versions",
    tag = "leases",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Lease id")),
    responses(
        (status = 200, body = LeaseVersions),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn list_versions(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
) -> Result<Json<LeaseVersions>, Problem> {
    let versions = state
        .clients
        .leases
        .clone()
        .list_versions(
            forward
                .with_authorization(user.authorization)
                .request(pb::ListVersionsRequest { lease_id: id }),
        )
        .await?
        .into_inner();
    Ok(Json(LeaseVersions {
        items: versions
            .versions
            .into_iter()
            .map(|v| LeaseVersionBody {
                version: v.version,
                content: v.content,
                content_sha256: v.content_sha256,
                author_id: v.author_id,
                created_at: at(v.created_at),
            })
            .collect(),
    }))
}

/// Signs the lease (its landlord or tenant) over the content whose SHA-256 is sent: it must
/// be the current content. The first signature makes it SIGNED_BY_LANDLORD or
/// SIGNED_BY_TENANT, the second PENDING_ADMIN.
#[utoipa::path(
    patch,
    path = "/leases/{id}/sign",
    tag = "leases",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Lease id")),
    request_body = SignLeaseRequest,
    responses(
        (status = 200, body = LeaseBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not a party, or not ACTIVE", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "`stale-content`: the hash is not the current content's; or `invalid-state` with `lease_status`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`not-compliant`: blocking compliance `findings`", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn sign_lease(
    State(state): State<AppState>,
    user: AuthUser<Guarded>,
    forward: Forward,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SignLeaseRequest>,
) -> Result<Json<LeaseBody>, Problem> {
    let lease =
        state
            .clients
            .leases
            .clone()
            .sign_lease(forward.with_authorization(user.authorization).request(
                pb::SignLeaseRequest {
                    lease_id: id,
                    content_sha256: body.content_sha256,
                },
            ))
            .await?
            .into_inner();
    Ok(Json(lease.into()))
}

/// Takes a partly signed lease back to DRAFT, clearing its signatures (its landlord, before
/// PENDING_ADMIN).
#[utoipa::path(
    post,
    path = "/leases/{id}/withdraw",
    tag = "leases",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Lease id")),
    request_body = WithdrawLeaseRequest,
    responses(
        (status = 200, body = LeaseBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not partly signed (`lease_status` names the current one)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn withdraw_lease(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WithdrawLeaseRequest>,
) -> Result<Json<LeaseBody>, Problem> {
    let lease = state
        .clients
        .leases
        .clone()
        .withdraw_lease(forward.with_authorization(user.authorization).request(
            pb::WithdrawLeaseRequest {
                lease_id: id,
                reason: body.reason,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(lease.into()))
}

/// PENDING_ADMIN -> FULLY_SIGNED (ADMIN, or STAFF with position COMPLIANCE_OFFICER). With
/// `content_sha256`, only if that is still the content the officer reviewed. The body may
/// be left out.
#[utoipa::path(
    post,
    path = "/leases/{id}/authorize",
    tag = "leases",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Lease id")),
    request_body(content = Option<AuthorizeLeaseRequest>, description = "Optional"),
    responses(
        (status = 200, body = LeaseBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not a compliance officer", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not PENDING_ADMIN (`lease_status` names the current one), or `stale-content`", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn authorize_lease(
    State(state): State<AppState>,
    user: AuthUser<Guarded>,
    forward: Forward,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<AuthorizeLeaseRequest>,
) -> Result<Json<LeaseBody>, Problem> {
    let body = body.unwrap_or_default();
    let lease = state
        .clients
        .leases
        .clone()
        .authorize_lease(forward.with_authorization(user.authorization).request(
            pb::AuthorizeLeaseRequest {
                lease_id: id,
                content_sha256: body.content_sha256,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(lease.into()))
}

/// The lease's audit rows, oldest first: a JSON array, each row's `prev_hash` the previous
/// row's `hash` (the parties, ADMIN, STAFF). The chain is re-checked on every read and the
/// verdict sent in the `Audit-Chain` header.
#[utoipa::path(
    get,
    path = "/leases/{id}/audit",
    tag = "leases",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Lease id")),
    responses(
        (status = 200, body = Vec<AuditEntryBody>, headers(
            ("Audit-Chain" = String, description = "`intact`, or `broken; row=<id>` naming the first row that does not check out"),
        )),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let audit = state
        .clients
        .leases
        .clone()
        .get_audit(
            forward
                .with_authorization(user.authorization)
                .request(pb::GetAuditRequest { lease_id: id }),
        )
        .await?
        .into_inner();
    let verdict = chain_verdict(&audit)?;
    let entries: Vec<AuditEntryBody> = audit.entries.into_iter().map(Into::into).collect();
    let mut response = Json(entries).into_response();
    response
        .headers_mut()
        .insert(HeaderName::from_static(AUDIT_CHAIN_HEADER), verdict);
    Ok(response)
}

/// The `Audit-Chain` value. A broken chain without a usable row id is still reported broken,
/// never as intact.
fn chain_verdict(audit: &pb::GetAuditResponse) -> Result<HeaderValue, Problem> {
    if audit.chain_intact {
        return Ok(HeaderValue::from_static("intact"));
    }
    match audit.broken_row_id.as_deref().map(str::trim) {
        Some(row) if !row.is_empty() => HeaderValue::from_str(&format!("broken; row={row}"))
            .map_err(|_| Problem::bad_gateway("an audit row id that is not a header value")),
        _ => Ok(HeaderValue::from_static("broken")),
    }
}

/// The FULLY_SIGNED lease as certified Markdown (the content with its signature certificate),
/// as an attachment. `ETag` and `Repr-Digest` (RFC 9530) carry its SHA-256, which
/// `GET /leases/verify` recognizes. The gateway hashes the bytes again and answers 502 rather
/// than serve a document that does not match the hash the service recorded.
#[utoipa::path(
    get,
    path = "/leases/{id}/document",
    tag = "leases",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Lease id")),
    responses(
        (status = 200, description = "The certified document", body = String, content_type = "text/markdown", headers(
            ("ETag" = String, description = "`\"<sha256 hex>\"`"),
            ("Repr-Digest" = String, description = "`sha-256=:<base64 of the digest>:`"),
            ("Content-Disposition" = String, description = "`attachment; filename=\"lease-<id>.md\"`"),
        )),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not FULLY_SIGNED yet (`lease_status`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 502, description = "The document does not match its recorded hash", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn document(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let document = state
        .clients
        .leases
        .clone()
        .get_signed_document(
            forward
                .with_authorization(user.authorization)
                .request(pb::GetSignedDocumentRequest { lease_id: id }),
        )
        .await?
        .into_inner();
    let headers = document_headers(&document)?;
    Ok((headers, document.markdown).into_response())
}

/// The document's headers, once its bytes are known to hash to what the service says.
fn document_headers(document: &pb::SignedDocument) -> Result<HeaderMap, Problem> {
    let digest = Sha256::digest(document.markdown.as_bytes());
    let hex = hex::encode(digest);
    if !hex.eq_ignore_ascii_case(document.sha256.trim()) {
        tracing::error!(
            lease_id = %document.lease_id,
            recorded = %document.sha256,
            computed = %hex,
            "a certified lease document does not match its recorded SHA-256"
        );
        return Err(Problem::bad_gateway("lease document hash mismatch"));
    }
    // The lease id goes into a header: only a plain id is used as the file name.
    let file_id: String = document
        .lease_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    let value = |text: String| {
        HeaderValue::from_str(&text).map_err(|_| Problem::bad_gateway("document header"))
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/markdown; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        value(format!("attachment; filename=\"lease-{file_id}.md\""))?,
    );
    headers.insert(header::ETAG, value(format!("\"{hex}\""))?);
    headers.insert(
        HeaderName::from_static(REPR_DIGEST_HEADER),
        value(format!("sha-256=:{}:", BASE64.encode(digest)))?,
    );
    Ok(headers)
}

/// What the lease's tenant owes next and the rent paid so far with receipts (the parties,
/// ADMIN, STAFF). Pay with `POST /payments/rent {lease_id}`.
#[utoipa::path(
    get,
    path = "/leases/{id}/rent",
    tag = "leases",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Lease id")),
    responses(
        (status = 200, body = RentBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn rent(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
) -> Result<Json<RentBody>, Problem> {
    let forward = forward.with_authorization(user.authorization);
    let mut due_client = state.clients.leases.clone();
    let mut payments_client = state.clients.leases.clone();
    let (due, paid) = tokio::try_join!(
        due_client.get_rent_due(forward.request(pb::GetRentDueRequest {
            lease_id: id.clone(),
        })),
        payments_client
            .list_rent_payments(forward.request(pb::ListRentPaymentsRequest { lease_id: id })),
    )?;
    let due = due.into_inner();
    Ok(Json(RentBody {
        next_due: RentDueBody {
            amount: naira(due.amount_kobo),
            amount_kobo: due.amount_kobo,
            period_number: due.period_number,
            period_start: due.period_start,
            period_end: due.period_end,
            paid_in_full: due.paid_in_full,
        },
        payments: paid
            .into_inner()
            .payments
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ProblemType;

    #[test]
    fn a_hash_must_be_64_hex_characters_and_is_sent_lower_case() {
        let upper = "AB".repeat(32);
        assert_eq!(sha256_param(Some(&upper)).expect("valid"), "ab".repeat(32));
        for bad in [
            None,
            Some(""),
            Some("  "),
            Some("ab"),
            Some(&"g".repeat(64)[..]),
        ] {
            let p = sha256_param(bad).expect_err("refused");
            assert_eq!(p.kind(), Some(ProblemType::ValidationFailed), "{bad:?}");
            assert_eq!(p.errors[0].field, "sha256");
        }
        let long = "a".repeat(65);
        assert!(sha256_param(Some(&long)).is_err());
    }

    #[test]
    fn a_broken_chain_is_never_reported_intact() {
        let mut audit = pb::GetAuditResponse {
            entries: vec![],
            chain_intact: true,
            broken_row_id: None,
        };
        assert_eq!(chain_verdict(&audit).expect("ok"), "intact");
        audit.chain_intact = false;
        assert_eq!(chain_verdict(&audit).expect("ok"), "broken");
        audit.broken_row_id = Some("r-2".into());
        assert_eq!(chain_verdict(&audit).expect("ok"), "broken; row=r-2");
        audit.broken_row_id = Some("r\n2".into());
        assert!(chain_verdict(&audit).is_err());
    }

    #[test]
    fn the_document_headers_carry_its_digest_and_a_mismatch_is_refused() {
        let markdown = "# Lease\n\nSigned.\n".to_owned();
        let hex = hex::encode(Sha256::digest(markdown.as_bytes()));
        let document = pb::SignedDocument {
            lease_id: "l-1\"; x".into(),
            markdown,
            sha256: hex.clone(),
            fully_signed_at: None,
        };
        let headers = document_headers(&document).expect("matches");
        assert_eq!(headers[header::ETAG], format!("\"{hex}\"").as_str());
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"lease-l-1x.md\""
        );
        let digest = headers[REPR_DIGEST_HEADER].to_str().expect("ascii");
        let b64 = digest
            .strip_prefix("sha-256=:")
            .and_then(|d| d.strip_suffix(':'))
            .expect("form");
        assert_eq!(hex::encode(BASE64.decode(b64).expect("base64")), hex);
        let tampered = pb::SignedDocument {
            markdown: "# Lease\n\nSigned!\n".into(),
            ..document
        };
        assert_eq!(
            document_headers(&tampered).err().and_then(|p| p.kind()),
            Some(ProblemType::BadGateway)
        );
    }

    #[test]
    fn terms_show_naira_beside_kobo() {
        let body = TermsBody::from(pb::Terms {
            rent_kobo: 250_000_000,
            deposit_kobo: 50_000,
            ..Default::default()
        });
        let json = serde_json::to_value(&body).expect("json");
        assert_eq!(json["rent"], "2500000.00");
        assert_eq!(json["deposit"], "500.00");
        assert_eq!(json["service_charge"], "0.00");
    }
}
