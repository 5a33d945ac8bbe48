//! KYC approval makes the user ACTIVE in the role they asked for.

use rentory_auth::Role;
use rentory_events::{Delivered, Handler, HandlerError};
use rentory_proto::events::v1::{UserActivated, VerificationApproved};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::accounts;

pub const CONSUMER: &str = "identity-kyc-approvals";
pub const APPROVED: &str = "rentory.kyc.verification.approved";
pub const ACTIVATED: &str = "rentory.identity.user.activated";

pub struct KycApprovals;

impl Handler for KycApprovals {
    type Effect = ();

    async fn prepare(&self, _event: &Delivered) -> Result<(), HandlerError> {
        Ok(())
    }

    async fn apply(
        &self,
        _effect: (),
        event: &Delivered,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let approved: VerificationApproved = event.decode()?;
        let user_id = Uuid::parse_str(&approved.user_id)
            .map_err(|_| HandlerError::permanent("approval names no valid user id"))?;
        let role = Role::from_proto_i32(approved.role_granted)
            .ok()
            .filter(|r| r.is_self_service())
            .ok_or_else(|| HandlerError::permanent("approval grants no self-service role"))?;
        let activated = accounts::activate(tx, user_id, role)
            .await
            .map_err(|e| HandlerError::retry(std::time::Duration::from_secs(1), e.to_string()))?;
        if activated {
            tracing::info!(%user_id, role = %role, "user activated by KYC approval");
            let payload = UserActivated {
                user_id: user_id.to_string(),
                role: rentory_proto::identity::v1::Role::from(role).into(),
                verification_request_id: approved.verification_request_id,
                at: Some(rentory_proto::timestamp(time::OffsetDateTime::now_utc())),
            };
            rentory_events::enqueue(tx, ACTIVATED, &payload)
                .await
                .map_err(|e| {
                    HandlerError::retry(std::time::Duration::from_secs(1), e.to_string())
                })?;
        } else {
            tracing::warn!(%user_id, "approval not applied: unknown, suspended or staff account");
        }
        Ok(())
    }
}
