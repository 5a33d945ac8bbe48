//! Who may do what with verification requests, and which transitions exist. Plain
//! functions over plain data: no I/O.

use rentory_auth::{Actor, Capability, Role, UserStatus};
use uuid::Uuid;

use super::Status;
use crate::error::Error;

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;
pub const MAX_REJECTION_REASON_CHARS: usize = 500;

/// `role_requested` from the wire: only the self-service roles may be asked for.
pub fn role_requested(raw: i32) -> Result<Role, Error> {
    match Role::from_proto_i32(raw) {
        Ok(role) if role.is_self_service() => Ok(role),
        Ok(_) => Err(Error::invalid(
            "role_requested",
            "must be TENANT, LANDLORD or GUIDE",
        )),
        Err(_) => Err(Error::invalid(
            "role_requested",
            "is required: TENANT, LANDLORD or GUIDE",
        )),
    }
}

/// Whether `actor` may submit requests at all.
///
/// Suspended accounts may not; ADMIN and STAFF accounts are made by an administrator and
/// never verified (an approval would replace their role).
pub fn may_submit(actor: &Actor) -> Result<(), Error> {
    if actor.status == UserStatus::Suspended {
        return Err(Error::AccountNotActive("the account is suspended"));
    }
    if !actor.role.is_self_service() {
        return Err(Error::Forbidden(
            "staff and administrator accounts are not verified through KYC",
        ));
    }
    Ok(())
}

/// An active account may ask for a role it does not hold yet, not for the one it has.
pub fn may_request(actor: &Actor, requested: Role) -> Result<(), Error> {
    if actor.status == UserStatus::Active && actor.role == requested {
        return Err(Error::InvalidState(format!(
            "the account is already ACTIVE as {requested}"
        )));
    }
    Ok(())
}

/// Reviewers: ADMIN, or STAFF positioned COMPLIANCE_OFFICER, whose account is active.
pub fn is_reviewer(actor: &Actor) -> bool {
    actor.can(Capability::ReviewKyc) && actor.status == UserStatus::Active
}

/// For the queue, approve and reject: everyone but reviewers gets 403.
pub fn require_reviewer(actor: &Actor) -> Result<(), Error> {
    if is_reviewer(actor) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "reviewing verification requests needs ADMIN or a COMPLIANCE_OFFICER",
        ))
    }
}

/// How much of one request a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Everything, with signed image links.
    Reviewer,
    /// Its own request, without image links.
    Owner,
}

/// `None` means the caller must not learn the request exists: answer NOT_FOUND.
pub fn access(actor: &Actor, owner_id: Uuid) -> Option<Access> {
    if is_reviewer(actor) {
        Some(Access::Reviewer)
    } else if actor.user_id == owner_id {
        Some(Access::Owner)
    } else {
        None
    }
}

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// The status after `decision`, checked against the request's current status and owner.
/// Call [`require_reviewer`] first.
pub fn decide(
    reviewer_id: Uuid,
    owner_id: Uuid,
    current: Status,
    decision: Decision,
) -> Result<Status, Error> {
    if reviewer_id == owner_id {
        return Err(Error::Forbidden(
            "reviewers may not decide their own verification request",
        ));
    }
    if current != Status::Pending {
        return Err(Error::InvalidState(format!(
            "the verification request is already {}; only PENDING requests can be decided",
            current.as_str()
        )));
    }
    Ok(match decision {
        Decision::Approve => Status::Approved,
        Decision::Reject => Status::Rejected,
    })
}

/// A rejection reason: trimmed, 1 to 500 characters.
pub fn rejection_reason(raw: &str) -> Result<String, Error> {
    let reason = raw.trim();
    if reason.is_empty() {
        return Err(Error::invalid("reason", "is required to reject a request"));
    }
    if reason.chars().count() > MAX_REJECTION_REASON_CHARS {
        return Err(Error::invalid(
            "reason",
            format!("must be at most {MAX_REJECTION_REASON_CHARS} characters"),
        ));
    }
    Ok(reason.to_owned())
}

/// The queue's status filter; unspecified means PENDING.
pub fn list_status(raw: i32) -> Result<Status, Error> {
    use rentory_proto::kyc::v1::VerificationStatus as Pb;
    match Pb::try_from(raw) {
        Ok(Pb::Unspecified | Pb::Pending) => Ok(Status::Pending),
        Ok(Pb::Approved) => Ok(Status::Approved),
        Ok(Pb::Rejected) => Ok(Status::Rejected),
        Err(_) => Err(Error::invalid("status", "unknown verification status")),
    }
}

