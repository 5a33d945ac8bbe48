//! The gRPC handlers: who is calling, what the access rule lets them do, then the state
//! machine, the lock, the change, its audit row and its event, in one transaction.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ipnetwork::IpNetwork;
use rentory_audit::{GENESIS, to_hex};
use rentory_auth::{Actor, Role, TokenVerifier, UserStatus};
use rentory_proto::ai::v1 as ai;
use rentory_proto::events::v1::LeaseStatusChanged;
use rentory_proto::lease::v1 as pb;
use rentory_proto::lease::v1::leases_server::Leases;
use rentory_proto::timestamp;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};
use tonic::{Request, Response};
use tracing::{Span, field};
use uuid::Uuid;

use crate::access::{self, Caller, DraftRefusal, Op};
use crate::audit::{self, Record};
use crate::certificate::{self, Authorizer, Certificate, Signer};
use crate::compliance::{self, Tenancy};
use crate::db::{self, LeaseRow, ListFilter};
use crate::error::Error;
use crate::lifecycle::{Action, Party, Signing, Status, Transition};
use crate::peers::Peers;
use crate::rent::{self, RentPeriod};
use crate::rent_payments;
use crate::view::{self, Typed};

pub const STATUS_CHANGED: &str = "rentory.lease.status.changed";
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 100;
/// Bounds of the AI service's own lease checks, so a bad request is refused before a call.
const MAX_KOBO: i64 = 1_000_000_000_000;
const MAX_DURATION_MONTHS: u32 = 120;
const MAX_POINTS: usize = 30;
const MAX_POINT_CHARS: usize = 500;
const MAX_CONTENT_CHARS: usize = 60_000;
const MAX_REASON_CHARS: usize = 500;
/// How far from today a lease may start.
const START_PAST_DAYS: i64 = 31;
const START_AHEAD_MONTHS: u32 = 24;
/// Postgres' unique_violation, and the index that allows one open lease per pair.
const UNIQUE_VIOLATION: &str = "23505";
const ONE_OPEN_PER_PAIR: &str = "leases_one_open_per_pair";

pub struct LeaseApi {
    pool: PgPool,
    verifier: TokenVerifier,
    peers: Peers,
}

/// The validated terms of a draft request (the rent period may still be the property's).
struct DraftTerms {
    rent_kobo: i64,
    rent_period: Option<RentPeriod>,
    duration_months: u32,
    start_date: Date,
    deposit_kobo: i64,
    service_charge_kobo: i64,
    advance_rent_months: u32,
    negotiation_points: Vec<String>,
}

impl LeaseApi {
    pub fn new(pool: PgPool, verifier: TokenVerifier, peers: Peers) -> Self {
        Self {
            pool,
            verifier,
            peers,
        }
    }

    fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Error> {
        Actor::from_metadata(request.metadata(), &self.verifier).map_err(Error::Unauthenticated)
    }

    /// The lease, if `actor` may do `op` with it (a lease the caller may not know of reads
    /// exactly like a missing one).
    async fn visible(&self, actor: &Actor, id: Uuid) -> Result<LeaseRow, Error> {
        let row = db::find(&self.pool, id)
            .await?
            .ok_or(Error::LeaseNotFound)?;
        access::decide(Caller::of(actor, row.landlord_id, row.tenant_id), Op::View)
            .map_err(|refusal| Error::refused(refusal, "read leases"))?;
        Ok(row)
    }

    // ---- drafting ----

