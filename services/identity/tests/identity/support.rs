//! Starts the real identity service on port 0 and talks gRPC to it.

use std::time::Duration;

use identity::{LockoutPolicy, SprayPolicy};
use rentory_auth::{Role, SigningKeyPair, StaffPosition, TokenIssuer, TokenSettings, UserStatus};
use rentory_proto::identity::v1 as pb;
use rentory_proto::identity::v1::identity_service_client::IdentityServiceClient;
use rentory_runtime::CancellationToken;
use rentory_testkit::{NatsServer, TestDatabase, wait_until};
use secrecy::SecretString;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Request};
use uuid::Uuid;

pub struct TestApp {
    pub client: IdentityServiceClient<Channel>,
    /// Mints access tokens with identity's own signing key, for callers of any role.
    pub issuer: TokenIssuer,
    shutdown: CancellationToken,
    server: JoinHandle<Result<(), identity::ServeError>>,
    database: Option<TestDatabase>,
    _nats: NatsServer,
}

/// A registered account and its access token.
pub struct Registered {
    pub user: pb::User,
    pub token: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let database = TestDatabase::create().await.expect("test database");
        let nats = NatsServer::spawn().await.expect("nats-server");
        let keys = SigningKeyPair::generate().expect("keys");
        let issuer = TokenIssuer::new(&keys.private_pem, TokenSettings::default()).expect("issuer");
        let config = identity::Config {
            database_url: SecretString::from(database.url.clone()),
            redis_url: rentory_testkit::redis_url(),
            nats_url: nats.url(),
            jwt_private_key: keys.private_pem.clone(),
            tokens: TokenSettings::default(),
            refresh_ttl: Duration::from_secs(3600),
            pepper: SecretString::from("identity-tests-pepper-0123456789abcdef"),
            hashing_concurrency: 2,
            lockout: LockoutPolicy::default(),
            spray: SprayPolicy::default(),
            db_max_connections: 4,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(identity::serve(config, listener, shutdown.clone()));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("url")
            .connect_lazy();
        let client = IdentityServiceClient::new(channel);
        // Serving once an unauthenticated call is refused as such (not by the transport).
        wait_until(Duration::from_secs(30), "identity serving", || {
            let mut client = client.clone();
            async move {
                client
                    .get_me(Request::new(pb::GetMeRequest {}))
                    .await
                    .is_err_and(|s| s.code() == Code::Unauthenticated)
            }
        })
        .await
        .expect("identity starts");
        Self {
            client,
            issuer,
            shutdown,
            server,
            database: Some(database),
            _nats: nats,
        }
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let served = tokio::time::timeout(Duration::from_secs(30), &mut self.server)
            .await
            .expect("identity stops within 30 s")
            .expect("task");
        served.expect("identity ran without error");
        if let Some(database) = self.database.take() {
            database.drop_database().await.expect("drop database");
        }
    }

    /// Registers a new account with `role` (it stays PENDING until KYC approval).
    pub async fn register(&self, full_name: &str, role: pb::Role) -> Registered {
        let email = format!("{}@example.ng", Uuid::now_v7().simple());
        let answer = self
            .client
            .clone()
            .register(Request::new(pb::RegisterRequest {
                email,
                password: "correct horse battery staple".into(),
                pin: "480913".into(),
                full_name: full_name.into(),
                phone: "+2348031234567".into(),
                bio: "hello".into(),
                role_requested: role as i32,
            }))
            .await
            .expect("register")
            .into_inner();
        Registered {
            user: answer.user.expect("user"),
            token: answer.access_token,
        }
    }

    /// An access token for a user of any role, signed with identity's key.
    pub fn token(&self, role: Role, position: Option<StaffPosition>) -> String {
        self.issuer
            .issue(
                Uuid::now_v7(),
                role,
                UserStatus::Active,
                position,
                Uuid::now_v7(),
                time::OffsetDateTime::now_utc(),
            )
            .expect("token")
            .token
    }
}

pub fn with_token<T>(token: Option<&str>, message: T) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("ascii"),
        );
    }
    request
}
