//! The payments service on a real Postgres and NATS, its real Paystack client against a
//! wiremock Paystack, and fake identity and listings gRPC services.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payments::Config;
use rentory_auth::{Role, SigningKeyPair, StaffPosition, TokenIssuer, TokenSettings, UserStatus};
use rentory_paystack::webhook;
use rentory_proto::identity::v1 as id_pb;
use rentory_proto::identity::v1::identity_service_server::{
    IdentityService, IdentityServiceServer,
};
use rentory_proto::lease::v1 as lease_pb;
use rentory_proto::lease::v1::leases_server::{Leases as LeaseService, LeasesServer};
use rentory_proto::listings::v1 as listings_pb;
use rentory_proto::listings::v1::listings_server::{Listings, ListingsServer};
use rentory_proto::payments::v1 as pb;
use rentory_proto::payments::v1::payments_client::PaymentsClient;
use rentory_runtime::CancellationToken;
use rentory_runtime::rpc_error::{self, Reason};
use rentory_testkit::{NatsServer, TestDatabase, wait_until};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;
use tonic::transport::Channel;
use tonic::{Request as Rpc, Response as RpcResponse, Status};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const SECRET_KEY: &str = "sk_test_payments_service_tests";
pub const PAYSTACK_ID: i64 = 4_099_260_516;

/// A signed-in caller.
#[derive(Clone)]
pub struct Caller {
    pub id: Uuid,
    pub token: String,
}

pub struct Harness {
    pub paystack: MockServer,
    pub client: PaymentsClient<Channel>,
    /// Reads the service's tables (search_path = payments).
    pub pool: PgPool,
    pub issuer: TokenIssuer,
    pub properties: Properties,
    pub leases: Leases,
    config: Config,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), payments::Error>>>,
    db: Option<TestDatabase>,
    _nats: NatsServer,
    _fakes: CancellationToken,
}

/// What the fake lease service answers GetRentDue with, by lease id, and the bearer token
/// each call carried (the payer's, forwarded on their behalf).
#[derive(Clone, Default)]
pub struct Leases {
    due: Arc<Mutex<HashMap<String, lease_pb::RentDue>>>,
    pub tokens: Arc<Mutex<Vec<String>>>,
}

impl Leases {
    /// A lease of `tenant` in `status` owing `amount_kobo` next (0 and paid in full when
    /// `paid_in_full`); its id.
    pub fn add(&self, tenant: Uuid, status: &str, amount_kobo: i64, paid_in_full: bool) -> Uuid {
        self.add_for(tenant, Uuid::now_v7(), status, amount_kobo, paid_in_full)
    }

    pub fn add_for(
        &self,
        tenant: Uuid,
        landlord: Uuid,
        status: &str,
        amount_kobo: i64,
        paid_in_full: bool,
    ) -> Uuid {
        let id = Uuid::now_v7();
        let due = lease_pb::RentDue {
            lease_id: id.to_string(),
            property_id: Uuid::now_v7().to_string(),
            tenant_id: tenant.to_string(),
            landlord_id: landlord.to_string(),
            status: status.into(),
            amount_kobo,
            period_number: 1,
            period_start: "2026-06-01".into(),
            period_end: "2027-06-01".into(),
            paid_in_full,
        };
        self.due.lock().unwrap().insert(id.to_string(), due);
        id
    }

    pub fn tokens(&self) -> Vec<String> {
        self.tokens.lock().unwrap().clone()
    }
}