    async fn draft(&self, request: Request<pb::DraftLeaseRequest>) -> Result<pb::Lease, Error> {
        let actor = self.actor(&request)?;
        access::may_draft(&actor, None).map_err(draft_refusal)?;
        let metadata = request.metadata().clone();
        let r = request.into_inner();
        let property_id = parse_id("property_id", &r.property_id)?;
        let tenant_id = parse_id("tenant_id", &r.tenant_id)?;
        let terms = validate_terms(r.terms.unwrap_or_default(), today())?;

        // The four facts a draft needs are independent: ask for them at once (one round trip
        // of latency instead of four), then judge them in the order a person would.
        let (property, tenant, landlord, talked) = tokio::try_join!(
            self.peers.property(&metadata, property_id),
            self.peers.person(&metadata, tenant_id),
            self.peers.person(&metadata, actor.user_id),
            self.peers.talked(&metadata, property_id, tenant_id),
        )?;
        let property = property.ok_or(Error::NotFound("property"))?;
        access::may_draft(&actor, Some(property.landlord_id)).map_err(draft_refusal)?;
        if !property.active {
            return Err(Error::InvalidState(
                "leases are drafted only for ACTIVE properties".into(),
            ));
        }
        let tenant = tenant.ok_or(Error::NotFound("tenant"))?;
        if tenant.role != Role::Tenant {
            return Err(Error::InvalidState(
                "the user named as tenant is not a TENANT".into(),
            ));
        }
        if tenant.status != UserStatus::Active {
            return Err(Error::InvalidState(
                "the tenant's account is not ACTIVE (KYC approved)".into(),
            ));
        }
        let landlord = landlord
            .ok_or_else(|| Error::corrupt("identity does not know the calling landlord"))?;
        if !talked {
            return Err(Error::InvalidState(
                "the tenant has no chat session about this property".into(),
            ));
        }
        // Before the AI call: a duplicate must not spend the landlord's AI budget.
        if let Some(open) = db::open_lease_of(&self.pool, property_id, tenant_id).await? {
            return Err(Error::AlreadyOpen(open));
        }
        let tenancy = if db::is_sitting(&self.pool, property_id, tenant_id).await? {
            Tenancy::Sitting
        } else {
            Tenancy::New
        };
        let rent_period = match terms.rent_period {
            Some(period) => period,
            None => property.rent_period.parse().map_err(|()| {
                Error::invalid(
                    "terms.rent_period",
                    "the property names no rent period: give YEAR, HALF_YEAR, QUARTER, MONTH or NIGHT",
                )
            })?,
        };
        let jurisdiction = compliance::jurisdiction(&property.address);

        let drafted = self
            .peers
            .draft(
                &metadata,
                ai::DraftLeaseRequest {
                    property: Some(ai::LeaseProperty {
                        title: property.title.clone(),
                        address: property.address.clone(),
                        category: property.category.clone(),
                        bedrooms: property.bedrooms,
                        description: property.description.clone(),
                    }),
                    landlord: Some(ai::LeaseParty {
                        full_name: landlord.full_name.clone(),
                        address: String::new(),
                    }),
                    tenant: Some(ai::LeaseParty {
                        full_name: tenant.full_name.clone(),
                        address: String::new(),
                    }),
                    terms: Some(ai::LeaseTerms {
                        rent_kobo: terms.rent_kobo,
                        rent_period: rent_period.as_str().to_owned(),
                        duration_months: terms.duration_months,
                        start_date: view::date(terms.start_date),
                        deposit_kobo: terms.deposit_kobo,
                        service_charge_kobo: terms.service_charge_kobo,
                        advance_rent_months: terms.advance_rent_months,
                    }),
                    negotiation_points: terms.negotiation_points.clone(),
                    jurisdiction: jurisdiction.clone(),
                },
            )
            .await?;
        check_content(&drafted.markdown)
            .map_err(|_| Error::corrupt("the AI orchestrator drafted an unusable document"))?;

        let now = now();
        let id = Uuid::now_v7();
        let sha = sha256_hex(&drafted.markdown);
        let (_, created) = Signing::drafted();
        let row = audit::seal(
            &GENESIS,
            &Record {
                lease_id: id,
                actor: &actor,
                transition: created,
                reason: None,
                content_sha256: &sha,
                at: now,
            },
        );
        let lease = LeaseRow {
            id,
            property_id,
            tenant_id,
            landlord_id: actor.user_id,
            status: Status::Draft.as_str().to_owned(),
            version: 1,
            content: drafted.markdown,
            content_sha256: sha,
            rent_kobo: terms.rent_kobo,
            rent_period: rent_period.as_str().to_owned(),
            duration_months: to_i32(terms.duration_months),
            start_date: terms.start_date,
            deposit_kobo: terms.deposit_kobo,
            service_charge_kobo: terms.service_charge_kobo,
            advance_rent_months: to_i32(terms.advance_rent_months),
            negotiation_points: terms.negotiation_points,
            tenancy: tenancy.as_str().to_owned(),
            jurisdiction,
            property_title: property.title,
            premises_address: property.address,
            landlord_name: landlord.full_name,
            tenant_name: tenant.full_name,
            drafted_by_model: drafted.model,
            draft_reasons: drafted.reasons,
            landlord_signed_at: None,
            landlord_signed_sha256: None,
            landlord_signed_ip: None,
            tenant_signed_at: None,
            tenant_signed_sha256: None,
            tenant_signed_ip: None,
            authorized_by: None,
            authorized_role: None,
            authorized_ip: None,
            fully_signed_at: None,
            document: None,
            document_sha256: None,
            audit_head: row.hash.clone(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.pool.begin().await?;
        if let Err(error) = db::insert(&mut tx, &lease).await {
            // The unique index decides races between two drafts of the same pair.
            if is_violation(&error, ONE_OPEN_PER_PAIR) {
                drop(tx);
                let open = db::open_lease_of(&self.pool, property_id, tenant_id).await?;
                return Err(open.map_or(Error::Database(error), Error::AlreadyOpen));
            }
            return Err(error.into());
        }
        db::insert_version(
            &mut tx,
            id,
            1,
            &lease.content,
            &lease.content_sha256,
            actor.user_id,
            now,
        )
        .await?;
        audit::insert(&mut tx, &row).await?;
        announce(&mut tx, &lease, created, &actor, now).await?;
        tx.commit().await?;
        Span::current().record("lease_id", field::display(id));
        tracing::info!(%property_id, %tenant_id, model = %lease.drafted_by_model, "lease drafted");
        view::lease(&lease)
    }

    // ---- changes to an existing lease ----

    /// Locks the lease, checks the caller may do `op`, and hands the row and the caller's
    /// party to `change`.
    async fn locked(
        &self,
        tx: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        op: Op,
        doing: &'static str,
    ) -> Result<(LeaseRow, Typed, Option<Party>), Error> {
        let row = db::lock(tx, id).await?.ok_or(Error::LeaseNotFound)?;
        let party = access::decide(Caller::of(actor, row.landlord_id, row.tenant_id), op)
            .map_err(|refusal| Error::refused(refusal, doing))?;
        let typed = Typed::of(&row)?;
        Ok((row, typed, party))
    }

    async fn edit(&self, request: Request<pb::EditLeaseRequest>) -> Result<pb::Lease, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let id = lease_id(&r.lease_id)?;
        check_content(&r.content)?;
        let mut tx = self.pool.begin().await?;
        let (mut row, typed, _) = self
            .locked(&mut tx, &actor, id, Op::Edit, "edit leases")
            .await?;
        let (_, transition) = view::signing(&row, typed.status)
            .apply(Action::Edit)
            .map_err(|refused| Error::wrong_state(refused, "edited"))?;
        if let Some(base) = r.base_content_sha256.as_deref()
            && base != row.content_sha256
        {
            return Err(Error::StaleContent(
                "the lease changed since that version: reload it and edit again".into(),
            ));
        }
        let now = now();
        row.version += 1;
        row.content = r.content;
        row.content_sha256 = sha256_hex(&row.content);
        row.updated_at = now;
        let reason = format!("edited: version {}", row.version);
        let audit_row = self.seal(&row, &actor, transition, Some(reason), now)?;
        row.audit_head = audit_row.hash.clone();
        db::save(&mut tx, &row).await?;
        db::insert_version(
            &mut tx,
            id,
            row.version,
            &row.content,
            &row.content_sha256,
            actor.user_id,
            now,
        )
        .await?;
        audit::insert(&mut tx, &audit_row).await?;
        tx.commit().await?;
        tracing::info!(version = row.version, "lease edited");
        view::lease(&row)
    }

    fn seal(
        &self,
        row: &LeaseRow,
        actor: &Actor,
        transition: Transition,
        reason: Option<String>,
        at: OffsetDateTime,
    ) -> Result<rentory_audit::ChainedEntry, Error> {
        let prev = audit::head(&row.audit_head)
            .ok_or_else(|| Error::corrupt(format!("lease {} has a bad audit head", row.id)))?;
        Ok(audit::seal(
            &prev,
            &Record {
                lease_id: row.id,
                actor,
                transition,
                reason,
                content_sha256: &row.content_sha256,
                at,
            },
        ))
    }

    /// Saves a status change with its audit row and event, and commits.
    async fn commit_change(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
        row: &mut LeaseRow,
        actor: &Actor,
        transition: Transition,
        reason: Option<String>,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        let audit_row = self.seal(row, actor, transition, reason, now)?;
        row.audit_head = audit_row.hash.clone();
        row.status = transition.to.as_str().to_owned();
        row.updated_at = now;
        db::save(&mut tx, row).await?;
        audit::insert(&mut tx, &audit_row).await?;
        announce(&mut tx, row, transition, actor, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sign(&self, request: Request<pb::SignLeaseRequest>) -> Result<pb::Lease, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let id = lease_id(&r.lease_id)?;
        let mut tx = self.pool.begin().await?;
        let (mut row, typed, party) = self
            .locked(&mut tx, &actor, id, Op::Sign, "sign leases")
            .await?;
        let party = party.ok_or_else(|| Error::corrupt("the access rule named no party"))?;
        let (_, transition) = view::signing(&row, typed.status)
            .apply(Action::Sign(party))
            .map_err(|refused| Error::wrong_state(refused, "signed by the caller"))?;
        if r.content_sha256 != row.content_sha256 {
            return Err(Error::StaleContent(
                "the content you signed is not the lease's current content: reload it and read it again".into(),
            ));
        }
        let blocking: Vec<_> = view::findings(&row, &typed)
            .into_iter()
            .filter(compliance::Finding::is_blocking)
            .collect();
        if !blocking.is_empty() {
            return Err(Error::NotCompliant(blocking));
        }
        let now = now();
        let ip = actor.context.client_ip.map(IpNetwork::from);
        match party {
            Party::Landlord => {
                row.landlord_signed_at = Some(now);
                row.landlord_signed_sha256 = Some(row.content_sha256.clone());
                row.landlord_signed_ip = ip;
            }
            Party::Tenant => {
                row.tenant_signed_at = Some(now);
                row.tenant_signed_sha256 = Some(row.content_sha256.clone());
                row.tenant_signed_ip = ip;
            }
        }
        self.commit_change(tx, &mut row, &actor, transition, None, now)
            .await?;
        tracing::info!(party = party.as_str(), status = %transition.to, "lease signed");
        view::lease(&row)
    }

    async fn withdraw(
        &self,
        request: Request<pb::WithdrawLeaseRequest>,
    ) -> Result<pb::Lease, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let id = lease_id(&r.lease_id)?;
        let reason = r.reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(Error::invalid(
                "reason",
                format!("1 to {MAX_REASON_CHARS} characters"),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let (mut row, typed, _) = self
            .locked(&mut tx, &actor, id, Op::Withdraw, "withdraw leases")
            .await?;
        let (_, transition) = view::signing(&row, typed.status)
            .apply(Action::Withdraw)
            .map_err(|refused| Error::wrong_state(refused, "withdrawn"))?;
        row.landlord_signed_at = None;
        row.landlord_signed_sha256 = None;
        row.landlord_signed_ip = None;
        row.tenant_signed_at = None;
        row.tenant_signed_sha256 = None;
        row.tenant_signed_ip = None;
        let now = now();
        self.commit_change(
            tx,
            &mut row,
            &actor,
            transition,
            Some(reason.to_owned()),
            now,
        )
        .await?;
        tracing::info!(from = ?transition.from, "lease withdrawn to DRAFT");
        view::lease(&row)
    }

    async fn authorize(
        &self,
        request: Request<pb::AuthorizeLeaseRequest>,
    ) -> Result<pb::Lease, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let id = lease_id(&r.lease_id)?;
        let mut tx = self.pool.begin().await?;
        let (mut row, typed, _) = self
            .locked(&mut tx, &actor, id, Op::Authorize, "authorize leases")
            .await?;
        let (_, transition) = view::signing(&row, typed.status)
            .apply(Action::Authorize)
            .map_err(|refused| Error::wrong_state(refused, "authorized"))?;
        if let Some(reviewed) = r.content_sha256.as_deref()
            && reviewed != row.content_sha256
        {
            return Err(Error::StaleContent(
                "the content you reviewed is not the lease's current content".into(),
            ));
        }
        let now = now();
        let role = match (actor.role, actor.position) {
            (Role::Staff, Some(position)) => format!("STAFF ({position})"),
            (role, _) => role.as_str().to_owned(),
        };
        let (Some(landlord_at), Some(tenant_at)) = (row.landlord_signed_at, row.tenant_signed_at)
        else {
            return Err(Error::corrupt("a PENDING_ADMIN lease lacks a signature"));
        };
        let head = to_hex(&row.audit_head);
        let document = certificate::render(&Certificate {
            lease_id: row.id,
            property_title: &row.property_title,
            premises: &row.premises_address,
            version: u32::try_from(row.version).unwrap_or(0),
            content: &row.content,
            content_sha256: &row.content_sha256,
            signers: [
                Signer {
                    role: Party::Landlord.as_str(),
                    name: &row.landlord_name,
                    user_id: row.landlord_id,
                    signed_at: landlord_at,
                    ip: row.landlord_signed_ip.map(|n| n.ip()),
                },
                Signer {
                    role: Party::Tenant.as_str(),
                    name: &row.tenant_name,
                    user_id: row.tenant_id,
                    signed_at: tenant_at,
                    ip: row.tenant_signed_ip.map(|n| n.ip()),
                },
            ],
            authorizer: Authorizer {
                user_id: actor.user_id,
                role: &role,
                at: now,
                ip: actor.context.client_ip,
            },
            audit_head: &head,
        });
        row.document_sha256 = Some(sha256_hex(&document));
        row.document = Some(document);
        row.authorized_by = Some(actor.user_id);
        row.authorized_role = Some(role);
        row.authorized_ip = actor.context.client_ip.map(IpNetwork::from);
        row.fully_signed_at = Some(now);
        self.commit_change(tx, &mut row, &actor, transition, None, now)
            .await?;
        tracing::info!("lease authorized: FULLY_SIGNED");
        view::lease(&row)
    }

    // ---- reads ----

    async fn list(
        &self,
        request: Request<pb::ListLeasesRequest>,
    ) -> Result<pb::ListLeasesResponse, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let limit = match r.limit {
            0 => i64::from(DEFAULT_PAGE),
            n @ 1..=MAX_PAGE => i64::from(n),
            _ => return Err(Error::invalid("limit", format!("between 1 and {MAX_PAGE}"))),
        };
        let status = match r.status.as_str() {
            "" => None,
            text => Some(
                text.parse::<Status>()
                    .map_err(|_| Error::invalid("status", "not a lease status"))?
                    .as_str()
                    .to_owned(),
            ),
        };
        let property_id = match r.property_id.as_str() {
            "" => None,
            text => Some(parse_id("property_id", text)?),
        };
        let before = match r.cursor.as_str() {
            "" => None,
            text => Some(
                decode_cursor(text)
                    .ok_or_else(|| Error::invalid("cursor", "not a cursor this service issued"))?,
            ),
        };
        let party = (!access::lists_all(&actor)).then_some(actor.user_id);
        let mut rows = db::list(
            &self.pool,
            &ListFilter {
                party,
                status,
                property_id,
                before,
                limit: limit + 1,
            },
        )
        .await?;
        let next_cursor = if rows.len() as i64 > limit {
            rows.truncate(usize::try_from(limit).unwrap_or(0));
            rows.last()
                .map(|row| encode_cursor(row.created_at, row.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListLeasesResponse {
            leases: rows.iter().map(view::lease).collect::<Result<_, _>>()?,
            next_cursor,
        })
    }

    async fn audit(&self, actor: &Actor, id: Uuid) -> Result<pb::GetAuditResponse, Error> {
        let row = self.visible(actor, id).await?;
        let chain = audit::chain(&self.pool, id).await?;
        // Re-checked on every read, so tampering shows where people look.
        let broken = audit::verify_lease(id, &chain, &row.audit_head).err();
        if let Some(broken) = &broken {
            tracing::error!(alert = true, %broken, "a lease's audit chain does not verify");
        }
        Ok(pb::GetAuditResponse {
            entries: chain.into_iter().map(view::audit_entry).collect(),
            chain_intact: broken.is_none(),
            // None with chain_intact false: every row is gone, so there is none to name.
            broken_row_id: broken
                .and_then(|b| b.row_id)
                .map(|row_id| row_id.to_string()),
        })
    }

    async fn rent_due(&self, actor: &Actor, id: Uuid) -> Result<pb::RentDue, Error> {
        let row = self.visible(actor, id).await?;
        let typed = Typed::of(&row)?;
        let terms = view::terms(&row, &typed);
        let mut conn = self.pool.acquire().await?;
        let standing = rent_payments::standing_periods(&mut conn, id).await?;
        let due = rent::due(&terms, rent::settled_periods(&standing));
        Ok(pb::RentDue {
            lease_id: row.id.to_string(),
            property_id: row.property_id.to_string(),
            tenant_id: row.tenant_id.to_string(),
            landlord_id: row.landlord_id.to_string(),
            status: typed.status.as_str().to_owned(),
            amount_kobo: due.map_or(0, |d| d.amount_kobo),
            period_number: due.map_or(0, |d| d.number),
            period_start: due.map(|d| view::date(d.start)).unwrap_or_default(),
            period_end: due.map(|d| view::date(d.end)).unwrap_or_default(),
            paid_in_full: due.is_none(),
        })
    }
}

fn draft_refusal(refusal: DraftRefusal) -> Error {
    match refusal {
        DraftRefusal::NotLandlord => Error::Forbidden("only landlords draft leases"),
        DraftRefusal::NotActive => Error::NotActive("draft leases"),
        DraftRefusal::NotTheirProperty => {
            Error::Forbidden("only the property's landlord drafts its leases")
        }
    }
}

/// Enqueues `lease.status.changed` in the change's transaction.
async fn announce(
    conn: &mut PgConnection,
    row: &LeaseRow,
    transition: Transition,
    actor: &Actor,
    at: OffsetDateTime,
) -> Result<(), Error> {
    rentory_events::enqueue(
        conn,
        STATUS_CHANGED,
        &LeaseStatusChanged {
            lease_id: row.id.to_string(),
            property_id: row.property_id.to_string(),
            tenant_id: row.tenant_id.to_string(),
            landlord_id: row.landlord_id.to_string(),
            from_status: transition.from.map(|s| s.as_str().to_owned()),
            to_status: transition.to.as_str().to_owned(),
            actor_id: actor.user_id.to_string(),
            content_sha256: row.content_sha256.clone(),
            version: u32::try_from(row.version).unwrap_or(0),
            at: Some(timestamp(at)),
        },
    )
    .await?;
    Ok(())
}

fn validate_terms(t: pb::Terms, today: Date) -> Result<DraftTerms, Error> {
    let mut bad: Vec<(&'static str, String)> = Vec::new();
    if !(1..=MAX_KOBO).contains(&t.rent_kobo) {
        bad.push(("terms.rent_kobo", format!("1 to {MAX_KOBO}")));
    }
    for (field, kobo) in [
        ("terms.deposit_kobo", t.deposit_kobo),
        ("terms.service_charge_kobo", t.service_charge_kobo),
    ] {
        if !(0..=MAX_KOBO).contains(&kobo) {
            bad.push((field, format!("0 to {MAX_KOBO}")));
        }
    }
    if !(1..=MAX_DURATION_MONTHS).contains(&t.duration_months) {
        bad.push((
            "terms.duration_months",
            format!("1 to {MAX_DURATION_MONTHS}"),
        ));
    }
    if t.advance_rent_months > MAX_DURATION_MONTHS {
        bad.push((
            "terms.advance_rent_months",
            format!("at most {MAX_DURATION_MONTHS}"),
        ));
    }
    let rent_period = match t.rent_period.as_str() {
        "" => None,
        text => match text.parse::<RentPeriod>() {
            Ok(period) => Some(period),
            Err(()) => {
                bad.push((
                    "terms.rent_period",
                    "YEAR, HALF_YEAR, QUARTER, MONTH or NIGHT".into(),
                ));
                None
            }
        },
    };
    let start_date = Date::parse(
        t.start_date.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok();
    let earliest = today - time::Duration::days(START_PAST_DAYS);
    let latest = rent::add_months(today, START_AHEAD_MONTHS).unwrap_or(today);
    match start_date {
        None => bad.push(("terms.start_date", "a date as YYYY-MM-DD".into())),
        Some(date) if date < earliest || date > latest => bad.push((
            "terms.start_date",
            format!(
                "at most {START_PAST_DAYS} days ago and at most {START_AHEAD_MONTHS} months ahead"
            ),
        )),
        Some(_) => {}
    }
    if t.negotiation_points.len() > MAX_POINTS {
        bad.push(("terms.negotiation_points", format!("at most {MAX_POINTS}")));
    }
    if t.negotiation_points
        .iter()
        .any(|p| p.chars().count() > MAX_POINT_CHARS)
    {
        bad.push((
            "terms.negotiation_points",
            format!("each at most {MAX_POINT_CHARS} characters"),
        ));
    }
    match (bad.is_empty(), start_date) {
        (true, Some(start_date)) => Ok(DraftTerms {
            rent_kobo: t.rent_kobo,
            rent_period,
            duration_months: t.duration_months,
            start_date,
            deposit_kobo: t.deposit_kobo,
            service_charge_kobo: t.service_charge_kobo,
            advance_rent_months: t.advance_rent_months,
            negotiation_points: t
                .negotiation_points
                .into_iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
        }),
        _ => Err(Error::Invalid(bad)),
    }
}

/// A lease text: 1 - 60,000 characters, no control characters but newline, tab and CR.
fn check_content(content: &str) -> Result<(), Error> {
    let length = content.chars().count();
    if content.trim().is_empty() || length > MAX_CONTENT_CHARS {
        return Err(Error::invalid(
            "content",
            format!("1 to {MAX_CONTENT_CHARS} characters"),
        ));
    }
    if content
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(Error::invalid(
            "content",
            "no control characters other than newline, tab and carriage return",
        ));
    }
    Ok(())
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn is_violation(error: &sqlx::Error, constraint: &str) -> bool {
    error.as_database_error().is_some_and(|e| {
        e.code().as_deref() == Some(UNIQUE_VIOLATION) && e.constraint() == Some(constraint)
    })
}

/// Now, at the microsecond precision Postgres stores, so an answer shows what reads show.
fn now() -> OffsetDateTime {
    rentory_audit::truncate_to_micros(OffsetDateTime::now_utc())
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn parse_id(field: &'static str, text: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(text).map_err(|_| Error::invalid(field, "not a valid id"))
}

/// A lease id that cannot exist names no lease.
fn lease_id(text: &str) -> Result<Uuid, Error> {
    let id = Uuid::parse_str(text).map_err(|_| Error::LeaseNotFound)?;
    Span::current().record("lease_id", field::display(id));
    Ok(id)
}

fn encode_cursor(created_at: OffsetDateTime, id: Uuid) -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(&created_at.unix_timestamp_nanos().to_be_bytes());
    bytes.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(text: &str) -> Option<(OffsetDateTime, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let (nanos, id) = bytes.split_at_checked(16)?;
    let nanos = i128::from_be_bytes(nanos.try_into().ok()?);
    Some((
        OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?,
        Uuid::from_slice(id).ok()?,
    ))
}

fn valid_sha256(text: &str) -> Option<String> {
    let lower = text.trim().to_ascii_lowercase();
    (lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit())).then_some(lower)
}

#[tonic::async_trait]
impl Leases for LeaseApi {
    #[tracing::instrument(skip_all, fields(lease_id = field::Empty))]
    async fn draft_lease(
        &self,
        request: Request<pb::DraftLeaseRequest>,
    ) -> Result<tonic::Response<pb::Lease>, tonic::Status> {
        Ok(Response::new(self.draft(request).await?))
    }

    #[tracing::instrument(skip_all, fields(lease_id = field::Empty))]
    async fn get_lease(
        &self,
        request: Request<pb::GetLeaseRequest>,
    ) -> Result<tonic::Response<pb::Lease>, tonic::Status> {
        let actor = self.actor(&request)?;
        let id = lease_id(&request.get_ref().lease_id)?;
        let row = self.visible(&actor, id).await?;
        Ok(Response::new(view::lease(&row)?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_leases(
        &self,
        request: Request<pb::ListLeasesRequest>,
    ) -> Result<tonic::Response<pb::ListLeasesResponse>, tonic::Status> {
        Ok(Response::new(self.list(request).await?))
    }

    #[tracing::instrument(skip_all, fields(lease_id = field::Empty))]
    async fn list_versions(
        &self,
        request: Request<pb::ListVersionsRequest>,
    ) -> Result<tonic::Response<pb::ListVersionsResponse>, tonic::Status> {
        let actor = self.actor(&request)?;
        let id = lease_id(&request.get_ref().lease_id)?;
        self.visible(&actor, id).await?;
        let versions = db::versions(&self.pool, id).await.map_err(Error::from)?;
        Ok(Response::new(pb::ListVersionsResponse {
            versions: versions.into_iter().map(view::version).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(lease_id = field::Empty))]
    async fn edit_lease(
        &self,
        request: Request<pb::EditLeaseRequest>,
    ) -> Result<tonic::Response<pb::Lease>, tonic::Status> {
        Ok(Response::new(self.edit(request).await?))
    }

    #[tracing::instrument(skip_all, fields(lease_id = field::Empty))]
    async fn sign_lease(
        &self,
        request: Request<pb::SignLeaseRequest>,
    ) -> Result<tonic::Response<pb::Lease>, tonic::Status> {
        Ok(Response::new(self.sign(request).await?))
    }

    #[tracing::instrument(skip_all, fields(lease_id = field::Empty))]
    async fn withdraw_lease(
        &self,
        request: Request<pb::WithdrawLeaseRequest>,
    ) -> Result<tonic::Response<pb::Lease>, tonic::Status> {
        Ok(Response::new(self.withdraw(request).await?))
    }

    #[tracing::instrument(skip_all, fields(lease_id = field::Empty))]
    async fn authorize_lease(
        &self,
        request: Request<pb::AuthorizeLeaseRequest>,
    ) -> Result<tonic::Response<pb::Lease>, tonic::Status> {
        Ok(Response::new(self.authorize(request).await?))
    }

    #[tracing::instrument(skip_all, fields(lease_id = field::Empty))]
    async fn get_audit(
        &self,
        request: Request<pb::GetAuditRequest>,
    ) -> Result<tonic::Response<pb::GetAuditResponse>, tonic::Status> {
        let actor = self.actor(&request)?;
        let id = lease_id(&request.get_ref().lease_id)?;
        Ok(Response::new(self.audit(&actor, id).await?))
    }

    #[tracing::instrument(skip_all, fields(lease_id = field::Empty))]
    async fn get_signed_document(
        &self,
        request: Request<pb::GetSignedDocumentRequest>,
    ) -> Result<tonic::Response<pb::SignedDocument>, tonic::Status> {
        let actor = self.actor(&request)?;
        let id = lease_id(&request.get_ref().lease_id)?;
        let row = self.visible(&actor, id).await?;
        let typed = Typed::of(&row)?;
        match (row.document, row.document_sha256, row.fully_signed_at) {
            (Some(markdown), Some(sha256), Some(at)) if typed.status == Status::FullySigned => {
                Ok(Response::new(pb::SignedDocument {
                    lease_id: id.to_string(),
                    markdown,
                    sha256,
                    fully_signed_at: Some(timestamp(at)),
                }))
            }
            _ => Err(Error::WrongState {
                status: typed.status,
                message: "only a FULLY_SIGNED lease has a signed document".into(),
            }
            .into()),
        }
    }

    #[tracing::instrument(skip_all)]
    async fn verify_document(
        &self,
        request: Request<pb::VerifyDocumentRequest>,
    ) -> Result<tonic::Response<pb::VerifyDocumentResponse>, tonic::Status> {
        // Needs no token: anyone holding a document may check it.
        let sha256 = valid_sha256(&request.get_ref().sha256)
            .ok_or_else(|| Error::invalid("sha256", "64 hexadecimal digits (a SHA-256)"))?;
        let found = db::verify(&self.pool, &sha256).await.map_err(Error::from)?;
        Ok(Response::new(match found {
            Some((at, document)) => pb::VerifyDocumentResponse {
                sha256,
                fully_signed: true,
                fully_signed_at: Some(timestamp(at)),
                matched: if document {
                    "CERTIFIED_DOCUMENT"
                } else {
                    "SIGNED_CONTENT"
                }
                .to_owned(),
            },
            None => pb::VerifyDocumentResponse {
                sha256,
                fully_signed: false,
                fully_signed_at: None,
                matched: String::new(),
            },
        }))
    }

    #[tracing::instrument(skip_all, fields(lease_id = field::Empty))]
    async fn get_rent_due(
        &self,
        request: Request<pb::GetRentDueRequest>,
    ) -> Result<tonic::Response<pb::RentDue>, tonic::Status> {
        let actor = self.actor(&request)?;
        let id = lease_id(&request.get_ref().lease_id)?;
        Ok(Response::new(self.rent_due(&actor, id).await?))
    }

    #[tracing::instrument(skip_all, fields(lease_id = field::Empty))]
    async fn list_rent_payments(
        &self,
        request: Request<pb::ListRentPaymentsRequest>,
    ) -> Result<tonic::Response<pb::ListRentPaymentsResponse>, tonic::Status> {
        let actor = self.actor(&request)?;
        let id = lease_id(&request.get_ref().lease_id)?;
        self.visible(&actor, id).await?;
        let payments = rent_payments::list(&self.pool, id)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::ListRentPaymentsResponse {
            payments: payments
                .into_iter()
                .map(|p| pb::RentPayment {
                    transaction_id: p.transaction_id.to_string(),
                    reference: p.reference,
                    amount_kobo: p.amount_kobo,
                    paid_at: Some(timestamp(p.paid_at)),
                    period_number: u32::try_from(p.period_number).unwrap_or(0),
                    period_start: view::date(p.period_start),
                    period_end: view::date(p.period_end),
                    receipt_number: p.receipt_number,
                    receipt_markdown: p.receipt_markdown,
                    refunded: p.refunded_at.is_some(),
                })
                .collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use time::macros::date;

    use super::*;

    fn terms() -> pb::Terms {
        pb::Terms {
            rent_kobo: 250_000_000,
            rent_period: "YEAR".into(),
            duration_months: 12,
            start_date: "2026-03-01".into(),
            deposit_kobo: 0,
            service_charge_kobo: 0,
            advance_rent_months: 6,
            negotiation_points: vec!["  ".into(), "Repaint first.".into()],
        }
    }

    #[test]
    fn terms_are_bounded_like_the_ai_services() {
        let today = date!(2026 - 02 - 15);
        let ok = validate_terms(terms(), today).unwrap();
        assert_eq!(ok.negotiation_points, ["Repaint first."]);
        assert_eq!(ok.rent_period, Some(RentPeriod::Year));
        let empty_period = validate_terms(
            pb::Terms {
                rent_period: String::new(),
                ..terms()
            },
            today,
        )
        .unwrap();
        assert_eq!(empty_period.rent_period, None);
        for (bad, field) in [
            (
                pb::Terms {
                    rent_kobo: 0,
                    ..terms()
                },
                "terms.rent_kobo",
            ),
            (
                pb::Terms {
                    rent_kobo: MAX_KOBO + 1,
                    ..terms()
                },
                "terms.rent_kobo",
            ),
            (
                pb::Terms {
                    duration_months: 121,
                    ..terms()
                },
                "terms.duration_months",
            ),
            (
                pb::Terms {
                    rent_period: "WEEK".into(),
                    ..terms()
                },
                "terms.rent_period",
            ),
            (
                pb::Terms {
                    start_date: "01/03/2026".into(),
                    ..terms()
                },
                "terms.start_date",
            ),
            (
                pb::Terms {
                    start_date: "2026-01-14".into(),
                    ..terms()
                },
                "terms.start_date",
            ),
            (
                pb::Terms {
                    start_date: "2028-02-16".into(),
                    ..terms()
                },
                "terms.start_date",
            ),
            (
                pb::Terms {
                    deposit_kobo: -1,
                    ..terms()
                },
                "terms.deposit_kobo",
            ),
            (
                pb::Terms {
                    negotiation_points: vec!["x".into(); 31],
                    ..terms()
                },
                "terms.negotiation_points",
            ),
            (
                pb::Terms {
                    negotiation_points: vec!["x".repeat(501)],
                    ..terms()
                },
                "terms.negotiation_points",
            ),
        ] {
            match validate_terms(bad, today) {
                Err(Error::Invalid(v)) => assert!(v.iter().any(|(f, _)| *f == field), "{v:?}"),
                other => panic!("{field}: {:?}", other.err()),
            }
        }
        assert!(
            validate_terms(
                pb::Terms {
                    start_date: "2026-01-15".into(),
                    ..terms()
                },
                today
            )
            .is_ok()
        );
        assert!(
            validate_terms(
                pb::Terms {
                    start_date: "2028-02-15".into(),
                    ..terms()
                },
                today
            )
            .is_ok()
        );
    }

    #[test]
    fn content_is_bounded_and_plain() {
        assert!(check_content("# Lease\n\n1. Terms.\r\n\tx").is_ok());
        assert!(check_content("").is_err());
        assert!(check_content("  \n").is_err());
        assert!(check_content("a\u{0}b").is_err());
        assert!(check_content("a\u{1b}[31m").is_err());
        assert!(check_content(&"x".repeat(60_000)).is_ok());
        assert!(check_content(&"x".repeat(60_001)).is_err());
    }

    #[test]
    fn hashes_and_cursors() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(valid_sha256(&"AB".repeat(32)), Some("ab".repeat(32)));
        assert_eq!(valid_sha256("abc"), None);
        assert_eq!(valid_sha256(&"g".repeat(64)), None);
        let at = now();
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(at, id)), Some((at, id)));
        assert_eq!(decode_cursor("garbage!"), None);
    }
}
