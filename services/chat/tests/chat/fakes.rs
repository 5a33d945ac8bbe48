//! Stand-ins for listings and identity on one real gRPC server: the properties and
//! accounts a test registers, the calls they received, and an outage switch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rentory_auth::{Role, UserStatus};
use rentory_proto::identity::v1 as id_pb;
use rentory_proto::identity::v1::identity_service_server::{
    IdentityService, IdentityServiceServer,
};
use rentory_proto::listings::v1 as listings_pb;
use rentory_proto::listings::v1::listings_server::{Listings, ListingsServer};
use rentory_runtime::CancellationToken;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

#[derive(Clone, Default)]
pub struct Directory {
    properties: Arc<Mutex<HashMap<Uuid, (Uuid, &'static str)>>>,
    accounts: Arc<Mutex<HashMap<Uuid, (Role, UserStatus)>>>,
    property_calls: Arc<AtomicUsize>,
    /// The `authorization` metadata of the last call, as forwarded by chat.
    last_authorization: Arc<Mutex<Option<String>>>,
    down: Arc<AtomicBool>,
}

impl Directory {
    pub fn add_property(&self, id: Uuid, landlord: Uuid, status: &'static str) {
        self.properties
            .lock()
            .unwrap()
            .insert(id, (landlord, status));
    }

    pub fn add_account(&self, id: Uuid, role: Role, status: UserStatus) {
        self.accounts.lock().unwrap().insert(id, (role, status));
    }

    pub fn property_calls(&self) -> usize {
        self.property_calls.load(Ordering::SeqCst)
    }

    pub fn last_authorization(&self) -> Option<String> {
        self.last_authorization.lock().unwrap().clone()
    }

    /// While set, every call answers UNAVAILABLE.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn answer<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        *self.last_authorization.lock().unwrap() = authorization;
        if self.down.load(Ordering::SeqCst) {
            return Err(Status::unavailable("fake outage"));
        }
        Ok(())
    }

    /// Serves both fakes on a loopback port until `stop`; returns their URL.
    pub async fn serve(&self, stop: CancellationToken) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = tonic::transport::Server::builder()
            .add_service(ListingsServer::new(self.clone()))
            .add_service(IdentityServiceServer::new(self.clone()));
        tokio::spawn(async move {
            router
                .serve_with_incoming_shutdown(
                    TcpListenerStream::new(listener),
                    stop.cancelled_owned(),
                )
                .await
        });
        url
    }
}

fn unused<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not used by chat"))
}

#[tonic::async_trait]
impl Listings for Directory {
    async fn get_property(
        &self,
        request: Request<listings_pb::GetPropertyRequest>,
    ) -> Result<Response<listings_pb::Property>, Status> {
        self.property_calls.fetch_add(1, Ordering::SeqCst);
        self.answer(&request)?;
        let id =
            Uuid::parse_str(&request.get_ref().id).map_err(|_| Status::invalid_argument("id"))?;
        let (landlord, status) = self
            .properties
            .lock()
            .unwrap()
            .get(&id)
            .copied()
            .ok_or_else(|| Status::not_found("property not found"))?;
        Ok(Response::new(listings_pb::Property {
            id: id.to_string(),
            landlord_id: landlord.to_string(),
            status: status.to_owned(),
            title: "3-bedroom flat in Yaba".into(),
            ..Default::default()
        }))
    }

    async fn analyze_photos(
        &self,
        _: Request<listings_pb::AnalyzePhotosRequest>,
    ) -> Result<Response<listings_pb::Analysis>, Status> {
        unused()
    }

    async fn create_property(
        &self,
        _: Request<listings_pb::CreatePropertyRequest>,
    ) -> Result<Response<listings_pb::Property>, Status> {
        unused()
    }

    async fn update_property(
        &self,
        _: Request<listings_pb::UpdatePropertyRequest>,
    ) -> Result<Response<listings_pb::Property>, Status> {
        unused()
    }

    async fn archive_property(
        &self,
        _: Request<listings_pb::ArchivePropertyRequest>,
    ) -> Result<Response<listings_pb::Property>, Status> {
        unused()
    }

    async fn discover(
        &self,
        _: Request<listings_pb::DiscoverRequest>,
    ) -> Result<Response<listings_pb::DiscoverResponse>, Status> {
        unused()
    }

    async fn rate_property(
        &self,
        _: Request<listings_pb::RatePropertyRequest>,
    ) -> Result<Response<listings_pb::Property>, Status> {
        unused()
    }

    async fn get_contact(
        &self,
        _: Request<listings_pb::GetContactRequest>,
    ) -> Result<Response<listings_pb::Contact>, Status> {
        unused()
    }

    async fn save_search(
        &self,
        _: Request<listings_pb::SaveSearchRequest>,
    ) -> Result<Response<listings_pb::SavedSearch>, Status> {
        unused()
    }

    async fn list_searches(
        &self,
        _: Request<listings_pb::ListSearchesRequest>,
    ) -> Result<Response<listings_pb::ListSearchesResponse>, Status> {
        unused()
    }

    async fn delete_search(
        &self,
        _: Request<listings_pb::DeleteSearchRequest>,
    ) -> Result<Response<listings_pb::DeleteSearchResponse>, Status> {
        unused()
    }
}

#[tonic::async_trait]
impl IdentityService for Directory {
    async fn get_user(
        &self,
        request: Request<id_pb::GetUserRequest>,
    ) -> Result<Response<id_pb::User>, Status> {
        self.answer(&request)?;
        let id = Uuid::parse_str(&request.get_ref().user_id)
            .map_err(|_| Status::invalid_argument("user_id"))?;
        let (role, status) = self
            .accounts
            .lock()
            .unwrap()
            .get(&id)
            .copied()
            .ok_or_else(|| Status::not_found("user not found"))?;
        Ok(Response::new(id_pb::User {
            id: id.to_string(),
            email: format!("{id}@example.com"),
            role: id_pb::Role::from(role) as i32,
            status: id_pb::UserStatus::from(status) as i32,
            position: None,
            created_at: None,
        }))
    }

    async fn get_public_user(
        &self,
        _: Request<id_pb::GetUserRequest>,
    ) -> Result<Response<id_pb::PublicUser>, Status> {
        unused()
    }

    async fn register(
        &self,
        _: Request<id_pb::RegisterRequest>,
    ) -> Result<Response<id_pb::AuthResponse>, Status> {
        unused()
    }

    async fn login(
        &self,
        _: Request<id_pb::LoginRequest>,
    ) -> Result<Response<id_pb::AuthResponse>, Status> {
        unused()
    }

    async fn refresh(
        &self,
        _: Request<id_pb::RefreshRequest>,
    ) -> Result<Response<id_pb::AuthResponse>, Status> {
        unused()
    }

    async fn logout(
        &self,
        _: Request<id_pb::LogoutRequest>,
    ) -> Result<Response<id_pb::LogoutResponse>, Status> {
        unused()
    }

    async fn get_me(&self, _: Request<id_pb::GetMeRequest>) -> Result<Response<id_pb::Me>, Status> {
        unused()
    }

    async fn update_profile(
        &self,
        _: Request<id_pb::UpdateProfileRequest>,
    ) -> Result<Response<id_pb::Me>, Status> {
        unused()
    }

    async fn create_staff(
        &self,
        _: Request<id_pb::CreateStaffRequest>,
    ) -> Result<Response<id_pb::User>, Status> {
        unused()
    }

    async fn get_contact(
        &self,
        _: Request<id_pb::GetContactRequest>,
    ) -> Result<Response<id_pb::Contact>, Status> {
        unused()
    }
}
