//! Starts the real service on port 0 against its own database, a private nats-server and the
//! fake peers, and talks gRPC to it with tokens minted here.

use std::time::Duration;

use async_nats::jetstream;
use rentory_auth::{Role, SigningKeyPair, StaffPosition, TokenIssuer, TokenSettings, UserStatus};
use rentory_proto::lease::v1 as pb;
use rentory_proto::lease::v1::leases_client::LeasesClient;
use rentory_runtime::CancellationToken;
use rentory_runtime::rpc_error::{Reason, decode};
use rentory_testkit::{NatsServer, TestDatabase, wait_until};
use secrecy::SecretString;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use uuid::Uuid;

use crate::fakes::Directory;

pub const STARTUP: Duration = Duration::from_secs(30);
pub const EVENTUALLY: Duration = Duration::from_secs(15);
pub const CLIENT_IP: &str = "203.0.113.7";
pub const USER_AGENT: &str = "RentoryApp/2.1 (Android 14)";
pub const ADDRESS: &str = "12 Herbert Macaulay Way, Yaba, Lagos";

#[derive(Clone, Debug)]
pub struct User {
    pub id: Uuid,
    pub token: String,
    pub role: Role,
}

/// A landlord, a tenant, an ACTIVE property and the chat session between them.
pub struct Deal {
    pub landlord: User,
    pub tenant: User,
    pub property_id: Uuid,
}

pub struct TestApp {
    pub client: LeasesClient<Channel>,
    /// Superuser connection to the service's database, for assertions and tampering.
    pub pool: PgPool,
    pub nats: NatsServer,
    pub directory: Directory,
    pub database_url: String,
    issuer: TokenIssuer,
    shutdown: CancellationToken,
    fakes: CancellationToken,
    server: JoinHandle<Result<(), lease::Error>>,
    database: Option<TestDatabase>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let database = TestDatabase::create().await.expect("test database");
        let nats = NatsServer::spawn().await.expect("nats-server");
        let keys = SigningKeyPair::generate().expect("keys");
        let issuer = TokenIssuer::new(&keys.private_pem, TokenSettings::default()).expect("issuer");
        let directory = Directory::default();
        let fakes = CancellationToken::new();
        let peers = directory.serve(fakes.clone()).await;
        let config = lease::Config {
            database_max_connections: 20,
            port: 0,
            ..lease::Config::local(
                SecretString::from(database.url.clone()),
                nats.url(),
                keys.public_pem.clone(),
                peers.clone(),
                peers.clone(),
                peers.clone(),
                peers,
            )
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(lease::serve(config, listener, shutdown.clone()));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("url")
            .connect_lazy();
        wait_until(STARTUP, "the lease service to report SERVING", || {
            let channel = channel.clone();
            async move { is_serving(channel).await }
        })
        .await
        .expect("service start");
        let pool = PgPool::connect(&database.url).await.expect("test pool");
        Self {
            client: LeasesClient::new(channel),
            pool,
            nats,
            directory,
            database_url: database.url.clone(),
            issuer,
            shutdown,
            fakes,
            server,
            database: Some(database),
        }
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let served = tokio::time::timeout(Duration::from_secs(30), &mut self.server)
            .await
            .expect("service stops within 30 s")
            .expect("service task");
        served.expect("service ran without error");
        self.fakes.cancel();
        self.pool.close().await;
        if let Some(database) = self.database.take() {
            database.drop_database().await.expect("drop database");
        }
    }

    pub fn user_with(
        &self,
        role: Role,
        status: UserStatus,
        position: Option<StaffPosition>,
        name: &str,
    ) -> User {
        let id = Uuid::now_v7();
        let token = self
            .issuer
            .issue(
                id,
                role,
                status,
                position,
                Uuid::now_v7(),
                time::OffsetDateTime::now_utc(),
            )
            .expect("token")
            .token;
        self.directory.add_account(id, role, status, name);
        User { id, token, role }
    }

    pub fn user(&self, role: Role) -> User {
        let name = match role {
            Role::Landlord => "Adaeze O_Kafor",
            Role::Tenant => "Tunde Bakare",
            _ => "Staff Member",
        };
        self.user_with(role, UserStatus::Active, None, name)
    }

    pub fn staff(&self, position: StaffPosition) -> User {
        self.user_with(
            Role::Staff,
            UserStatus::Active,
            Some(position),
            "Staff Member",
        )
    }

