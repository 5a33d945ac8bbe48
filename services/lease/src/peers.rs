//! The services a draft asks, always on the landlord's behalf (their token, IP, request id):
//! listings (the property), identity (the parties), chat (that they talked) and the AI
//! orchestrator (the legal architect).

use rentory_auth::{Role, UserStatus, on_behalf};
use rentory_proto::ai::v1 as ai;
use rentory_proto::ai::v1::ai_orchestrator_client::AiOrchestratorClient;
use rentory_proto::chat::v1 as chat;
use rentory_proto::chat::v1::chat_client::ChatClient;
use rentory_proto::identity::v1 as identity;
use rentory_proto::identity::v1::identity_service_client::IdentityServiceClient;
use rentory_proto::listings::v1 as listings;
use rentory_proto::listings::v1::listings_client::ListingsClient;
use rentory_runtime::grpc::PeerChannel;
use rentory_runtime::rpc_error::{self, Reason};
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::error::Error;

/// What a lease needs of a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub landlord_id: Uuid,
    pub active: bool,
    pub title: String,
    pub address: String,
    pub category: String,
    pub bedrooms: Option<u32>,
    pub description: String,
    /// YEAR, MONTH or NIGHT: what the listed price is per.
    pub rent_period: String,
}

/// What a counterparty may know of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub role: Role,
    pub status: UserStatus,
    pub full_name: String,
}

#[derive(Clone)]
pub struct Peers {
    listings: ListingsClient<PeerChannel>,
    identity: IdentityServiceClient<PeerChannel>,
    chat: ChatClient<PeerChannel>,
    ai: AiOrchestratorClient<PeerChannel>,
}

impl Peers {
    pub fn new(
        listings: PeerChannel,
        identity: PeerChannel,
        chat: PeerChannel,
        ai: PeerChannel,
    ) -> Self {
        Self {
            listings: ListingsClient::new(listings),
            identity: IdentityServiceClient::new(identity),
            chat: ChatClient::new(chat),
            ai: AiOrchestratorClient::new(ai),
        }
    }

    /// The property as the caller may see it; `None` when it does not exist for them.
    pub async fn property(
        &self,
        caller: &MetadataMap,
        id: Uuid,
    ) -> Result<Option<Property>, Error> {
        let answer = self
            .listings
            .clone()
            .get_property(on_behalf(
                caller,
                listings::GetPropertyRequest { id: id.to_string() },
            ))
            .await;
        let p = match answer {
            Ok(response) => response.into_inner(),
            Err(status) => return absent_or_unavailable(status, "listings"),
        };
        let landlord_id = Uuid::parse_str(&p.landlord_id)
            .map_err(|_| Error::corrupt(format!("listings named landlord {:?}", p.landlord_id)))?;
        Ok(Some(Property {
            landlord_id,
            active: p.status == "ACTIVE",
            title: p.title,
            address: p.address,
            category: p.category,
            bedrooms: p.bedrooms,
            description: p.description,
            rent_period: p.rent_period,
        }))
    }

    /// A user as identity tells any authenticated caller; `None` when there is none.
    pub async fn person(&self, caller: &MetadataMap, id: Uuid) -> Result<Option<Person>, Error> {
        let answer = self
            .identity
            .clone()
            .get_public_user(on_behalf(
                caller,
                identity::GetUserRequest {
                    user_id: id.to_string(),
                },
            ))
            .await;
        let user = match answer {
            Ok(response) => response.into_inner(),
            Err(status) => return absent_or_unavailable(status, "identity"),
        };
        let corrupt = |what: &str| Error::corrupt(format!("identity sent user {id} with {what}"));
        Ok(Some(Person {
            role: Role::from_proto_i32(user.role).map_err(|_| corrupt("no valid role"))?,
            status: UserStatus::from_proto_i32(user.status)
                .map_err(|_| corrupt("no valid status"))?,
            full_name: user.full_name,
        }))
    }

    /// Whether the tenant has a chat session about the property that the caller can see.
    pub async fn talked(
        &self,
        caller: &MetadataMap,
        property_id: Uuid,
        tenant_id: Uuid,
    ) -> Result<bool, Error> {
        let answer = self
            .chat
            .clone()
            .find_session(on_behalf(
                caller,
                chat::FindSessionRequest {
                    property_id: property_id.to_string(),
                    tenant_id: tenant_id.to_string(),
                },
            ))
            .await;
        match answer {
            Ok(_) => Ok(true),
            Err(status) => absent_or_unavailable::<()>(status, "chat").map(|s| s.is_some()),
        }
    }

    /// The legal architect's draft. Refusals with a reason of the AI's own (budget
    /// exhausted, invalid field, ...) pass through to the caller unchanged.
    pub async fn draft(
        &self,
        caller: &MetadataMap,
        request: ai::DraftLeaseRequest,
    ) -> Result<ai::DraftLeaseResponse, Error> {
        match self
            .ai
            .clone()
            .draft_lease(on_behalf(caller, request))
            .await
        {
            Ok(response) => Ok(response.into_inner()),
            Err(status) => {
                let reason = rpc_error::decode(&status).reason;
                match reason {
                    Some(Reason::Internal | Reason::Unavailable | Reason::Unauthenticated)
                    | None => {
                        tracing::warn!(code = ?status.code(), message = status.message(), "the AI orchestrator failed");
                        Err(Error::Unavailable("AI"))
                    }
                    Some(_) => Err(Error::Ai(status)),
                }
            }
        }
    }
}

/// NOT_FOUND means "no such thing"; anything else means the service could not answer,
/// which the caller sees as UNAVAILABLE (the cause is logged here).
fn absent_or_unavailable<T>(status: Status, service: &'static str) -> Result<Option<T>, Error> {
    if status.code() == Code::NotFound {
        return Ok(None);
    }
    tracing::warn!(service, code = ?status.code(), message = status.message(), "a peer service call failed");
    Err(Error::Unavailable(service))
}