/// Listings' properties as the fake listings service knows them: id -> status.
#[derive(Clone, Default)]
pub struct Properties(Arc<Mutex<HashMap<String, &'static str>>>);

impl Properties {
    pub fn add(&self, status: &'static str) -> Uuid {
        let id = Uuid::now_v7();
        self.0.lock().unwrap().insert(id.to_string(), status);
        id
    }

    fn status(&self, id: &str) -> Option<&'static str> {
        self.0.lock().unwrap().get(id).copied()
    }
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Fast timings: a 300 ms Paystack timeout with one attempt, a 100 ms sweep and a
    /// 200 ms first re-verify; `adjust` changes any of it.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let db = TestDatabase::create().await.unwrap();
        let nats = NatsServer::spawn().await.unwrap();
        let paystack = MockServer::start().await;
        let keys = SigningKeyPair::generate().unwrap();
        let issuer = TokenIssuer::new(&keys.private_pem, TokenSettings::default()).unwrap();
        let properties = Properties::default();
        let leases = Leases::default();
        let fakes = CancellationToken::new();
        let fake_url = spawn_fakes(properties.clone(), leases.clone(), fakes.clone()).await;
        let mut config = Config::local(
            SecretString::from(db.url.clone()),
            nats.url(),
            keys.public_pem.clone(),
            url::Url::parse(&paystack.uri()).unwrap(),
            SecretString::from(SECRET_KEY),
            fake_url.clone(),
            fake_url.clone(),
            "http://gateway.test",
        )
        .unwrap();
        config.lease_url = fake_url;
        config.paystack_timeout = Duration::from_millis(300);
        config.paystack_max_attempts = 1;
        config.reconcile_interval = Duration::from_millis(100);
        config.verify_backoff = Duration::from_millis(200);
        adjust(&mut config);
        let pool =
            rentory_runtime::db::connect(&SecretString::from(db.url.clone()), payments::SCHEMA, 4)
                .await
                .unwrap();
        let mut harness = Self {
            paystack,
            client: PaymentsClient::new(Channel::from_static("http://127.0.0.1:1").connect_lazy()),
            pool,
            issuer,
            properties,
            leases,
            config,
            shutdown: CancellationToken::new(),
            task: None,
            db: Some(db),
            _nats: nats,
            _fakes: fakes,
        };
        harness.serve().await;
        harness
    }

    async fn serve(&mut self) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        self.shutdown = CancellationToken::new();
        self.task = Some(tokio::spawn(payments::serve(
            self.config.clone(),
            listener,
            self.shutdown.clone(),
        )));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_lazy();
        self.client = PaymentsClient::new(channel);
        let pool = self.pool.clone();
        // Serving once the schema is migrated and the port answers.
        wait_until(Duration::from_secs(20), "payments serving", || {
            let mut client = self.client.clone();
            let pool = pool.clone();
            async move {
                let migrated = sqlx::query("SELECT 1 FROM payments.transactions LIMIT 1")
                    .execute(&pool)
                    .await
                    .is_ok();
                migrated
                    && client
                        .list_transactions(Rpc::new(pb::ListTransactionsRequest::default()))
                        .await
                        .is_err_and(|s| s.code() == tonic::Code::Unauthenticated)
            }
        })
        .await
        .unwrap();
    }

    /// Stops the service (as a crash would, between requests) and starts it again.
    pub async fn restart(&mut self) {
        self.stop_service().await;
        self.serve().await;
    }

    pub async fn stop_service(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    pub async fn done(mut self) {
        self.stop_service().await;
        payments::audit::verify_chain(&self.pool)
            .await
            .expect("the audit chain verifies");
        self.pool.close().await;
        if let Some(db) = self.db.take() {
            db.drop_database().await.unwrap();
        }
    }

    pub fn caller(
        &self,
        role: Role,
        status: UserStatus,
        position: Option<StaffPosition>,
    ) -> Caller {
        let id = Uuid::now_v7();
        let issued = self
            .issuer
            .issue(
                id,
                role,
                status,
                position,
                Uuid::now_v7(),
                OffsetDateTime::now_utc(),
            )
            .unwrap();
        Caller {
            id,
            token: issued.token,
        }
    }

    pub fn tenant(&self) -> Caller {
        self.caller(Role::Tenant, UserStatus::Active, None)
    }

    pub fn finance(&self) -> Caller {
        self.caller(
            Role::Staff,
            UserStatus::Active,
            Some(StaffPosition::FinancialController),
        )
    }

    pub async fn unlock(&self, who: &Caller, property: Uuid) -> Result<pb::Checkout, Status> {
        self.client
            .clone()
            .init_contact_unlock(as_caller(
                who,
                pb::InitContactUnlockRequest {
                    property_id: property.to_string(),
                },
            ))
            .await
            .map(RpcResponse::into_inner)
    }

    pub async fn verify(
        &self,
        who: &Caller,
        reference: &str,
        property: Option<Uuid>,
    ) -> Result<pb::Transaction, Status> {
        self.client
            .clone()
            .verify_transaction(as_caller(
                who,
                pb::VerifyTransactionRequest {
                    reference: reference.into(),
                    property_id: property.map(|p| p.to_string()),
                    lease_id: None,
                },
            ))
            .await
            .map(RpcResponse::into_inner)
    }

    /// Delivers `body` signed with `signature`, as the gateway forwards it.
    pub async fn deliver(
        &self,
        body: &[u8],
        signature: &str,
    ) -> Result<pb::HandleWebhookResponse, Status> {
        let mut request = Rpc::new(pb::HandleWebhookRequest {
            body: body.to_vec(),
            signature: signature.into(),
        });
        request
            .metadata_mut()
            .insert("x-request-id", "paystack-delivery-1".parse().unwrap());
        request
            .metadata_mut()
            .insert("x-client-ip", "52.31.139.75".parse().unwrap());
        self.client
            .clone()
            .handle_webhook(request)
            .await
            .map(RpcResponse::into_inner)
    }

    /// A `charge.success` for `reference`, as Paystack sends it, and its signature.
    pub fn charge_success(reference: &str, amount_kobo: i64) -> (Vec<u8>, String) {
        let body = serde_json::to_vec(&json!({
            "event": "charge.success",
            "data": {
                "id": PAYSTACK_ID, "domain": "test", "status": "success", "reference": reference,
                "amount": amount_kobo, "gateway_response": "Successful", "currency": "NGN",
                "paid_at": "2026-05-24T10:23:11.000Z", "channel": "card",
                "customer": {"email": "tenant@example.ng"},
            }
        }))
        .unwrap();
        let signature = webhook::sign(SECRET_KEY.as_bytes(), &body);
        (body, signature)
    }

    pub async fn transaction(&self, reference: &str) -> TransactionRow {
        sqlx::query_as::<_, TransactionRow>(
            "SELECT status, status_reason, paystack_id, verify_attempts FROM payments.transactions WHERE reference = $1",
        )
        .bind(reference)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    pub async fn status(&self, reference: &str) -> String {
        self.transaction(reference).await.status
    }

    pub async fn wait_for_status(&self, reference: &str, status: &str) {
        let what = format!("{reference} to be {status}");
        wait_until(Duration::from_secs(15), &what, || async {
            self.status(reference).await == status
        })
        .await
        .unwrap();
    }

    /// Audit rows of `reference`: (source, from, to, reason).
    pub async fn audit(
        &self,
        reference: &str,
    ) -> Vec<(String, Option<String>, String, Option<String>)> {
        sqlx::query_as(
            r#"SELECT a.source, a.from_status, a.to_status, a.reason
               FROM payments.transaction_audit a
               JOIN payments.transactions t ON t.id = a.transaction_id
               WHERE t.reference = $1 ORDER BY a.seq"#,
        )
        .bind(reference)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    /// Outbox events on `subject`.
    pub async fn outbox(&self, subject: &str) -> Vec<Vec<u8>> {
        sqlx::query_scalar(
            "SELECT payload FROM payments.outbox WHERE subject = $1 ORDER BY created_at",
        )
        .bind(subject)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    pub async fn webhook_rows(&self) -> Vec<(String, Option<String>)> {
        sqlx::query_as("SELECT identity, outcome FROM payments.webhook_events ORDER BY received_at")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    pub async fn wait_for_outcome(&self, identity: &str, outcome: &str) {
        let what = format!("webhook {identity} processed as {outcome}");
        wait_until(Duration::from_secs(15), &what, || async {
            self.webhook_rows()
                .await
                .iter()
                .any(|(i, o)| i == identity && o.as_deref() == Some(outcome))
        })
        .await
        .unwrap();
    }

    /// Paystack's requests of one method and path prefix, in order.
    pub async fn paystack_requests(&self, verb: &str, prefix: &str) -> Vec<Request> {
        self.paystack
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == verb && r.url.path().starts_with(prefix))
            .collect()
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct TransactionRow {
    pub status: String,
    pub status_reason: String,
    pub paystack_id: Option<i64>,
    pub verify_attempts: i32,
}

pub fn as_caller<T>(who: &Caller, message: T) -> Rpc<T> {
    let mut request = Rpc::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", who.token).parse().unwrap(),
    );
    request
        .metadata_mut()
        .insert("x-request-id", "req-test".parse().unwrap());
    request
}

// --- the fake Paystack ----------------------------------------------------------------

/// Answers initialize like Paystack, echoing the reference it was sent.
struct Initialize;

impl Respond for Initialize {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let reference = body["reference"].as_str().unwrap_or_default().to_owned();
        let code = format!("ac{}", &reference[reference.len().saturating_sub(8)..]);
        ResponseTemplate::new(200).set_body_json(json!({
            "status": true,
            "message": "Authorization URL created",
            "data": {
                "authorization_url": format!("https://checkout.paystack.com/{code}"),
                "access_code": code,
                "reference": reference,
            }
        }))
    }
}

pub async fn mount_initialize(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/transaction/initialize"))
        .respond_with(Initialize)
        .mount(server)
        .await;
}

/// What Paystack's verify says about a reference.
#[derive(Clone)]
pub struct Verdict {
    pub status: &'static str,
    pub amount_kobo: i64,
    pub currency: &'static str,
    pub metadata: Value,
}

impl Verdict {
    pub fn paid(amount_kobo: i64) -> Self {
        Self {
            status: "success",
            amount_kobo,
            currency: "NGN",
            metadata: Value::Null,
        }
    }
}

pub fn verified(reference: &str, verdict: &Verdict) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "status": true,
        "message": "Verification successful",
        "data": {
            "id": PAYSTACK_ID, "domain": "test", "status": verdict.status, "reference": reference,
            "amount": verdict.amount_kobo, "gateway_response": if verdict.status == "success" { "Successful" } else { "Declined" },
            "paid_at": if verdict.status == "success" { json!("2026-05-24T10:23:11.000Z") } else { Value::Null },
            "channel": "card", "currency": verdict.currency, "metadata": verdict.metadata,
            "customer": {"email": "tenant@example.ng"},
        }
    }))
}