    pub fn officer(&self) -> User {
        self.staff(StaffPosition::ComplianceOfficer)
    }

    /// A landlord, a tenant, an ACTIVE property in Lagos, and their chat session.
    pub fn deal(&self) -> Deal {
        let landlord = self.user(Role::Landlord);
        let tenant = self.user(Role::Tenant);
        let property_id = Uuid::now_v7();
        self.directory
            .add_property(property_id, landlord.id, "ACTIVE", ADDRESS);
        self.directory.add_session(property_id, tenant.id);
        Deal {
            landlord,
            tenant,
            property_id,
        }
    }

    pub async fn draft_with(
        &self,
        user: &User,
        property_id: Uuid,
        tenant_id: Uuid,
        terms: pb::Terms,
    ) -> Result<pb::Lease, Status> {
        let message = pb::DraftLeaseRequest {
            property_id: property_id.to_string(),
            tenant_id: tenant_id.to_string(),
            terms: Some(terms),
        };
        let answer = self
            .client
            .clone()
            .draft_lease(request(user, message))
            .await;
        answer.map(tonic::Response::into_inner)
    }

    /// A DRAFT for the deal on ordinary yearly terms.
    pub async fn draft(&self, deal: &Deal) -> pb::Lease {
        self.draft_with(&deal.landlord, deal.property_id, deal.tenant.id, terms())
            .await
            .expect("draft")
    }

    pub async fn get(&self, user: &User, lease_id: &str) -> Result<pb::Lease, Status> {
        let message = pb::GetLeaseRequest {
            lease_id: lease_id.into(),
        };
        let answer = self.client.clone().get_lease(request(user, message)).await;
        answer.map(tonic::Response::into_inner)
    }

    pub async fn edit(
        &self,
        user: &User,
        lease_id: &str,
        content: &str,
        base: Option<&str>,
    ) -> Result<pb::Lease, Status> {
        let message = pb::EditLeaseRequest {
            lease_id: lease_id.into(),
            content: content.into(),
            base_content_sha256: base.map(str::to_owned),
        };
        let answer = self.client.clone().edit_lease(request(user, message)).await;
        answer.map(tonic::Response::into_inner)
    }

    pub async fn sign(&self, user: &User, lease_id: &str, sha: &str) -> Result<pb::Lease, Status> {
        let message = pb::SignLeaseRequest {
            lease_id: lease_id.into(),
            content_sha256: sha.into(),
        };
        let answer = self.client.clone().sign_lease(request(user, message)).await;
        answer.map(tonic::Response::into_inner)
    }

    pub async fn withdraw(
        &self,
        user: &User,
        lease_id: &str,
        reason: &str,
    ) -> Result<pb::Lease, Status> {
        let message = pb::WithdrawLeaseRequest {
            lease_id: lease_id.into(),
            reason: reason.into(),
        };
        let answer = self
            .client
            .clone()
            .withdraw_lease(request(user, message))
            .await;
        answer.map(tonic::Response::into_inner)
    }

    pub async fn authorize(&self, user: &User, lease_id: &str) -> Result<pb::Lease, Status> {
        let message = pb::AuthorizeLeaseRequest {
            lease_id: lease_id.into(),
            content_sha256: None,
        };
        let answer = self
            .client
            .clone()
            .authorize_lease(request(user, message))
            .await;
        answer.map(tonic::Response::into_inner)
    }

    pub async fn audit(&self, user: &User, lease_id: &str) -> Result<pb::GetAuditResponse, Status> {
        let message = pb::GetAuditRequest {
            lease_id: lease_id.into(),
        };
        let answer = self.client.clone().get_audit(request(user, message)).await;
        answer.map(tonic::Response::into_inner)
    }

    pub async fn versions(&self, user: &User, lease_id: &str) -> Vec<pb::LeaseVersion> {
        let message = pb::ListVersionsRequest {
            lease_id: lease_id.into(),
        };
        self.client
            .clone()
            .list_versions(request(user, message))
            .await
            .expect("versions")
            .into_inner()
            .versions
    }

    pub async fn rent_due(&self, user: &User, lease_id: &str) -> pb::RentDue {
        let message = pb::GetRentDueRequest {
            lease_id: lease_id.into(),
        };
        self.client
            .clone()
            .get_rent_due(request(user, message))
            .await
            .expect("rent due")
            .into_inner()
    }

