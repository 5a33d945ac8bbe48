//! Leases, versions, audit rows and rent payments as the API shows them.

use rentory_audit::{ChainedEntry, to_hex};
use rentory_proto::lease::v1 as pb;
use rentory_proto::timestamp;

use crate::compliance::{self, Facts, Finding, Tenancy};
use crate::db::{LeaseRow, VersionRow};
use crate::error::Error;
use crate::lifecycle::{Signing, Status};
use crate::rent::{RentPeriod, Terms};

/// The typed facts of a stored lease (CHECK constraints keep these parseable; anything else
/// is corrupt data).
pub struct Typed {
    pub status: Status,
    pub period: RentPeriod,
    pub tenancy: Tenancy,
}

impl Typed {
    pub fn of(row: &LeaseRow) -> Result<Self, Error> {
        let corrupt = |what: &str| Error::corrupt(format!("lease {} has {what}", row.id));
        Ok(Self {
            status: row
                .status
                .parse()
                .map_err(|_| corrupt("an unknown status"))?,
            period: row
                .rent_period
                .parse()
                .map_err(|()| corrupt("an unknown rent period"))?,
            tenancy: Tenancy::parse(&row.tenancy).ok_or_else(|| corrupt("an unknown tenancy"))?,
        })
    }
}

pub fn signing(row: &LeaseRow, status: Status) -> Signing {
    Signing {
        status,
        landlord_signed: row.landlord_signed_at.is_some(),
        tenant_signed: row.tenant_signed_at.is_some(),
    }
}

pub fn findings(row: &LeaseRow, typed: &Typed) -> Vec<Finding> {
    compliance::check(
        &Facts {
            rent_kobo: row.rent_kobo,
            rent_period: typed.period,
            advance_rent_months: u32::try_from(row.advance_rent_months).unwrap_or(u32::MAX),
            tenancy: typed.tenancy,
            landlord_name: &row.landlord_name,
            tenant_name: &row.tenant_name,
            premises_address: &row.premises_address,
        },
        &row.content,
    )
}

pub fn terms(row: &LeaseRow, typed: &Typed) -> Terms {
    Terms {
        rent_kobo: row.rent_kobo,
        period: typed.period,
        duration_months: u32::try_from(row.duration_months).unwrap_or(0),
        start_date: row.start_date,
    }
}

/// YYYY-MM-DD.
pub fn date(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

pub fn lease(row: &LeaseRow) -> Result<pb::Lease, Error> {
    let typed = Typed::of(row)?;
    let findings = findings(row, &typed);
    let mut signatures = Vec::new();
    for (party, user, at, sha, ip) in [
        (
            "LANDLORD",
            row.landlord_id,
            row.landlord_signed_at,
            &row.landlord_signed_sha256,
            row.landlord_signed_ip,
        ),
        (
            "TENANT",
            row.tenant_id,
            row.tenant_signed_at,
            &row.tenant_signed_sha256,
            row.tenant_signed_ip,
        ),
    ] {
        if let Some(at) = at {
            signatures.push(pb::Signature {
                party: party.to_owned(),
                user_id: user.to_string(),
                signed_at: Some(timestamp(at)),
                content_sha256: sha.clone().unwrap_or_default(),
                ip_address: ip.map(|net| net.ip().to_string()),
            });
        }
    }
    Ok(pb::Lease {
        id: row.id.to_string(),
        property_id: row.property_id.to_string(),
        tenant_id: row.tenant_id.to_string(),
        landlord_id: row.landlord_id.to_string(),
        status: typed.status.as_str().to_owned(),
        content: row.content.clone(),
        content_sha256: row.content_sha256.clone(),
        version: u32::try_from(row.version).unwrap_or(0),
        terms: Some(pb::Terms {
            rent_kobo: row.rent_kobo,
            rent_period: row.rent_period.clone(),
            duration_months: u32::try_from(row.duration_months).unwrap_or(0),
            start_date: date(row.start_date),
            deposit_kobo: row.deposit_kobo,
            service_charge_kobo: row.service_charge_kobo,
            advance_rent_months: u32::try_from(row.advance_rent_months).unwrap_or(0),
            negotiation_points: row.negotiation_points.clone(),
        }),
        findings: findings
            .into_iter()
            .map(|f| pb::Finding {
                code: f.code.to_owned(),
                severity: f.severity.as_str().to_owned(),
                message: f.message,
                rule: f.rule,
            })
            .collect(),
        signatures,
        tenancy: row.tenancy.clone(),
        jurisdiction: row.jurisdiction.clone(),
        property_title: row.property_title.clone(),
        premises_address: row.premises_address.clone(),
        landlord_name: row.landlord_name.clone(),
        tenant_name: row.tenant_name.clone(),
        drafted_by_model: row.drafted_by_model.clone(),
        draft_reasons: row.draft_reasons.clone(),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        fully_signed_at: row.fully_signed_at.map(timestamp),
        authorized_by: row.authorized_by.map(|id| id.to_string()),
    })
}

pub fn version(v: VersionRow) -> pb::LeaseVersion {
    pb::LeaseVersion {
        version: u32::try_from(v.version).unwrap_or(0),
        content: v.content,
        content_sha256: v.content_sha256,
        author_id: v.author_id.to_string(),
        created_at: Some(timestamp(v.created_at)),
    }
}

pub fn audit_entry(row: ChainedEntry) -> pb::AuditEntry {
    let e = row.entry;
    pb::AuditEntry {
        id: e.id.to_string(),
        from_status: e.from_status,
        to_status: e.to_status,
        actor_id: e.actor_id.to_string(),
        actor_role: e.actor_role,
        ip_address: e.ip_address.map(|ip| ip.to_string()),
        user_agent: e.user_agent,
        request_id: e.request_id,
        at: Some(timestamp(e.at)),
        content_sha256: e.content_sha256.unwrap_or_default(),
        reason: e.reason,
        prev_hash: to_hex(&row.prev_hash),
        hash: to_hex(&row.hash),
    }
}