pub async fn mount_verify(server: &MockServer, reference: &str, verdict: &Verdict) {
    Mock::given(method("GET"))
        .and(path(format!("/transaction/verify/{reference}")))
        .respond_with(verified(reference, verdict))
        .mount(server)
        .await;
}

// --- fake identity and listings -------------------------------------------------------

#[derive(Clone)]
struct Fakes {
    properties: Properties,
    leases: Leases,
}

fn unimplemented<T>() -> Result<T, Status> {
    Err(Status::unimplemented("not in this fake"))
}

async fn spawn_fakes(
    properties: Properties,
    leases: Leases,
    shutdown: CancellationToken,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let fakes = Fakes { properties, leases };
    let server = tonic::transport::Server::builder()
        .add_service(IdentityServiceServer::new(fakes.clone()))
        .add_service(LeasesServer::new(fakes.clone()))
        .add_service(ListingsServer::new(fakes))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown.cancelled_owned(),
        );
    tokio::spawn(server);
    url
}

fn bearer(metadata: &tonic::metadata::MetadataMap) -> Result<(), Status> {
    match metadata.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(value) if value.starts_with("Bearer ") => Ok(()),
        _ => Err(rpc_error::status(
            Reason::Unauthenticated,
            "no token forwarded",
        )),
    }
}

