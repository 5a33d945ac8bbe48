//! Starts the real service on port 0 against its own database, the shared Redis (under a
//! key prefix of its own) and a private nats-server, and talks gRPC to it.

use std::time::Duration;

use ai_orchestrator::{Config, GeminiConfig};
use async_nats::jetstream;
use rentory_auth::{Role, SigningKeyPair, TokenIssuer, TokenSettings, UserStatus};
use rentory_proto::ai::v1 as pb;
use rentory_proto::ai::v1::ai_orchestrator_client::AiOrchestratorClient;
use rentory_runtime::CancellationToken;
use rentory_runtime::rpc_error::{Reason, decode};
use rentory_testkit::{NatsServer, TestDatabase, wait_until};
use secrecy::SecretString;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use uuid::Uuid;

pub const STARTUP: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Options {
    pub gemini: Option<GeminiConfig>,
    pub daily_calls: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            gemini: None,
            daily_calls: ai_orchestrator::DEFAULT_DAILY_CALLS,
        }
    }
}

/// Gemini settings pointing at a fake server, with quick retries.
pub fn fake_gemini(base: &str) -> GeminiConfig {
    GeminiConfig {
        api_key: SecretString::from("test-key-123"),
        base_url: url::Url::parse(&format!("{base}/v1beta/")).unwrap(),
        fast_models: ai_orchestrator::model_chain("gemini-3-flash-preview,gemini-2.5-flash"),
        legal_models: ai_orchestrator::model_chain("gemini-3.1-pro-preview"),
        max_attempts: 2,
        retry_base: Duration::from_millis(10),
    }
}

#[derive(Clone)]
pub struct User {
    pub id: Uuid,
    pub token: String,
}

