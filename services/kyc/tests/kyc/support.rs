//! Starts the real service on port 0 against its own database, a private nats-server and a
//! temporary bucket directory, and talks gRPC to it with tokens minted here.

use std::path::PathBuf;
use std::time::Duration;

use rentory_auth::{Role, SigningKeyPair, StaffPosition, TokenIssuer, TokenSettings, UserStatus};
use rentory_media::fixtures;
use rentory_proto::identity::v1::Role as PbRole;
use rentory_proto::kyc::v1 as pb;
use rentory_proto::kyc::v1::kyc_service_client::KycServiceClient;
use rentory_runtime::CancellationToken;
use rentory_runtime::rpc_error::{Reason, decode};
use rentory_storage::LocalLinks;
use rentory_testkit::{NatsServer, TestDatabase, wait_until};
use secrecy::SecretString;
use sqlx::PgPool;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use uuid::Uuid;

pub const PUBLIC_URL: &str = "http://127.0.0.1:8080";
pub const CLIENT_IP: &str = "203.0.113.7";
pub const STARTUP: Duration = Duration::from_secs(30);

/// Knobs a test may turn; everything else is the production default.
#[derive(Clone)]
pub struct Options {
    pub ai_url: Option<String>,
    pub max_attempts: u32,
    pub backoff: Duration,
    pub max_upload_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ai_url: None,
            max_attempts: kyc::DEFAULT_FACE_MATCH_MAX_ATTEMPTS,
            backoff: kyc::DEFAULT_FACE_MATCH_BACKOFF,
            max_upload_bytes: kyc::DEFAULT_MAX_UPLOAD_BYTES,
        }
    }
}

/// A caller with a token.
#[derive(Clone)]
pub struct User {
    pub id: Uuid,
    pub token: String,
}

pub struct TestApp {
    pub client: KycServiceClient<Channel>,
    /// Superuser connection to the service's database, for assertions and tampering.
    pub pool: PgPool,
    pub nats: NatsServer,
    pub links: LocalLinks,
    bucket_dir: TempDir,
    issuer: TokenIssuer,
    shutdown: CancellationToken,
    server: JoinHandle<Result<(), kyc::Error>>,
    database: Option<TestDatabase>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> Self {
        let database = TestDatabase::create().await.expect("test database");
        let nats = NatsServer::spawn().await.expect("nats-server");
        let bucket_dir = tempfile::tempdir().expect("bucket dir");
        let keys = SigningKeyPair::generate().expect("keys");
        let settings = TokenSettings::default();
        let issuer = TokenIssuer::new(&keys.private_pem, settings.clone()).expect("issuer");
        let links =
            LocalLinks::new(PUBLIC_URL, &SecretString::from("s".repeat(32))).expect("links");

        let config = kyc::Config {
            database_url: SecretString::from(database.url.clone()),
            database_max_connections: 10,
            nats_url: nats.url(),
            jwt_public_key: keys.public_pem.clone(),
            token_settings: settings,
            bucket_url: format!("file://{}", bucket_dir.path().display()),
            local_links: Some(links.clone()),
            signed_url_ttl: kyc::DEFAULT_SIGNED_URL_TTL,
            ai_url: options.ai_url,
            face_match_max_attempts: options.max_attempts,
            face_match_backoff: options.backoff,
            max_upload_bytes: options.max_upload_bytes,
            port: 0,
            peer_auth: rentory_runtime::grpc::PeerAuth::None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(kyc::serve(config, listener, shutdown.clone()));

        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("url")
            .connect_lazy();
        wait_until(STARTUP, "the KYC service to report SERVING", || {
            let channel = channel.clone();
            async move { is_serving(channel).await }
        })
        .await
        .expect("service start");
        let pool = PgPool::connect(&database.url).await.expect("test pool");
        Self {
            client: KycServiceClient::new(channel)
                .max_encoding_message_size(64 * 1024 * 1024)
                .max_decoding_message_size(64 * 1024 * 1024),
            pool,
            nats,
            links,
            bucket_dir,
            issuer,
            shutdown,
            server,
            database: Some(database),
        }
    }

    /// A fresh user with a token.
    pub fn user(&self, role: Role, status: UserStatus, position: Option<StaffPosition>) -> User {
        self.user_with_id(Uuid::now_v7(), role, status, position)
    }

    pub fn user_with_id(
        &self,
        id: Uuid,
        role: Role,
        status: UserStatus,
        position: Option<StaffPosition>,
    ) -> User {
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
        User { id, token }
    }

    pub fn tenant(&self) -> User {
        self.user(Role::Tenant, UserStatus::Pending, None)
    }

    pub fn officer(&self) -> User {
        self.user(
            Role::Staff,
            UserStatus::Active,
            Some(StaffPosition::ComplianceOfficer),
        )
    }

    pub fn admin(&self) -> User {
        self.user(Role::Admin, UserStatus::Active, None)
    }

    /// Where the bucket keeps `key` on disk.
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.bucket_dir.path().join(key)
    }