#[tonic::async_trait]
impl IdentityService for Fakes {
    async fn register(
        &self,
        _: Rpc<id_pb::RegisterRequest>,
    ) -> Result<RpcResponse<id_pb::AuthResponse>, Status> {
        unimplemented()
    }
    async fn login(
        &self,
        _: Rpc<id_pb::LoginRequest>,
    ) -> Result<RpcResponse<id_pb::AuthResponse>, Status> {
        unimplemented()
    }
    async fn refresh(
        &self,
        _: Rpc<id_pb::RefreshRequest>,
    ) -> Result<RpcResponse<id_pb::AuthResponse>, Status> {
        unimplemented()
    }
    async fn logout(
        &self,
        _: Rpc<id_pb::LogoutRequest>,
    ) -> Result<RpcResponse<id_pb::LogoutResponse>, Status> {
        unimplemented()
    }
    async fn get_me(&self, r: Rpc<id_pb::GetMeRequest>) -> Result<RpcResponse<id_pb::Me>, Status> {
        bearer(r.metadata())?;
        Ok(RpcResponse::new(id_pb::Me {
            user: Some(id_pb::User {
                id: Uuid::nil().to_string(),
                email: "tenant@example.ng".into(),
                role: id_pb::Role::Tenant as i32,
                status: id_pb::UserStatus::Active as i32,
                position: None,
                created_at: None,
            }),
            profile: None,
        }))
    }
    async fn update_profile(
        &self,
        _: Rpc<id_pb::UpdateProfileRequest>,
    ) -> Result<RpcResponse<id_pb::Me>, Status> {
        unimplemented()
    }
    async fn create_staff(
        &self,
        _: Rpc<id_pb::CreateStaffRequest>,
    ) -> Result<RpcResponse<id_pb::User>, Status> {
        unimplemented()
    }
    async fn get_user(
        &self,
        _: Rpc<id_pb::GetUserRequest>,
    ) -> Result<RpcResponse<id_pb::User>, Status> {
        unimplemented()
    }
    async fn get_public_user(
        &self,
        _: Rpc<id_pb::GetUserRequest>,
    ) -> Result<RpcResponse<id_pb::PublicUser>, Status> {
        unimplemented()
    }
    async fn get_contact(
        &self,
        _: Rpc<id_pb::GetContactRequest>,
    ) -> Result<RpcResponse<id_pb::Contact>, Status> {
        unimplemented()
    }
}

