//! Rent: the tenant of a FULLY_SIGNED lease pays the lease's rent, and the landlord's share
//! goes to their Paystack subaccount when they have one ([`crate::payout`]).
//!
//! The lease service does not exist yet (issue 7). Until it does, [`Leases`] answers every
//! lookup with a clear refusal; the rule that decides whether and how much a tenant pays
//! ([`plan`]) and the checkout it feeds are already the ones rent will use, so the lease
//! service only adds the lookup.

use uuid::Uuid;

use crate::error::Error;
use crate::transaction::Subject;

/// The lease status rent is paid against.
pub const FULLY_SIGNED: &str = "FULLY_SIGNED";

/// What payments needs to know of a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub landlord_id: Uuid,
    /// DRAFT, SIGNED_BY_LANDLORD, SIGNED_BY_TENANT, PENDING_ADMIN or FULLY_SIGNED.
    pub status: String,
    pub rent_kobo: i64,
}

/// Where leases are read from.
#[derive(Debug, Clone, Copy, Default)]
pub enum Leases {
    /// No lease service is deployed yet: no rent can be paid.
    #[default]
    NotAvailable,
}

impl Leases {
    pub async fn find(&self, _lease_id: Uuid) -> Result<Lease, Error> {
        match self {
            Leases::NotAvailable => Err(Error::InvalidState(
                "rent is paid against a FULLY_SIGNED lease; leases are not available yet".into(),
            )),
        }
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
    if lease.rent_kobo <= 0 {
        return Err(Error::corrupt(format!(
            "lease {} has no positive rent",
            lease.id
        )));
    }
    Ok((Subject::Lease(lease.id), lease.rent_kobo))
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
            rent_kobo: 250_000_000,
        }
    }

    #[test]
    fn the_tenant_of_a_fully_signed_lease_pays_its_rent() {
        let signed = lease(FULLY_SIGNED);
        let (subject, amount) = plan(signed.tenant_id, &signed).unwrap();
        assert_eq!(subject, Subject::Lease(signed.id));
        assert_eq!(amount, 250_000_000);
    }

    #[test]
    fn nobody_else_and_no_other_lease_status_pays() {
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
        let free = Lease {
            rent_kobo: 0,
            ..lease(FULLY_SIGNED)
        };
        assert!(matches!(
            plan(free.tenant_id, &free),
            Err(Error::Corrupt(_))
        ));
    }

    #[tokio::test]
    async fn until_the_lease_service_exists_rent_is_refused_clearly() {
        match Leases::default().find(Uuid::now_v7()).await {
            Err(Error::InvalidState(message)) => {
                assert!(message.contains("FULLY_SIGNED"));
                assert!(message.contains("not available yet"));
            }
            other => panic!("{other:?}"),
        }
    }
}