/// Page size: 0 means the default, anything above the maximum is lowered to it.
pub fn page_size(requested: u32) -> u32 {
    match requested {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use rentory_auth::{RequestContext, StaffPosition};

    use super::*;

    fn actor(role: Role, status: UserStatus, position: Option<StaffPosition>) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            role,
            status,
            position,
            session_id: Uuid::now_v7(),
            context: RequestContext::default(),
        }
    }

    fn every_actor() -> Vec<(Actor, bool)> {
        let mut all = vec![];
        for role in [Role::Tenant, Role::Landlord, Role::Guide] {
            all.push((actor(role, UserStatus::Active, None), false));
            // A position claim on a non-staff token grants nothing.
            all.push((
                actor(
                    role,
                    UserStatus::Active,
                    Some(StaffPosition::ComplianceOfficer),
                ),
                false,
            ));
        }
        for position in StaffPosition::ALL {
            all.push((
                actor(Role::Staff, UserStatus::Active, Some(*position)),
                *position == StaffPosition::ComplianceOfficer,
            ));
        }
        all.push((actor(Role::Staff, UserStatus::Active, None), false));
        all.push((actor(Role::Admin, UserStatus::Active, None), true));
        all.push((actor(Role::Admin, UserStatus::Suspended, None), false));
        all.push((
            actor(
                Role::Staff,
                UserStatus::Suspended,
                Some(StaffPosition::ComplianceOfficer),
            ),
            false,
        ));
        all
    }

    #[test]
    fn only_active_admins_and_compliance_officers_review() {
        for (actor, reviewer) in every_actor() {
            assert_eq!(is_reviewer(&actor), reviewer, "{actor:?}");
            assert_eq!(require_reviewer(&actor).is_ok(), reviewer, "{actor:?}");
            if !reviewer {
                assert!(matches!(require_reviewer(&actor), Err(Error::Forbidden(_))));
            }
        }
    }

    #[test]
    fn reviewers_see_everything_owners_their_own_others_nothing() {
        for (actor, reviewer) in every_actor() {
            let own = actor.user_id;
            let other = Uuid::now_v7();
            let expected_other = reviewer.then_some(Access::Reviewer);
            assert_eq!(access(&actor, other), expected_other, "{actor:?}");
            let expected_own = if reviewer {
                Access::Reviewer
            } else {
                Access::Owner
            };
            assert_eq!(access(&actor, own), Some(expected_own));
        }
    }

    #[test]
    fn submitting_needs_a_self_service_role_and_an_unsuspended_account() {
        let pending = actor(Role::Tenant, UserStatus::Pending, None);
        assert!(may_submit(&pending).is_ok());
        assert!(may_request(&pending, Role::Tenant).is_ok());
        assert!(may_request(&pending, Role::Landlord).is_ok());

        let active = actor(Role::Tenant, UserStatus::Active, None);
        assert!(may_submit(&active).is_ok());
        assert!(matches!(
            may_request(&active, Role::Tenant),
            Err(Error::InvalidState(_))
        ));
        assert!(may_request(&active, Role::Guide).is_ok());

        let suspended = actor(Role::Landlord, UserStatus::Suspended, None);
        assert!(matches!(
            may_submit(&suspended),
            Err(Error::AccountNotActive(_))
        ));
        for staff in [
            actor(Role::Admin, UserStatus::Active, None),
            actor(
                Role::Staff,
                UserStatus::Active,
                Some(StaffPosition::ComplianceOfficer),
            ),
        ] {
            assert!(matches!(may_submit(&staff), Err(Error::Forbidden(_))));
        }
    }

    #[test]
    fn only_self_service_roles_may_be_requested() {
        use rentory_proto::identity::v1::Role as Pb;
        assert_eq!(role_requested(Pb::Tenant as i32).unwrap(), Role::Tenant);
        assert_eq!(role_requested(Pb::Landlord as i32).unwrap(), Role::Landlord);
        assert_eq!(role_requested(Pb::Guide as i32).unwrap(), Role::Guide);
        for bad in [
            Pb::Admin as i32,
            Pb::Staff as i32,
            Pb::Unspecified as i32,
            99,
        ] {
            assert!(matches!(
                role_requested(bad),
                Err(Error::Invalid {
                    field: "role_requested",
                    ..
                })
            ));
        }
    }

    #[test]
    fn only_pending_requests_are_decided_and_never_by_their_owner() {
        let (reviewer, owner) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(
            decide(reviewer, owner, Status::Pending, Decision::Approve).unwrap(),
            Status::Approved
        );
        assert_eq!(
            decide(reviewer, owner, Status::Pending, Decision::Reject).unwrap(),
            Status::Rejected
        );
        for current in [Status::Approved, Status::Rejected] {
            for decision in [Decision::Approve, Decision::Reject] {
                match decide(reviewer, owner, current, decision) {
                    Err(Error::InvalidState(message)) => {
                        assert!(message.contains(current.as_str()), "{message}")
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        assert!(matches!(
            decide(owner, owner, Status::Pending, Decision::Approve),
            Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn rejection_reasons_are_trimmed_and_bounded() {
        assert_eq!(rejection_reason("  blurry ID  ").unwrap(), "blurry ID");
        assert!(rejection_reason("   ").is_err());
        assert!(rejection_reason("").is_err());
        assert!(rejection_reason(&"é".repeat(500)).is_ok());
        assert!(rejection_reason(&"é".repeat(501)).is_err());
        assert_eq!(
            rejection_reason(&format!("  {}  ", "x".repeat(500)))
                .unwrap()
                .len(),
            500
        );
    }

    #[test]
    fn list_defaults_to_pending_and_pages_are_bounded() {
        assert_eq!(list_status(0).unwrap(), Status::Pending);
        assert_eq!(list_status(2).unwrap(), Status::Approved);
        assert_eq!(list_status(3).unwrap(), Status::Rejected);
        assert!(list_status(42).is_err());
        assert_eq!(page_size(0), 20);
        assert_eq!(page_size(7), 7);
        assert_eq!(page_size(100), 100);
        assert_eq!(page_size(10_000), 100);
    }
}
