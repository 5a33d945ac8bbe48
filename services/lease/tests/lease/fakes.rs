//! Stand-ins for listings, identity, chat and the AI orchestrator on one real gRPC server.
//! The AI fake drafts with the real offline template of the ai-orchestrator crate, so the
//! compliance checks run against the text production drafts.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ai_orchestrator::offline::lease::draft_lease;
use ai_orchestrator::task::{LeaseParty, LeasePeriod, LeasePremises, LeaseRequest, LeaseTerms};
use rentory_auth::{Role, UserStatus};
use rentory_persona::Category;
use rentory_proto::ai::v1 as ai_pb;
use rentory_proto::ai::v1::ai_orchestrator_server::{AiOrchestrator, AiOrchestratorServer};
use rentory_proto::chat::v1 as chat_pb;
use rentory_proto::chat::v1::chat_server::{Chat, ChatServer};
use rentory_proto::identity::v1 as id_pb;
use rentory_proto::identity::v1::identity_service_server::{
    IdentityService, IdentityServiceServer,
};
use rentory_proto::listings::v1 as listings_pb;
use rentory_proto::listings::v1::listings_server::{Listings, ListingsServer};
use rentory_runtime::CancellationToken;
use rentory_runtime::rpc_error::{self, Reason};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

#[derive(Clone)]
pub struct FakeProperty {
    pub landlord: Uuid,
    pub status: &'static str,
    pub address: String,
}

/// Role, status and full name of an account.
type Account = (Role, UserStatus, String);

#[derive(Clone, Default)]
pub struct Directory {
    properties: Arc<Mutex<HashMap<Uuid, FakeProperty>>>,
    accounts: Arc<Mutex<HashMap<Uuid, Account>>>,
    sessions: Arc<Mutex<HashSet<(Uuid, Uuid)>>>,
    ai_calls: Arc<AtomicUsize>,
    ai_budget_spent: Arc<AtomicBool>,
    /// When set, the AI answers this text instead of the template.
    ai_text: Arc<Mutex<Option<String>>>,
}

impl Directory {
    pub fn add_property(&self, id: Uuid, landlord: Uuid, status: &'static str, address: &str) {
        self.properties.lock().unwrap().insert(
            id,
            FakeProperty {
                landlord,
                status,
                address: address.to_owned(),
            },
        );
    }

    pub fn add_account(&self, id: Uuid, role: Role, status: UserStatus, name: &str) {
        self.accounts
            .lock()
            .unwrap()
            .insert(id, (role, status, name.to_owned()));
    }

    pub fn add_session(&self, property: Uuid, tenant: Uuid) {
        self.sessions.lock().unwrap().insert((property, tenant));
    }

    pub fn ai_calls(&self) -> usize {
        self.ai_calls.load(Ordering::SeqCst)
    }

    pub fn spend_ai_budget(&self) {
        self.ai_budget_spent.store(true, Ordering::SeqCst);
    }

    pub fn set_ai_text(&self, text: &str) {
        *self.ai_text.lock().unwrap() = Some(text.to_owned());
    }

    /// Serves every fake on a loopback port until `stop`; returns the URL.
    pub async fn serve(&self, stop: CancellationToken) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = tonic::transport::Server::builder()
            .add_service(ListingsServer::new(self.clone()))
            .add_service(IdentityServiceServer::new(self.clone()))
            .add_service(ChatServer::new(self.clone()))
            .add_service(AiOrchestratorServer::new(self.clone()));
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
    Err(Status::unimplemented("not used by lease"))
}

fn has_token<T>(request: &Request<T>) -> Result<(), Status> {
    // Every peer call is made on the caller's behalf.
    match request.metadata().get("authorization") {
        Some(_) => Ok(()),
        None => Err(Status::unauthenticated("no token forwarded")),
    }
}

fn id(text: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(text).map_err(|_| Status::invalid_argument("id"))
}