    pub async fn payments(&self, user: &User, lease_id: &str) -> Vec<pb::RentPayment> {
        let message = pb::ListRentPaymentsRequest {
            lease_id: lease_id.into(),
        };
        self.client
            .clone()
            .list_rent_payments(request(user, message))
            .await
            .expect("payments")
            .into_inner()
            .payments
    }

    /// Drafts, signs as both parties and authorizes as a compliance officer.
    pub async fn fully_signed(&self, deal: &Deal) -> pb::Lease {
        let lease = self.draft(deal).await;
        self.fully_signed_from(deal, &lease).await
    }

    /// Signs `lease`'s current text as landlord then tenant and authorizes it.
    pub async fn fully_signed_from(&self, deal: &Deal, lease: &pb::Lease) -> pb::Lease {
        let current = self.get(&deal.landlord, &lease.id).await.expect("lease");
        let sha = current.content_sha256.clone();
        self.sign(&deal.landlord, &lease.id, &sha)
            .await
            .expect("landlord signs");
        self.sign(&deal.tenant, &lease.id, &sha)
            .await
            .expect("tenant signs");
        self.authorize(&self.officer(), &lease.id)
            .await
            .expect("authorized")
    }

    /// Publishes an event as another service would: onto JetStream with a `Nats-Msg-Id`.
    pub async fn publish_event(&self, id: Uuid, subject: &str, payload: &impl prost::Message) {
        let client = async_nats::connect(self.nats.url()).await.expect("nats");
        let js = jetstream::new(client);
        rentory_events::ensure_stream(&js).await.expect("stream");
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.to_string().as_str());
        js.publish_with_headers(subject.to_owned(), headers, payload.encode_to_vec().into())
            .await
            .expect("publish")
            .await
            .expect("ack");
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect(sql)
    }
}

/// Ordinary yearly terms: NGN 2,500,000 a year for two years, six months in advance.
pub fn terms() -> pb::Terms {
    let start = time::OffsetDateTime::now_utc().date() + time::Duration::days(10);
    pb::Terms {
        rent_kobo: 250_000_000,
        rent_period: "YEAR".into(),
        duration_months: 24,
        start_date: format!(
            "{:04}-{:02}-{:02}",
            start.year(),
            u8::from(start.month()),
            start.day()
        ),
        deposit_kobo: 50_000_000,
        service_charge_kobo: 0,
        advance_rent_months: 6,
        negotiation_points: vec!["The landlord repaints the bedrooms.".into()],
    }
}

async fn is_serving(channel: Channel) -> bool {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "rentory.lease.v1.Leases".into(),
        })
        .await;
    answer.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
}

/// `message` with the caller's token and the metadata the gateway adds.
pub fn request<T>(user: &User, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert(
        "authorization",
        format!("Bearer {}", user.token).parse().expect("ascii"),
    );
    metadata.insert(
        "x-request-id",
        format!("req-{}", Uuid::now_v7()).parse().expect("ascii"),
    );
    metadata.insert("x-client-ip", CLIENT_IP.parse().expect("ascii"));
    metadata.insert("x-client-user-agent", USER_AGENT.parse().expect("ascii"));
    // What a client might send itself; the service must not trust it.
    metadata.insert("x-forwarded-for", "198.51.100.66".parse().expect("ascii"));
    request
}

/// Asserts the gRPC code and the gateway-facing reason of a failed call.
#[track_caller]
pub fn assert_reason<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    reason: Reason,
) -> Status {
    match result {
        Ok(value) => panic!("expected {code:?}/{reason:?}, got {value:?}"),
        Err(status) => {
            assert_eq!(status.code(), code, "{status:?}");
            assert_eq!(decode(&status).reason, Some(reason), "{status:?}");
            status
        }
    }
}

/// Asserts a 409 with the lease's current status in the ErrorInfo metadata.
#[track_caller]
pub fn assert_wrong_state<T: std::fmt::Debug>(result: Result<T, Status>, status: &str) {
    let refused = assert_reason(result, Code::FailedPrecondition, Reason::InvalidState);
    assert_eq!(
        decode(&refused).info,
        [("lease_status".to_owned(), status.to_owned())],
        "{refused:?}"
    );
}

#[track_caller]
pub fn assert_no_lease<T: std::fmt::Debug>(result: Result<T, Status>) {
    let status = assert_reason(result, Code::NotFound, Reason::NotFound);
    assert_eq!(status.message(), lease::LEASE_NOT_FOUND);
}
