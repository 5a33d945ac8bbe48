//! The contact gate (spec 5): a landlord's name, phone and e-mail are what the NGN 5,000
//! unlock sells. Only this module's rule decides who sees them; no other response of the
//! service carries them.

use rentory_auth::{Actor, Role};
use uuid::Uuid;

/// Who may read a landlord's contact for a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Granted,
    /// A tenant who has not paid: 402 with how to pay.
    PayFirst,
    /// Nobody else has a reason to (another landlord, a guide): 403.
    Refused,
}

/// The landlord itself, ADMIN and STAFF always; a tenant once they hold a successful
/// CONTACT_UNLOCK for this listing (`unlocked`, asked only for tenants).
pub fn access(actor: &Actor, landlord_id: Uuid, unlocked: impl FnOnce() -> bool) -> Access {
    if actor.user_id == landlord_id || matches!(actor.role, Role::Admin | Role::Staff) {
        return Access::Granted;
    }
    match actor.role {
        Role::Tenant if unlocked() => Access::Granted,
        Role::Tenant => Access::PayFirst,
        _ => Access::Refused,
    }
}

/// What a tenant is told when the contact is locked.
pub fn how_to_unlock(property_id: Uuid, price_kobo: i64) -> String {
    format!(
        "the landlord's contact is unlocked by a payment of NGN {}: POST /payments/contact-unlock with {{\"property_id\": \"{property_id}\"}}",
        rentory_money::grouped_naira(price_kobo)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use rentory_auth::{RequestContext, StaffPosition, UserStatus};

    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            role,
            status: UserStatus::Active,
            position: (role == Role::Staff).then_some(StaffPosition::SupportLead),
            session_id: Uuid::now_v7(),
            context: RequestContext::default(),
        }
    }

    #[test]
    fn only_the_landlord_staff_and_paying_tenants_see_a_contact() {
        let landlord = actor(Role::Landlord);
        let owner = landlord.user_id;
        assert_eq!(access(&landlord, owner, || false), Access::Granted);
        assert_eq!(
            access(&actor(Role::Admin), owner, || false),
            Access::Granted
        );
        assert_eq!(
            access(&actor(Role::Staff), owner, || false),
            Access::Granted
        );
        assert_eq!(
            access(&actor(Role::Tenant), owner, || false),
            Access::PayFirst
        );
        assert_eq!(
            access(&actor(Role::Tenant), owner, || true),
            Access::Granted
        );
        assert_eq!(
            access(&actor(Role::Landlord), owner, || true),
            Access::Refused
        );
        assert_eq!(access(&actor(Role::Guide), owner, || true), Access::Refused);
    }

    #[test]
    fn the_unlock_message_names_the_price_and_the_route() {
        let id = Uuid::nil();
        let text = how_to_unlock(id, 500_000);
        assert!(text.contains("NGN 5,000"), "{text}");
        assert!(text.contains("/payments/contact-unlock"));
    }
}
