//! Starts the real service on port 0 against its own database, a private nats-server and
//! fake listings/identity services, and talks gRPC to it with tokens minted here.

use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use prost::Message as _;
use rentory_auth::{Role, SigningKeyPair, StaffPosition, TokenIssuer, TokenSettings, UserStatus};
use rentory_proto::chat::v1 as pb;
use rentory_proto::chat::v1::chat_client::ChatClient;
use rentory_proto::chat::v1::room_event::Event;
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

/// A caller with a token.
#[derive(Clone, Debug)]
pub struct User {
    pub id: Uuid,
    pub token: String,
}

/// A session with its two sides.
pub struct Chat {
    pub tenant: User,
    pub landlord: User,
    pub property_id: Uuid,
    pub session: pb::Session,
}

impl Chat {
    pub fn id(&self) -> &str {
        &self.session.id
    }
}

pub struct TestApp {
    pub client: ChatClient<Channel>,
    /// Superuser connection to the service's database, for assertions and tampering.
    pub pool: PgPool,
    pub nats: NatsServer,
    pub directory: Directory,
    issuer: TokenIssuer,
    shutdown: CancellationToken,
    fakes: CancellationToken,
    server: JoinHandle<Result<(), chat::Error>>,
    database: Option<TestDatabase>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(chat::DEFAULT_SESSION_CACHE).await
    }

    pub async fn spawn_with(session_cache: usize) -> Self {
        let database = TestDatabase::create().await.expect("test database");
        let nats = NatsServer::spawn().await.expect("nats-server");
        let keys = SigningKeyPair::generate().expect("keys");
        let issuer = TokenIssuer::new(&keys.private_pem, TokenSettings::default()).expect("issuer");
        let directory = Directory::default();
        let fakes = CancellationToken::new();
        let peers_url = directory.serve(fakes.clone()).await;

        let config = chat::Config {
            database_max_connections: 10,
            session_cache,
            port: 0,
            ..chat::Config::local(
                SecretString::from(database.url.clone()),
                nats.url(),
                keys.public_pem.clone(),
                peers_url.clone(),
                peers_url,
            )
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(chat::serve(config, listener, shutdown.clone()));

        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("url")
            .tcp_nodelay(true)
            .connect_lazy();
        wait_until(STARTUP, "the chat service to report SERVING", || {
            let channel = channel.clone();
            async move { is_serving(channel).await }
        })
        .await
        .expect("service start");
        let pool = PgPool::connect(&database.url).await.expect("test pool");
        Self {
            client: ChatClient::new(channel),
            pool,
            nats,
            directory,
            issuer,
            shutdown,
            fakes,
            server,
            database: Some(database),
        }
    }

    /// Stops the service, waits for it to drain, and drops the database.
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
        self.directory.add_account(id, role, status);
        User { id, token }
    }

    pub fn user(&self, role: Role) -> User {
        self.user_with(Uuid::now_v7(), role, UserStatus::Active, None)
    }

    pub fn staff(&self, position: StaffPosition) -> User {
        self.user_with(
            Uuid::now_v7(),
            Role::Staff,
            UserStatus::Active,
            Some(position),
        )
    }

    /// An ACTIVE listing of `landlord` on the fake listings service.
    pub fn property(&self, landlord: &User) -> Uuid {
        let id = Uuid::now_v7();
        self.directory.add_property(id, landlord.id, "ACTIVE");
        id
    }

    /// A fresh tenant, landlord and listing, and the session the tenant opened.
    pub async fn chat(&self) -> Chat {
        let tenant = self.user(Role::Tenant);
        let landlord = self.user(Role::Landlord);
        let property_id = self.property(&landlord);
        let session = self.open(&tenant, property_id).await.expect("open");
        Chat {
            tenant,
            landlord,
            property_id,
            session,
        }
    }

    pub async fn open(&self, user: &User, property_id: Uuid) -> Result<pb::Session, Status> {
        let message = pb::OpenSessionRequest {
            property_id: property_id.to_string(),
        };
        let answer = self
            .client
            .clone()
            .open_session(request(user, message))
            .await;
        answer.map(tonic::Response::into_inner)
    }

    pub async fn get(&self, user: &User, session_id: &str) -> Result<pb::Session, Status> {
        let message = pb::GetSessionRequest {
            session_id: session_id.into(),
        };
        let answer = self
            .client
            .clone()
            .get_session(request(user, message))
            .await;
        answer.map(tonic::Response::into_inner)
    }

    pub async fn list(
        &self,
        user: &User,
        limit: u32,
        cursor: &str,
    ) -> Result<pb::ListSessionsResponse, Status> {
        let message = pb::ListSessionsRequest {
            limit,
            cursor: cursor.into(),
        };
        let answer = self
            .client
            .clone()
            .list_sessions(request(user, message))
            .await;
        answer.map(tonic::Response::into_inner)
    }

    pub async fn send(
        &self,
        user: &User,
        session_id: &str,
        content: &str,
        client_id: &str,
    ) -> Result<pb::Message, Status> {
        let message = pb::SendMessageRequest {
            session_id: session_id.into(),
            content: content.into(),
            client_id: client_id.into(),
        };
        let answer = self
            .client
            .clone()
            .send_message(request(user, message))
            .await;
        answer.map(tonic::Response::into_inner)
    }

    pub async fn history(
        &self,
        user: &User,
        session_id: &str,
        before_id: Option<&str>,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<pb::HistoryResponse, Status> {
        let message = pb::HistoryRequest {
            session_id: session_id.into(),
            before_id: before_id.map(str::to_owned),
            after_id: after_id.map(str::to_owned),
            limit,
        };
        let answer = self.client.clone().history(request(user, message)).await;
        answer.map(tonic::Response::into_inner)
    }

    /// The whole history as `user` sees it, oldest first.
    pub async fn transcript(&self, user: &User, session_id: &str) -> Vec<pb::Message> {
        let page = self
            .history(user, session_id, None, None, 100)
            .await
            .expect("history");
        assert!(!page.has_more, "transcript() reads one page of 100");
        page.messages.into_iter().rev().collect()
    }

    /// What `user` reads in the session, oldest first.
    pub async fn contents(&self, user: &User, session_id: &str) -> Vec<String> {
        let transcript = self.transcript(user, session_id).await;
        transcript.into_iter().map(|m| m.content).collect()
    }

    pub async fn mark_read(
        &self,
        user: &User,
        session_id: &str,
        message_id: &str,
    ) -> Result<pb::ReadMarker, Status> {
        let message = pb::MarkReadRequest {
            session_id: session_id.into(),
            message_id: message_id.into(),
        };
        let answer = self.client.clone().mark_read(request(user, message)).await;
        answer.map(tonic::Response::into_inner)
    }

    pub async fn assign_guide(
        &self,
        user: &User,
        session_id: &str,
        guide_id: Uuid,
    ) -> Result<pb::Session, Status> {
        let message = pb::AssignGuideRequest {
            session_id: session_id.into(),
            guide_id: guide_id.to_string(),
        };
        let answer = self
            .client
            .clone()
            .assign_guide(request(user, message))
            .await;
        answer.map(tonic::Response::into_inner)
    }

    /// A core NATS subscription to a session's room on the service's NATS server.
    pub async fn room(&self, session_id: &str) -> Room {
        let client = async_nats::connect(self.nats.url()).await.expect("nats");
        let subscriber = client
            .subscribe(chat::room_subject(session_id))
            .await
            .expect("subscribe");
        // The subscription is registered with the server once a round trip has passed.
        client.flush().await.expect("flush");
        Room {
            _client: client,
            subscriber,
        }
    }

    /// Publishes an event as another service would: onto JetStream, with a fresh
    /// `Nats-Msg-Id`, waiting for the stream's ack.
    pub async fn publish_event(&self, subject: &str, payload: &impl prost::Message) {
        let client = async_nats::connect(self.nats.url()).await.expect("nats");
        let js = jetstream::new(client);
        rentory_events::ensure_stream(&js).await.expect("stream");
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", Uuid::now_v7().to_string().as_str());
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

    /// Waits until `check` holds for the session as `user` sees it.
    pub async fn wait_for_session(
        &self,
        user: &User,
        session_id: &str,
        what: &str,
        check: impl Fn(&pb::Session) -> bool,
    ) {
        wait_until(EVENTUALLY, what, || async {
            self.get(user, session_id).await.is_ok_and(|s| check(&s))
        })
        .await
        .expect(what);
    }
}

/// Room events as a gateway would receive them.
pub struct Room {
    _client: async_nats::Client,
    pub subscriber: async_nats::Subscriber,
}

impl Room {
    /// The next event, decoded, with its NATS headers.
    pub async fn next(&mut self) -> (pb::RoomEvent, Option<async_nats::HeaderMap>) {
        let message = tokio::time::timeout(EVENTUALLY, self.subscriber.next())
            .await
            .expect("a room event in time")
            .expect("subscription open");
        let event = pb::RoomEvent::decode(message.payload).expect("a RoomEvent");
        (event, message.headers)
    }

    pub async fn next_message(&mut self) -> pb::Message {
        match self.next().await.0.event {
            Some(Event::Message(message)) => message,
            other => panic!("expected a message event, got {other:?}"),
        }
    }
}

async fn is_serving(channel: Channel) -> bool {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "rentory.chat.v1.Chat".into(),
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

/// Asserts the answer is the one a session that does not exist gets.
#[track_caller]
pub fn assert_no_session<T: std::fmt::Debug>(result: Result<T, Status>) {
    let status = assert_reason(result, Code::NotFound, Reason::NotFound);
    assert_eq!(status.message(), chat::SESSION_NOT_FOUND);
}

/// A timestamp the service sent, as a time.
pub fn at(timestamp: Option<rentory_proto::prost_types::Timestamp>) -> time::OffsetDateTime {
    rentory_proto::offset_date_time(&timestamp.expect("a timestamp")).expect("in range")
}

pub fn uuid(raw: &str) -> Uuid {
    Uuid::parse_str(raw).expect("uuid")
}