#[tonic::async_trait]
impl Listings for Fakes {
    async fn analyze_photos(
        &self,
        _: Rpc<listings_pb::AnalyzePhotosRequest>,
    ) -> Result<RpcResponse<listings_pb::Analysis>, Status> {
        unimplemented()
    }
    async fn create_property(
        &self,
        _: Rpc<listings_pb::CreatePropertyRequest>,
    ) -> Result<RpcResponse<listings_pb::Property>, Status> {
        unimplemented()
    }
    async fn get_property(
        &self,
        r: Rpc<listings_pb::GetPropertyRequest>,
    ) -> Result<RpcResponse<listings_pb::Property>, Status> {
        bearer(r.metadata())?;
        let id = r.into_inner().id;
        let status = self
            .properties
            .status(&id)
            .ok_or_else(|| rpc_error::status(Reason::NotFound, "property not found"))?;
        Ok(RpcResponse::new(listings_pb::Property {
            id,
            landlord_id: Uuid::now_v7().to_string(),
            status: status.into(),
            price_kobo: 250_000_000,
            ..Default::default()
        }))
    }
    async fn update_property(
        &self,
        _: Rpc<listings_pb::UpdatePropertyRequest>,
    ) -> Result<RpcResponse<listings_pb::Property>, Status> {
        unimplemented()
    }
    async fn archive_property(
        &self,
        _: Rpc<listings_pb::ArchivePropertyRequest>,
    ) -> Result<RpcResponse<listings_pb::Property>, Status> {
        unimplemented()
    }
    async fn discover(
        &self,
        _: Rpc<listings_pb::DiscoverRequest>,
    ) -> Result<RpcResponse<listings_pb::DiscoverResponse>, Status> {
        unimplemented()
    }
    async fn rate_property(
        &self,
        _: Rpc<listings_pb::RatePropertyRequest>,
    ) -> Result<RpcResponse<listings_pb::Property>, Status> {
        unimplemented()
    }
    async fn get_contact(
        &self,
        _: Rpc<listings_pb::GetContactRequest>,
    ) -> Result<RpcResponse<listings_pb::Contact>, Status> {
        unimplemented()
    }
    async fn save_search(
        &self,
        _: Rpc<listings_pb::SaveSearchRequest>,
    ) -> Result<RpcResponse<listings_pb::SavedSearch>, Status> {
        unimplemented()
    }
    async fn list_searches(
        &self,
        _: Rpc<listings_pb::ListSearchesRequest>,
    ) -> Result<RpcResponse<listings_pb::ListSearchesResponse>, Status> {
        unimplemented()
    }
    async fn delete_search(
        &self,
        _: Rpc<listings_pb::DeleteSearchRequest>,
    ) -> Result<RpcResponse<listings_pb::DeleteSearchResponse>, Status> {
        unimplemented()
    }
}