    /// Submits the default images for `user`.
    pub async fn submit(
        &self,
        user: &User,
        role: PbRole,
    ) -> Result<pb::VerificationRequest, Status> {
        self.client
            .clone()
            .submit(request(user, submission(role)))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn submit_ok(&self, user: &User) -> pb::VerificationRequest {
        self.submit(user, PbRole::Tenant).await.expect("submit")
    }

    pub async fn get(&self, user: &User, id: &str) -> Result<pb::ReviewItem, Status> {
        self.client
            .clone()
            .get(request(user, pb::GetRequest { id: id.into() }))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn approve(&self, user: &User, id: &str) -> Result<pb::VerificationRequest, Status> {
        self.client
            .clone()
            .approve(request(user, pb::ApproveRequest { id: id.into() }))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn reject(
        &self,
        user: &User,
        id: &str,
        reason: &str,
    ) -> Result<pb::VerificationRequest, Status> {
        self.client
            .clone()
            .reject(request(
                user,
                pb::RejectRequest {
                    id: id.into(),
                    reason: reason.into(),
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn list(
        &self,
        user: &User,
        list: pb::ListRequest,
    ) -> Result<pb::ListResponse, Status> {
        self.client
            .clone()
            .list(request(user, list))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Waits until the face match of `id` is recorded and returns it as a reviewer sees it.
    pub async fn wait_for_face_match(&self, id: &str, deadline: Duration) -> pb::FaceMatch {
        let reviewer = self.admin();
        wait_until(deadline, "the face match to be recorded", || async {
            self.get(&reviewer, id)
                .await
                .ok()
                .and_then(|item| item.request?.face_match)
                .is_some_and(|fm| fm.verdict != "PENDING")
        })
        .await
        .expect("face match recorded");
        self.get(&reviewer, id)
            .await
            .expect("get")
            .request
            .and_then(|r| r.face_match)
            .expect("face match")
    }

    /// Stops the service, waits for it to drain, and drops the database.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let served = tokio::time::timeout(Duration::from_secs(30), &mut self.server)
            .await
            .expect("service stops within 30 s")
            .expect("service task");
        served.expect("service ran without error");
        self.pool.close().await;
        if let Some(database) = self.database.take() {
            database.drop_database().await.expect("drop database");
        }
    }
}

async fn is_serving(channel: Channel) -> bool {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "rentory.kyc.v1.KycService".into(),
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
    metadata.insert("x-client-ip", CLIENT_IP.parse().expect("ascii"));
    metadata.insert(
        "x-request-id",
        format!("req-{}", Uuid::now_v7()).parse().expect("ascii"),
    );
    request
}

/// The default upload: a JPEG ID image and a PNG face scan.
pub fn submission(role: PbRole) -> pb::SubmitRequest {
    pb::SubmitRequest {
        role_requested: role as i32,
        id_image: Some(image(fixtures::JPEG_16_BASELINE, "image/jpeg")),
        face_scan: Some(image(fixtures::PNG_16, "image/png")),
    }
}

pub fn image(data: &[u8], declared: &str) -> pb::Image {
    pb::Image {
        data: data.to_vec(),
        declared_content_type: declared.into(),
    }
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

pub async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

pub async fn count_for(pool: &PgPool, sql: &str, id: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .expect(sql)
}

pub fn uuid(raw: &str) -> Uuid {
    Uuid::parse_str(raw).expect("uuid")
}
