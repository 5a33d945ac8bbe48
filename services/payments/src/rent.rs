//! Rent: the tenant of a FULLY_SIGNED lease pays the lease's next rent period, and the
//! landlord's share goes to their Paystack subaccount when they have one ([`crate::payout`]).
//!
//! What is due comes from the lease service ([`Leases::find`], its `GetRentDue`), asked on
//! the payer's behalf so it applies its own visibility rule (a lease the payer may not see is
//! "not found"). [`plan`] then decides whether the payer may pay now and how much: the amount
//! is always the lease service's, never the client's.

use rentory_auth::on_behalf;
use rentory_proto::lease::v1 as lease_pb;
use rentory_proto::lease::v1::leases_client::LeasesClient;
use rentory_runtime::grpc::PeerChannel;
use tonic::metadata::MetadataMap;
use uuid::Uuid;

use crate::error::Error;
use crate::transaction::Subject;

/// The lease status rent is paid against.
pub const FULLY_SIGNED: &str = "FULLY_SIGNED";

/// What payments needs to know of a lease: its parties and what its tenant owes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub landlord_id: Uuid,
    /// DRAFT, SIGNED_BY_LANDLORD, SIGNED_BY_TENANT, PENDING_ADMIN or FULLY_SIGNED.
    pub status: String,
    /// The next payment (one rent period); 0 once the whole term is paid.
    pub amount_kobo: i64,
    pub paid_in_full: bool,
}

impl Lease {
    /// Reads the lease service's answer for `asked`. An answer about another lease, or with
    /// ids that are not ids, is the lease service's fault and is not acted on.
    fn from_rent_due(asked: Uuid, due: lease_pb::RentDue) -> Result<Self, Error> {
        let id = |field: &str, text: &str| {
            Uuid::parse_str(text).map_err(|_| {
                Error::corrupt(format!(
                    "the lease service sent a {field} that is not an id"
                ))
            })
        };
        let lease = Self {
            id: id("lease_id", &due.lease_id)?,
            tenant_id: id("tenant_id", &due.tenant_id)?,
            landlord_id: id("landlord_id", &due.landlord_id)?,
            status: due.status,
            amount_kobo: due.amount_kobo,
            paid_in_full: due.paid_in_full,
        };
        if lease.id != asked {
            return Err(Error::corrupt(format!(
                "asked the lease service about lease {asked}, it answered about {}",
                lease.id
            )));
        }
        Ok(lease)
    }
}

/// The lease service's client (`RENTORY_LEASE_URL`).
#[derive(Clone)]
pub struct Leases {
    client: LeasesClient<PeerChannel>,
}

impl Leases {
    pub fn new(client: LeasesClient<PeerChannel>) -> Self {
        Self { client }
    }

    /// What `lease_id`'s tenant owes next, asked with the caller's own token (`incoming`).
    /// A lease that does not exist, or that the caller may not see, is "lease not found";
    /// the lease service being down or slow is passed on as it is (503 at the gateway).
    pub async fn find(&self, incoming: &MetadataMap, lease_id: Uuid) -> Result<Lease, Error> {
        let due = self
            .client
            .clone()
            .get_rent_due(on_behalf(
                incoming,
                lease_pb::GetRentDueRequest {
                    lease_id: lease_id.to_string(),
                },
            ))
            .await
            .map_err(|status| match status.code() {
                tonic::Code::NotFound => Error::NotFound("lease"),
                _ => Error::Upstream(status),
            })?
            .into_inner();
        Lease::from_rent_due(lease_id, due)
    }
}

/// What a rent payment is for and how much, if `payer` may pay `lease`'s rent now.
pub fn plan(payer: Uuid, lease: &Lease) -> Result<(Subject, i64), Error> {
    if lease.tenant_id != payer {
        return Err(Error::Forbidden("rent is paid by the lease's tenant"));
    }
    if lease.status != FULLY_SIGNED {
        return Err(Error::InvalidState(format!(
            "rent is paid against a FULLY_SIGNED lease; this one is {}",
            lease.status
        )));
    }
    if lease.paid_in_full {
        return Err(Error::InvalidState(
            "the rent for the whole term is paid".into(),
        ));
    }
    if lease.amount_kobo <= 0 {
        return Err(Error::corrupt(format!(
            "lease {} has no positive rent due and is not paid in full",
            lease.id
        )));
    }
    Ok((Subject::Lease(lease.id), lease.amount_kobo))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn lease(status: &str) -> Lease {
        Lease {
            id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            landlord_id: Uuid::now_v7(),
            status: status.into(),
            amount_kobo: 250_000_000,
            paid_in_full: false,
        }
    }

    #[test]
    fn the_tenant_of_a_fully_signed_lease_pays_what_is_due() {
        let signed = lease(FULLY_SIGNED);
        let (subject, amount) = plan(signed.tenant_id, &signed).unwrap();
        assert_eq!(subject, Subject::Lease(signed.id));
        assert_eq!(amount, 250_000_000);
    }

    #[test]
    fn nobody_else_no_other_status_and_no_paid_up_lease_pays() {
        let signed = lease(FULLY_SIGNED);
        assert!(matches!(
            plan(signed.landlord_id, &signed),
            Err(Error::Forbidden(_))
        ));
        for status in ["DRAFT", "SIGNED_BY_TENANT", "PENDING_ADMIN"] {
            let l = lease(status);
            match plan(l.tenant_id, &l) {
                Err(Error::InvalidState(message)) => assert!(message.contains(status)),
                other => panic!("{status}: {other:?}"),
            }
        }
        let paid = Lease {
            amount_kobo: 0,
            paid_in_full: true,
            ..lease(FULLY_SIGNED)
        };
        match plan(paid.tenant_id, &paid) {
            Err(Error::InvalidState(message)) => {
                assert_eq!(message, "the rent for the whole term is paid");
            }
            other => panic!("{other:?}"),
        }
        let nothing_due = Lease {
            amount_kobo: 0,
            ..lease(FULLY_SIGNED)
        };
        assert!(matches!(
            plan(nothing_due.tenant_id, &nothing_due),
            Err(Error::Corrupt(_))
        ));
    }

    #[test]
    fn an_answer_about_another_lease_or_without_ids_is_not_acted_on() {
        let asked = Uuid::now_v7();
        let due = |lease_id: String, tenant_id: String| lease_pb::RentDue {
            lease_id,
            property_id: Uuid::now_v7().to_string(),
            tenant_id,
            landlord_id: Uuid::now_v7().to_string(),
            status: FULLY_SIGNED.into(),
            amount_kobo: 1,
            period_number: 1,
            period_start: "2026-06-01".into(),
            period_end: "2027-06-01".into(),
            paid_in_full: false,
        };
        let tenant = Uuid::now_v7();
        let read = Lease::from_rent_due(asked, due(asked.to_string(), tenant.to_string())).unwrap();
        assert_eq!((read.id, read.tenant_id), (asked, tenant));
        let other =
            Lease::from_rent_due(asked, due(Uuid::now_v7().to_string(), tenant.to_string()));
        assert!(matches!(other, Err(Error::Corrupt(_))));
        let bad = Lease::from_rent_due(asked, due(asked.to_string(), "someone".into()));
        assert!(matches!(bad, Err(Error::Corrupt(_))));
    }
}