#[tonic::async_trait]
impl Listings for Directory {
    async fn get_property(
        &self,
        request: Request<listings_pb::GetPropertyRequest>,
    ) -> Result<Response<listings_pb::Property>, Status> {
        has_token(&request)?;
        let pid = id(&request.get_ref().id)?;
        let p = self
            .properties
            .lock()
            .unwrap()
            .get(&pid)
            .cloned()
            .ok_or_else(|| Status::not_found("property not found"))?;
        Ok(Response::new(listings_pb::Property {
            id: pid.to_string(),
            landlord_id: p.landlord.to_string(),
            status: p.status.to_owned(),
            title: "3-bedroom flat in Yaba".into(),
            category: "RESIDENTIAL".into(),
            description: "A bright flat near the university.".into(),
            address: p.address,
            rent_period: "YEAR".into(),
            bedrooms: Some(3),
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
    async fn get_public_user(
        &self,
        request: Request<id_pb::GetUserRequest>,
    ) -> Result<Response<id_pb::PublicUser>, Status> {
        has_token(&request)?;
        let uid = id(&request.get_ref().user_id)?;
        let (role, status, name) = self
            .accounts
            .lock()
            .unwrap()
            .get(&uid)
            .cloned()
            .ok_or_else(|| Status::not_found("user not found"))?;
        Ok(Response::new(id_pb::PublicUser {
            id: uid.to_string(),
            role: id_pb::Role::from(role) as i32,
            status: id_pb::UserStatus::from(status) as i32,
            full_name: name,
        }))
    }

    async fn get_user(
        &self,
        _: Request<id_pb::GetUserRequest>,
    ) -> Result<Response<id_pb::User>, Status> {
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

#[tonic::async_trait]
impl Chat for Directory {
    async fn find_session(
        &self,
        request: Request<chat_pb::FindSessionRequest>,
    ) -> Result<Response<chat_pb::Session>, Status> {
        has_token(&request)?;
        let r = request.get_ref();
        let (property, tenant) = (id(&r.property_id)?, id(&r.tenant_id)?);
        if !self.sessions.lock().unwrap().contains(&(property, tenant)) {
            return Err(Status::not_found("chat session not found"));
        }
        Ok(Response::new(chat_pb::Session {
            id: Uuid::now_v7().to_string(),
            property_id: property.to_string(),
            tenant_id: tenant.to_string(),
            ..Default::default()
        }))
    }

    async fn open_session(
        &self,
        _: Request<chat_pb::OpenSessionRequest>,
    ) -> Result<Response<chat_pb::Session>, Status> {
        unused()
    }
    async fn get_session(
        &self,
        _: Request<chat_pb::GetSessionRequest>,
    ) -> Result<Response<chat_pb::Session>, Status> {
        unused()
    }
    async fn list_sessions(
        &self,
        _: Request<chat_pb::ListSessionsRequest>,
    ) -> Result<Response<chat_pb::ListSessionsResponse>, Status> {
        unused()
    }
    async fn history(
        &self,
        _: Request<chat_pb::HistoryRequest>,
    ) -> Result<Response<chat_pb::HistoryResponse>, Status> {
        unused()
    }
    async fn send_message(
        &self,
        _: Request<chat_pb::SendMessageRequest>,
    ) -> Result<Response<chat_pb::Message>, Status> {
        unused()
    }
    async fn mark_read(
        &self,
        _: Request<chat_pb::MarkReadRequest>,
    ) -> Result<Response<chat_pb::ReadMarker>, Status> {
        unused()
    }
    async fn assign_guide(
        &self,
        _: Request<chat_pb::AssignGuideRequest>,
    ) -> Result<Response<chat_pb::Session>, Status> {
        unused()
    }
}

#[tonic::async_trait]
impl AiOrchestrator for Directory {
    async fn draft_lease(
        &self,
        request: Request<ai_pb::DraftLeaseRequest>,
    ) -> Result<Response<ai_pb::DraftLeaseResponse>, Status> {
        has_token(&request)?;
        self.ai_calls.fetch_add(1, Ordering::SeqCst);
        if self.ai_budget_spent.load(Ordering::SeqCst) {
            return Err(rpc_error::status(
                Reason::AiBudgetExhausted,
                "today's AI allowance is used up",
            ));
        }
        if let Some(text) = self.ai_text.lock().unwrap().clone() {
            return Ok(Response::new(ai_pb::DraftLeaseResponse {
                markdown: text,
                model: "fake".into(),
                reasons: vec![],
            }));
        }
        let r = request.into_inner();
        let property = r.property.unwrap();
        let terms = r.terms.unwrap();
        let draft = draft_lease(&LeaseRequest {
            premises: LeasePremises {
                title: property.title,
                address: property.address,
                category: Category::parse(&property.category).unwrap(),
                bedrooms: property.bedrooms,
                description: property.description,
            },
            landlord: LeaseParty {
                full_name: r.landlord.unwrap().full_name,
                address: String::new(),
            },
            tenant: LeaseParty {
                full_name: r.tenant.unwrap().full_name,
                address: String::new(),
            },
            terms: LeaseTerms {
                rent_kobo: terms.rent_kobo,
                rent_period: LeasePeriod::parse(&terms.rent_period).unwrap(),
                duration_months: terms.duration_months,
                start_date: time::Date::parse(
                    &terms.start_date,
                    time::macros::format_description!("[year]-[month]-[day]"),
                )
                .unwrap(),
                deposit_kobo: terms.deposit_kobo,
                service_charge_kobo: terms.service_charge_kobo,
                advance_rent_months: terms.advance_rent_months,
            },
            negotiation_points: r.negotiation_points,
            jurisdiction: r.jurisdiction,
        });
        Ok(Response::new(ai_pb::DraftLeaseResponse {
            markdown: draft.markdown,
            model: "offline".into(),
            reasons: draft.reasons,
        }))
    }

    async fn concierge_turn(
        &self,
        _: Request<ai_pb::ConciergeTurnRequest>,
    ) -> Result<Response<ai_pb::ConciergeTurnResponse>, Status> {
        unused()
    }
    async fn get_persona(
        &self,
        _: Request<ai_pb::GetPersonaRequest>,
    ) -> Result<Response<ai_pb::GetPersonaResponse>, Status> {
        unused()
    }
    async fn analyze_photos(
        &self,
        _: Request<ai_pb::AnalyzePhotosRequest>,
    ) -> Result<Response<ai_pb::AnalyzePhotosResponse>, Status> {
        unused()
    }
    async fn face_match(
        &self,
        _: Request<ai_pb::FaceMatchRequest>,
    ) -> Result<Response<ai_pb::FaceMatchResponse>, Status> {
        unused()
    }
}