/// The ErrorInfo metadata of a status (what the gateway turns into extension members).
pub fn error_info(status: &Status) -> HashMap<String, String> {
    use tonic_types::StatusExt;
    status
        .get_details_error_info()
        .map(|info| info.metadata)
        .unwrap_or_default()
}

#[tonic::async_trait]
impl LeaseService for Fakes {
    async fn draft_lease(
        &self,
        _: Rpc<lease_pb::DraftLeaseRequest>,
    ) -> Result<RpcResponse<lease_pb::Lease>, Status> {
        unimplemented()
    }
    async fn get_lease(
        &self,
        _: Rpc<lease_pb::GetLeaseRequest>,
    ) -> Result<RpcResponse<lease_pb::Lease>, Status> {
        unimplemented()
    }
    async fn list_leases(
        &self,
        _: Rpc<lease_pb::ListLeasesRequest>,
    ) -> Result<RpcResponse<lease_pb::ListLeasesResponse>, Status> {
        unimplemented()
    }
    async fn list_versions(
        &self,
        _: Rpc<lease_pb::ListVersionsRequest>,
    ) -> Result<RpcResponse<lease_pb::ListVersionsResponse>, Status> {
        unimplemented()
    }
    async fn edit_lease(
        &self,
        _: Rpc<lease_pb::EditLeaseRequest>,
    ) -> Result<RpcResponse<lease_pb::Lease>, Status> {
        unimplemented()
    }
    async fn sign_lease(
        &self,
        _: Rpc<lease_pb::SignLeaseRequest>,
    ) -> Result<RpcResponse<lease_pb::Lease>, Status> {
        unimplemented()
    }
    async fn withdraw_lease(
        &self,
        _: Rpc<lease_pb::WithdrawLeaseRequest>,
    ) -> Result<RpcResponse<lease_pb::Lease>, Status> {
        unimplemented()
    }
    async fn authorize_lease(
        &self,
        _: Rpc<lease_pb::AuthorizeLeaseRequest>,
    ) -> Result<RpcResponse<lease_pb::Lease>, Status> {
        unimplemented()
    }
    async fn get_audit(
        &self,
        _: Rpc<lease_pb::GetAuditRequest>,
    ) -> Result<RpcResponse<lease_pb::GetAuditResponse>, Status> {
        unimplemented()
    }
    async fn get_signed_document(
        &self,
        _: Rpc<lease_pb::GetSignedDocumentRequest>,
    ) -> Result<RpcResponse<lease_pb::SignedDocument>, Status> {
        unimplemented()
    }
    async fn verify_document(
        &self,
        _: Rpc<lease_pb::VerifyDocumentRequest>,
    ) -> Result<RpcResponse<lease_pb::VerifyDocumentResponse>, Status> {
        unimplemented()
    }
    /// As the lease service: what the tenant owes next, for a lease it knows.
    async fn get_rent_due(
        &self,
        r: Rpc<lease_pb::GetRentDueRequest>,
    ) -> Result<RpcResponse<lease_pb::RentDue>, Status> {
        bearer(r.metadata())?;
        if let Some(token) = r
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        {
            self.leases.tokens.lock().unwrap().push(token.to_owned());
        }
        let due = self
            .leases
            .due
            .lock()
            .unwrap()
            .get(&r.get_ref().lease_id)
            .cloned()
            .ok_or_else(|| rpc_error::status(Reason::NotFound, "lease not found"))?;
        Ok(RpcResponse::new(due))
    }
    async fn list_rent_payments(
        &self,
        _: Rpc<lease_pb::ListRentPaymentsRequest>,
    ) -> Result<RpcResponse<lease_pb::ListRentPaymentsResponse>, Status> {
        unimplemented()
    }
}
