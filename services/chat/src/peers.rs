//! The two services chat asks, always on the caller's behalf and never on the send path:
//! listings (the property a session is about, when it is opened) and identity (the guide
//! being assigned).

use rentory_auth::{Role, UserStatus, on_behalf};
use rentory_proto::identity::v1 as identity;
use rentory_proto::identity::v1::identity_service_client::IdentityServiceClient;
use rentory_proto::listings::v1 as listings;
use rentory_proto::listings::v1::listings_client::ListingsClient;
use rentory_runtime::grpc::PeerChannel;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::error::Error;

/// What chat needs of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    pub landlord_id: Uuid,
    /// Only ACTIVE listings take new conversations.
    pub active: bool,
}

/// What chat needs of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub role: Role,
    pub status: UserStatus,
}

#[derive(Clone)]
pub struct Peers {
    listings: ListingsClient<PeerChannel>,
    identity: IdentityServiceClient<PeerChannel>,
}

impl Peers {
    pub fn new(listings: PeerChannel, identity: PeerChannel) -> Self {
        Self {
            listings: ListingsClient::new(listings),
            identity: IdentityServiceClient::new(identity),
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
        let property = match answer {
            Ok(response) => response.into_inner(),
            Err(status) => return absent_or_unavailable(status, "listings"),
        };
        let landlord_id = Uuid::parse_str(&property.landlord_id).map_err(|_| {
            Error::Corrupt(format!(
                "listings named landlord {:?}",
                property.landlord_id
            ))
        })?;
        Ok(Some(Property {
            landlord_id,
            active: property.status == "ACTIVE",
        }))
    }

    /// The account `id` as identity tells the caller (staff see any account); `None` when
    /// there is no such account.
    pub async fn account(&self, caller: &MetadataMap, id: Uuid) -> Result<Option<Account>, Error> {
        let answer = self
            .identity
            .clone()
            .get_user(on_behalf(
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
        let corrupt = |what: &str| Error::Corrupt(format!("identity sent user {id} with {what}"));
        Ok(Some(Account {
            role: Role::from_proto_i32(user.role).map_err(|_| corrupt("no valid role"))?,
            status: UserStatus::from_proto_i32(user.status)
                .map_err(|_| corrupt("no valid status"))?,
        }))
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
