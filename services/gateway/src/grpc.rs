//! The gRPC clients and what every call carries in its metadata: the caller's bearer token
//! as received, the client IP, the request id, the user agent and the W3C trace context.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use rentory_auth::metadata;
use rentory_proto::ai::v1::ai_orchestrator_client::AiOrchestratorClient;
use rentory_proto::chat::v1::chat_client::ChatClient;
use rentory_proto::identity::v1::identity_service_client::IdentityServiceClient;
use rentory_proto::kyc::v1::kyc_service_client::KycServiceClient;
use rentory_proto::lease::v1::leases_client::LeasesClient;
use rentory_proto::listings::v1::listings_client::ListingsClient;
use rentory_proto::payments::v1::payments_client::PaymentsClient;
use rentory_runtime::grpc::{MAX_MESSAGE_BYTES, PeerChannel, ServeError};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic_health::pb::health_client::HealthClient;

use crate::client_ip;
use crate::config::Config;
use crate::request_id::RequestId;
use crate::state::AppState;

const MAX_USER_AGENT_CHARS: usize = 256;

/// Clients of the services the gateway calls. Channels connect lazily, so the gateway starts
/// whatever is up; a service that is down fails its calls with UNAVAILABLE (503 here).
#[derive(Clone)]
pub struct Clients {
    pub identity: IdentityServiceClient<PeerChannel>,
    pub kyc: KycServiceClient<PeerChannel>,
    pub ai: AiOrchestratorClient<PeerChannel>,
    pub listings: ListingsClient<PeerChannel>,
    pub payments: PaymentsClient<PeerChannel>,
    pub chat: ChatClient<PeerChannel>,
    pub leases: LeasesClient<PeerChannel>,
    pub identity_health: HealthClient<PeerChannel>,
    pub kyc_health: HealthClient<PeerChannel>,
    pub ai_health: HealthClient<PeerChannel>,
    pub listings_health: HealthClient<PeerChannel>,
    pub payments_health: HealthClient<PeerChannel>,
    pub chat_health: HealthClient<PeerChannel>,
    pub lease_health: HealthClient<PeerChannel>,
}