pub struct TestApp {
    pub client: AiOrchestratorClient<Channel>,
    pub pool: PgPool,
    pub nats: NatsServer,
    issuer: TokenIssuer,
    shutdown: CancellationToken,
    server: JoinHandle<Result<(), ai_orchestrator::Error>>,
    database: Option<TestDatabase>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> Self {
        let database = TestDatabase::create().await.expect("test database");
        let nats = NatsServer::spawn().await.expect("nats-server");
        let keys = SigningKeyPair::generate().expect("keys");
        let issuer = TokenIssuer::new(&keys.private_pem, TokenSettings::default()).expect("issuer");
        let config = Config {
            gemini: options.gemini,
            daily_calls_per_user: options.daily_calls,
            // Budgets and cached analyses of one test never leak into another.
            redis_prefix: format!("test:ai:{}", Uuid::new_v4().simple()),
            port: 0,
            ..Config::local(
                SecretString::from(database.url.clone()),
                rentory_testkit::redis_url(),
                nats.url(),
                keys.public_pem.clone(),
            )
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(ai_orchestrator::serve(config, listener, shutdown.clone()));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("url")
            .connect_lazy();
        wait_until(STARTUP, "the AI orchestrator to report SERVING", || {
            let channel = channel.clone();
            async move {
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                health
                    .check(tonic_health::pb::HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .is_ok()
            }
        })
        .await
        .expect("service start");
        let pool = PgPool::connect(&database.url).await.expect("test pool");
        Self {
            client: AiOrchestratorClient::new(channel)
                .max_encoding_message_size(64 * 1024 * 1024)
                .max_decoding_message_size(64 * 1024 * 1024),
            pool,
            nats,
            issuer,
            shutdown,
            server,
            database: Some(database),
        }
    }

    pub fn user(&self, role: Role) -> User {
        let id = Uuid::now_v7();
        let token = self
            .issuer
            .issue(
                id,
                role,
                UserStatus::Pending,
                None,
                Uuid::now_v7(),
                time::OffsetDateTime::now_utc(),
            )
            .expect("token")
            .token;
        User { id, token }
    }

    pub async fn say(
        &self,
        user: &User,
        message: &str,
    ) -> Result<pb::ConciergeTurnResponse, Status> {
        self.client
            .clone()
            .concierge_turn(request(
                user,
                pb::ConciergeTurnRequest {
                    message: message.into(),
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn analyze(
        &self,
        user: &User,
        analysis: pb::AnalyzePhotosRequest,
    ) -> Result<pb::AnalyzePhotosResponse, Status> {
        self.client
            .clone()
            .analyze_photos(request(user, analysis))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn draft(
        &self,
        user: &User,
        lease: pb::DraftLeaseRequest,
    ) -> Result<pb::DraftLeaseResponse, Status> {
        self.client
            .clone()
            .draft_lease(request(user, lease))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn face_match(&self) -> Result<pb::FaceMatchResponse, Status> {
        self.client
            .clone()
            .face_match(Request::new(pb::FaceMatchRequest {
                verification_request_id: Uuid::now_v7().to_string(),
                id_image: Some(image(
                    rentory_media::fixtures::JPEG_16_BASELINE,
                    "image/jpeg",
                )),
                face_scan: Some(image(rentory_media::fixtures::PNG_16, "image/png")),
            }))
            .await
            .map(tonic::Response::into_inner)
    }

    /// `ai.calls` rows of a task, oldest first: (model, outcome, tokens_in, tokens_out, cost).
    pub async fn calls(&self, task: &str) -> Vec<(String, String, i64, i64, i64)> {
        sqlx::query_as(
            "SELECT model, outcome, tokens_in, tokens_out, cost_micro_usd FROM ai.calls
             WHERE task = $1 ORDER BY id",
        )
        .bind(task)
        .fetch_all(&self.pool)
        .await
        .expect("calls")
    }

    /// The last `rentory.ai.persona.updated` on JetStream, once it has `version`.
    pub async fn last_persona_event(&self, version: u64) -> pb_events::PersonaUpdated {
        let client = async_nats::connect(self.nats.url()).await.expect("nats");
        let js = jetstream::new(client);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(stream) = js.get_stream("RENTORY").await
                && let Ok(message) = stream
                    .get_last_raw_message_by_subject("rentory.ai.persona.updated")
                    .await
            {
                let event: pb_events::PersonaUpdated =
                    prost::Message::decode(message.payload.as_ref()).expect("payload");
                if event.version == version {
                    return event;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "persona event version {version} never reached JetStream"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.server).await;
        self.pool.close().await;
        if let Some(db) = self.database.take() {
            db.drop_database().await.expect("drop database");
        }
    }
}

pub use rentory_proto::events::v1 as pb_events;

pub fn request<T>(user: &User, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", user.token).parse().expect("metadata"),
    );
    request
}

pub fn image(data: &[u8], mime: &str) -> pb::Image {
    pb::Image {
        data: data.to_vec(),
        mime_type: mime.into(),
    }
}

/// Asserts a refusal's code and reason.
pub fn refused(status: &Status, code: Code, reason: Reason) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(decode(status).reason, Some(reason), "{status:?}");
}

pub fn lease_request() -> pb::DraftLeaseRequest {
    pb::DraftLeaseRequest {
        property: Some(pb::LeaseProperty {
            title: "2-bedroom flat in Yaba".into(),
            address: "12 Herbert Macaulay Way, Yaba, Lagos".into(),
            category: "RESIDENTIAL".into(),
            bedrooms: Some(2),
            description: "Newly painted, borehole, prepaid meter".into(),
        }),
        landlord: Some(pb::LeaseParty {
            full_name: "Adaeze Okafor".into(),
            address: "4 Allen Avenue, Ikeja".into(),
        }),
        tenant: Some(pb::LeaseParty {
            full_name: "Tunde Bakare".into(),
            address: String::new(),
        }),
        terms: Some(pb::LeaseTerms {
            rent_kobo: 180_000_000,
            rent_period: "YEAR".into(),
            duration_months: 12,
            start_date: "2027-01-01".into(),
            deposit_kobo: 20_000_000,
            service_charge_kobo: 0,
            advance_rent_months: 12,
        }),
        negotiation_points: vec![
            "Tenant may repaint the living room in neutral colours".into(),
            "Landlord fixes the kitchen sink before move-in".into(),
        ],
        jurisdiction: "Lagos".into(),
    }
}