impl Clients {
    pub fn connect(config: &Config) -> Result<Self, ServeError> {
        let identity = rentory_runtime::grpc::channel(&config.identity_url, &config.peer_auth)?;
        let kyc = rentory_runtime::grpc::channel(&config.kyc_url, &config.peer_auth)?;
        let ai = rentory_runtime::grpc::channel(&config.ai_url, &config.peer_auth)?;
        let listings = rentory_runtime::grpc::channel(&config.listings_url, &config.peer_auth)?;
        let payments = rentory_runtime::grpc::channel(&config.payments_url, &config.peer_auth)?;
        let chat = rentory_runtime::grpc::channel(&config.chat_url, &config.peer_auth)?;
        let lease = rentory_runtime::grpc::channel(&config.lease_url, &config.peer_auth)?;
        Ok(Self {
            identity: IdentityServiceClient::new(identity.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            kyc: KycServiceClient::new(kyc.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            ai: AiOrchestratorClient::new(ai.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            // Analyses carry up to ten photos.
            listings: ListingsClient::new(listings.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            payments: PaymentsClient::new(payments.clone()),
            chat: ChatClient::new(chat.clone()),
            // A page of leases carries up to 100 contents of up to 60,000 characters each.
            leases: LeasesClient::new(lease.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            identity_health: HealthClient::new(identity),
            kyc_health: HealthClient::new(kyc),
            ai_health: HealthClient::new(ai),
            listings_health: HealthClient::new(listings),
            payments_health: HealthClient::new(payments),
            chat_health: HealthClient::new(chat),
            lease_health: HealthClient::new(lease),
        })
    }
}

/// What the gateway forwards about the request to the service it calls.
#[derive(Debug, Clone)]
pub struct Forward {
    request_id: RequestId,
    client_ip: Option<IpAddr>,
    user_agent: Option<String>,
    authorization: Option<HeaderValue>,
}

impl Forward {
    /// What a Socket.IO event forwards: a fresh request id per event, and the client IP and
    /// user agent of the socket's handshake.
    pub fn for_socket_event(client_ip: Option<IpAddr>, user_agent: Option<String>) -> Self {
        Self {
            request_id: RequestId::reuse_or_new(None),
            client_ip,
            user_agent,
            authorization: None,
        }
    }

    /// The user agent as forwarded: at most 256 characters of a header's text.
    pub fn user_agent_of(headers: &axum::http::HeaderMap) -> Option<String> {
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect())
    }

    /// Calls made on the caller's behalf carry their (already verified) token.
    pub fn with_authorization(mut self, authorization: HeaderValue) -> Self {
        self.authorization = Some(authorization);
        self
    }

    /// Calls made for a user who has just registered or logged in carry their new token.
    pub fn with_bearer(self, access_token: &str) -> Self {
        match HeaderValue::from_str(&format!("Bearer {access_token}")) {
            Ok(value) => self.with_authorization(value),
            Err(_) => self,
        }
    }

    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    /// A gRPC request with the forwarded metadata and the current trace context.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.fill(request.metadata_mut());
        request
    }

    fn fill(&self, md: &mut MetadataMap) {
        if let Some(auth) = &self.authorization
            && let Ok(mut value) = MetadataValue::try_from(auth.as_bytes())
        {
            // Kept out of Debug output and of HPACK's dynamic table.
            value.set_sensitive(true);
            md.insert(metadata::AUTHORIZATION, value);
        }
        if let Some(ip) = self.client_ip
            && let Ok(value) = MetadataValue::try_from(ip.to_string())
        {
            md.insert(metadata::CLIENT_IP, value);
        }
        if let Ok(value) = MetadataValue::try_from(self.request_id.as_str()) {
            md.insert(metadata::REQUEST_ID, value);
        }
        if let Some(ua) = &self.user_agent
            && let Ok(value) = MetadataValue::try_from(ua.as_str())
        {
            md.insert(metadata::USER_AGENT, value);
        }
        rentory_runtime::trace_context::inject(md);
    }
}

impl FromRequestParts<AppState> for Forward {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client_ip = client_ip::of_request(parts, state.trusted_proxy_hops).await;
        let request_id = RequestId::from_request_parts(parts, state).await?;
        let user_agent = Self::user_agent_of(&parts.headers);
        Ok(Self {
            request_id,
            client_ip,
            user_agent,
            authorization: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_carries_what_was_forwarded() {
        let forward = Forward {
            request_id: RequestId::reuse_or_new(Some(&HeaderValue::from_static("req-1"))),
            client_ip: Some("203.0.113.7".parse().expect("ip")),
            user_agent: Some("curl/8".into()),
            authorization: None,
        }
        .with_bearer("abc.def.ghi");
        let request = forward.request(());
        let md = request.metadata();
        let get = |k: &str| md.get(k).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(
            get(metadata::AUTHORIZATION).as_deref(),
            Some("Bearer abc.def.ghi")
        );
        assert_eq!(get(metadata::CLIENT_IP).as_deref(), Some("203.0.113.7"));
        assert_eq!(get(metadata::REQUEST_ID).as_deref(), Some("req-1"));
        assert_eq!(get(metadata::USER_AGENT).as_deref(), Some("curl/8"));
    }

    #[test]
    fn nothing_is_invented_when_unknown() {
        let forward = Forward {
            request_id: RequestId::reuse_or_new(None),
            client_ip: None,
            user_agent: None,
            authorization: None,
        };
        let request = forward.request(());
        assert!(request.metadata().get(metadata::AUTHORIZATION).is_none());
        assert!(request.metadata().get(metadata::CLIENT_IP).is_none());
        assert!(request.metadata().get(metadata::REQUEST_ID).is_some());
    }
}
