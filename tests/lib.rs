//! A whole Rentory stack per test, reached only through the gateway's public API: its own
//! database (cloned from the PostGIS template), its own `nats-server` with JetStream (so no
//! two tests share durable consumers), the shared Redis, and fresh secrets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use rentory_stack::{
    GatewayInstance, Limit, RateLimits, RunningStack, Secrets, StackOptions, Tuning,
};
use rentory_testkit::{NatsServer, PostgresServer, RedisServer, TestDatabase, wait_until};
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

pub use rentory_media::fixtures;

pub mod demo;

/// PINs that pass the common-PIN rules.
const PINS: &[&str] = &["482917", "730514", "905382", "613874", "284759", "571946"];
static NEXT: AtomicUsize = AtomicUsize::new(0);

pub struct TestStack {
    pub base: String,
    pub http: reqwest::Client,
    pub database_url: String,
    pub pepper: SecretString,
    pub jwt_private_key: SecretString,
    pub tuning: Tuning,
    pub nats: NatsServer,
    /// The private Postgres the stack runs on, when started with one ([`Private`]).
    pub postgres: Option<PostgresServer>,
    /// The private Redis the stack uses, when started with one ([`Private`]).
    pub redis: Option<RedisServer>,
    stack: Option<RunningStack>,
    db: Option<TestDatabase>,
    _data: tempfile::TempDir,
}

/// Which servers a stack gets of its own ([`TestStack::start_on`]); NATS always is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Private {
    pub postgres: bool,
    pub redis: bool,
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: String,
    pub email: String,
    pub password: String,
    pub pin: String,
    pub access_token: String,
    pub refresh_token: String,
    pub verification_request_id: Option<String>,
}

impl TestStack {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut Tuning)) -> anyhow::Result<Self> {
        Self::start_on(Private::default(), tune).await
    }

    /// A stack on private servers the test may stop and restart (the fault drills): the
    /// shared Postgres and Redis must stay up for every other test.
    pub async fn start_on(
        private: Private,
        tune: impl FnOnce(&mut Tuning),
    ) -> anyhow::Result<Self> {
        let postgres = if private.postgres {
            Some(PostgresServer::spawn().await?)
        } else {
            None
        };
        let redis = if private.redis {
            Some(RedisServer::spawn().await?)
        } else {
            None
        };
        let (db, database_url) = match &postgres {
            Some(server) => (None, server.url()),
            None => {
                let db = TestDatabase::create().await?;
                let url = db.url.clone();
                (Some(db), url)
            }
        };
        let redis_url = redis
            .as_ref()
            .map_or_else(rentory_testkit::redis_url, RedisServer::url);
        let nats = NatsServer::spawn().await?;
        let data = tempfile::tempdir()?;
        let secrets = Secrets::generate()?;
        let pepper = secrets.pepper.clone();
        let jwt_private_key = secrets.jwt_private_key.clone();
        let mut tuning = Tuning {
            // Keep the face-match retries short so a test stack settles quickly.
            face_match_max_attempts: 2,
            face_match_backoff: Duration::from_millis(50),
            rate_limits: test_rate_limits(),
            // Unsettled payments and unprocessed webhooks are swept again quickly.
            payments_reconcile_interval: Duration::from_millis(500),
            ..Tuning::default()
        };
        tune(&mut tuning);
        let stack = rentory_stack::start(StackOptions {
            database_url: SecretString::from(database_url.clone()),
            redis_url,
            nats_url: nats.url(),
            gateway_addr: ([127, 0, 0, 1], 0).into(),
            data_dir: data.path().to_path_buf(),
            secrets,
            tuning: tuning.clone(),
        })
        .await?;
        let this = Self {
            base: stack.gateway_url.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            database_url,
            pepper,
            jwt_private_key,
            tuning,
            nats,
            postgres,
            redis,
            stack: Some(stack),
            db,
            _data: data,
        };
        this.wait_ready().await?;
        Ok(this)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The local checkout simulator's base URL (it runs unless the test set Paystack
    /// settings in its tuning).
    pub fn checkout_url(&self) -> Option<&str> {
        self.stack.as_ref().and_then(|s| s.checkout_url.as_deref())
    }

    pub async fn wait_ready(&self) -> anyhow::Result<()> {
        wait_until(Duration::from_secs(30), "gateway /readyz", || async {
            self.http
                .get(self.url("/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await
    }

    /// Stops the services and drops the database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stack) = self.stack.take() {
            stack.stop().await.map_err(anyhow::Error::msg)?;
        }
        if let Some(db) = self.db.take() {
            db.drop_database().await?;
        }
        Ok(())
    }

    pub async fn db(&self) -> anyhow::Result<sqlx::PgPool> {
        Ok(sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&self.database_url)
            .await?)
    }

    pub fn new_credentials() -> (String, String, String) {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let email = format!("user{n}-{}@example.ng", uuid::Uuid::new_v4().simple());
        let pin = PINS[n % PINS.len()].to_owned();
        (email, "correct horse battery".to_owned(), pin)
    }

    /// The registration form with valid images, for tests to alter.
    pub fn registration_form(email: &str, password: &str, pin: &str, role: &str) -> Form {
        registration_form(&Registrant {
            email,
            password,
            pin,
            role,
            full_name: "Adaeze Okafor",
            phone: "+234 803 123 4567",
            bio: "Looking for a 2-bedroom flat in Yaba",
        })
    }

    pub async fn register(&self, role: &str) -> anyhow::Result<Account> {
        let (email, password, pin) = Self::new_credentials();
        let response = self
            .http
            .post(self.url("/auth/register"))
            .multipart(Self::registration_form(&email, &password, &pin, role))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if status != 201 {
            bail!("register answered {status}: {body}");
        }
        account_from(&body, email, password, pin)
    }

    pub async fn login(&self, email: &str, pin: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .post(self.url("/auth/login"))
            .json(&json!({"email": email, "pin": pin}))
            .send()
            .await?)
    }

    /// The first ADMIN, made the way operators make it (identity's create-admin), signed in.
    pub async fn admin(&self) -> anyhow::Result<Account> {
        let (email, password, pin) = Self::new_credentials();
        identity::create_admin(
            &SecretString::from(self.database_url.clone()),
            self.pepper.clone(),
            &email,
            &password,
            &pin,
            "Ada Admin",
        )
        .await?;
        self.signed_in(email, password, pin).await
    }

    /// A STAFF user with `position`, created by `admin` through the API, signed in.
    pub async fn staff(&self, admin: &Account, position: &str) -> anyhow::Result<Account> {
        let (email, password, pin) = Self::new_credentials();
        let response = self
            .http
            .post(self.url("/admin/staff"))
            .bearer_auth(&admin.access_token)
            .json(&json!({"email": email, "password": password, "pin": pin,
                          "full_name": "Chidi Staff", "position": position, "phone": "08031234567"}))
            .send()
            .await?;
        if response.status() != 201 {
            bail!(
                "staff creation answered {}: {}",
                response.status(),
                response.text().await?
            );
        }
        self.signed_in(email, password, pin).await
    }

    async fn signed_in(
        &self,
        email: String,
        password: String,
        pin: String,
    ) -> anyhow::Result<Account> {
        let response = self.login(&email, &pin).await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if status != 200 {
            bail!("login answered {status}: {body}");
        }
        account_from(&body, email, password, pin)
    }

    pub async fn get(&self, path: &str, token: &str) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await?;
        status_and_json(response).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        status_and_json(response).await
    }

    /// Exposes the signing key for tests that forge tokens the real issuer would sign.
    pub fn signing_key(&self) -> &str {
        self.jwt_private_key.expose_secret()
    }
}

/// Budgets no test comes near (some poll login or `/me` every 50 ms for seconds), under a
/// key prefix of the stack's own: every test stack shares one Redis and comes from 127.0.0.1.
/// A test of the limits themselves lowers the one it tests.
fn test_rate_limits() -> RateLimits {
    let generous = Some(Limit::new(100_000, 60));
    RateLimits {
        register: generous,
        auth: generous,
        uploads: generous,
        api: generous,
        prefix: format!("rentory:rl:test:{}", uuid::Uuid::new_v4().simple()),
    }
}

/// Polls `check` until it answers `Ok(true)`; an `Err` counts as "not yet" and the last one
/// is reported if the deadline passes.
pub async fn eventually<F, Fut>(deadline: Duration, what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let until = tokio::time::Instant::now() + deadline;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last_error = Some(e),
        }
        if tokio::time::Instant::now() >= until {
            bail!("timed out after {deadline:?} waiting for {what}; last error: {last_error:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Who registers, as `POST /auth/register` takes it.
pub struct Registrant<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub pin: &'a str,
    pub role: &'a str,
    pub full_name: &'a str,
    pub phone: &'a str,
    pub bio: &'a str,
}

/// The registration form for `who`, with an ID image and a face scan that pass the checks.
pub fn registration_form(who: &Registrant<'_>) -> Form {
    Form::new()
        .text("email", who.email.to_owned())
        .text("password", who.password.to_owned())
        .text("pin", who.pin.to_owned())
        .text("full_name", who.full_name.to_owned())
        .text("phone", who.phone.to_owned())
        .text("bio", who.bio.to_owned())
        .text("role_requested", who.role.to_owned())
        .part(
            "id_image",
            image_part(fixtures::JPEG_64X48_EXIF_RESTART, "id.jpg", "image/jpeg"),
        )
        .part(
            "face_scan",
            image_part(fixtures::PNG_16, "face.png", "image/png"),
        )
}

/// A lease start date a week from today, `YYYY-MM-DD`.
pub fn start_date_in_a_week() -> String {
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(7);
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

pub fn image_part(bytes: &'static [u8], name: &str, mime: &str) -> Part {
    Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .unwrap_or_else(|_| Part::bytes(bytes))
}

pub async fn status_and_json(response: reqwest::Response) -> anyhow::Result<(u16, Value)> {
    let status = response.status().as_u16();
    let text = response.text().await?;
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).with_context(|| format!("non-JSON body ({status}): {text}"))?
    };
    Ok((status, body))
}

fn account_from(
    body: &Value,
    email: String,
    password: String,
    pin: String,
) -> anyhow::Result<Account> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    Ok(Account {
        user_id: text(&body["user"]["id"]).context("user.id")?,
        access_token: text(&body["access_token"]).context("access_token")?,
        refresh_token: text(&body["refresh_token"]).context("refresh_token")?,
        verification_request_id: text(&body["verification_request_id"]),
        email,
        password,
        pin,
    })
}

// --- listings: activation, more verbs, photo analysis, events -----------------------------

impl TestStack {
    /// `register` with a name and phone of the test's choosing (the default form gives
    /// everyone the same ones), for tests that look for a person's contact in responses.
    pub async fn register_with(
        &self,
        role: &str,
        full_name: &str,
        phone: &str,
    ) -> anyhow::Result<Account> {
        let (email, password, pin) = Self::new_credentials();
        let form = registration_form(&Registrant {
            email: &email,
            password: &password,
            pin: &pin,
            role,
            full_name,
            phone,
            bio: "",
        });
        let response = self
            .http
            .post(self.url("/auth/register"))
            .multipart(form)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if status != 201 {
            bail!("register answered {status}: {body}");
        }
        account_from(&body, email, password, pin)
    }

    /// Approves `account`'s KYC request as a fresh ADMIN, waits until identity has made the
    /// account ACTIVE (an event away), and signs in again with the PIN so the access token
    /// carries the new status.
    pub async fn activate(&self, account: &Account) -> anyhow::Result<Account> {
        let admin = self.admin().await?;
        self.activate_by(&admin, account).await
    }

    /// [`TestStack::activate`] with a reviewer the test already has (ADMIN or
    /// COMPLIANCE_OFFICER).
    pub async fn activate_by(
        &self,
        reviewer: &Account,
        account: &Account,
    ) -> anyhow::Result<Account> {
        let request_id = account
            .verification_request_id
            .as_deref()
            .context("the account has no verification request")?;
        let (status, body) = self
            .post(
                &format!("/kyc/requests/{request_id}/approve"),
                &reviewer.access_token,
                json!({}),
            )
            .await?;
        if status != 200 {
            bail!("approval answered {status}: {body}");
        }
        eventually(Duration::from_secs(20), "account activation", || async {
            let (status, me) = self.get("/me", &account.access_token).await?;
            anyhow::ensure!(status == 200, "/me answered {status}: {me}");
            Ok(me["user"]["status"] == "ACTIVE")
        })
        .await?;
        let mut active = self
            .signed_in(
                account.email.clone(),
                account.password.clone(),
                account.pin.clone(),
            )
            .await?;
        active.verification_request_id = account.verification_request_id.clone();
        Ok(active)
    }

    pub async fn patch(
        &self,
        path: &str,
        token: &str,
        body: Value,
    ) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        status_and_json(response).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await?;
        status_and_json(response).await
    }

    /// GET `path` with `query` pairs, URL-encoded.
    pub async fn get_query(
        &self,
        path: &str,
        token: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .get(self.url(path))
            .query(query)
            .bearer_auth(token)
            .send()
            .await?;
        status_and_json(response).await
    }

    /// `POST /properties/analyze` with `form` (see [`analyze_form`]).
    pub async fn analyze(&self, token: &str, form: Form) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .post(self.url("/properties/analyze"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await?;
        status_and_json(response).await
    }

    /// A JetStream context on the stack's NATS, once a service has created the `RENTORY`
    /// stream (they ensure it in the background as soon as NATS answers).
    pub async fn jetstream(&self) -> anyhow::Result<async_nats::jetstream::Context> {
        let client = async_nats::connect(self.nats.url()).await?;
        let js = async_nats::jetstream::new(client);
        eventually(Duration::from_secs(20), "the RENTORY stream", || {
            let js = js.clone();
            async move { Ok(js.get_stream(rentory_events::STREAM).await.is_ok()) }
        })
        .await?;
        Ok(js)
    }

    /// Publishes a protobuf event as another service would: onto the stack's JetStream,
    /// with a fresh UUIDv7 as `Nats-Msg-Id`, waiting for the stream's ack.
    pub async fn publish_event(
        &self,
        subject: &str,
        payload: &impl prost::Message,
    ) -> anyhow::Result<()> {
        let js = self.jetstream().await?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", uuid::Uuid::now_v7().to_string().as_str());
        js.publish_with_headers(subject.to_owned(), headers, payload.encode_to_vec().into())
            .await
            .with_context(|| format!("publishing {subject}"))?
            .await
            .with_context(|| format!("the ack of {subject}"))?;
        Ok(())
    }

    /// Every event on `subject`, from the start of the stream (an ephemeral ordered
    /// consumer), for tests that check what a service announced.
    pub async fn events(&self, subject: &str) -> anyhow::Result<EventFeed> {
        let js = self.jetstream().await?;
        let stream = js.get_stream(rentory_events::STREAM).await?;
        let consumer = stream
            .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig {
                filter_subject: subject.to_owned(),
                ..Default::default()
            })
            .await?;
        Ok(EventFeed {
            messages: consumer.messages().await?,
        })
    }
}

/// Events of one subject as they arrive; see [`TestStack::events`].
pub struct EventFeed {
    messages: async_nats::jetstream::consumer::pull::Ordered,
}

impl EventFeed {
    /// The next event decoded as `M`, or `None` if none arrives `within`.
    pub async fn next<M: prost::Message + Default>(
        &mut self,
        within: Duration,
    ) -> anyhow::Result<Option<M>> {
        use futures::StreamExt;
        match tokio::time::timeout(within, self.messages.next()).await {
            Err(_) => Ok(None),
            Ok(None) => bail!("the event feed ended"),
            Ok(Some(message)) => {
                let message = message?;
                Ok(Some(M::decode(message.payload.as_ref())?))
            }
        }
    }

    /// The next event's subject and payload bytes, or `None` if none arrives `within`.
    pub async fn next_raw(
        &mut self,
        within: Duration,
    ) -> anyhow::Result<Option<(String, Vec<u8>)>> {
        use futures::StreamExt;
        match tokio::time::timeout(within, self.messages.next()).await {
            Err(_) => Ok(None),
            Ok(None) => bail!("the event feed ended"),
            Ok(Some(message)) => {
                let message = message?;
                Ok(Some((
                    message.subject.to_string(),
                    message.payload.to_vec(),
                )))
            }
        }
    }
}

/// A photo part for `POST /properties/analyze` from bytes the test made.
pub fn owned_image_part(bytes: Vec<u8>, name: &str, mime: &str) -> Part {
    let fallback = bytes.clone();
    Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .unwrap_or_else(|_| Part::bytes(fallback))
}

/// The form of `POST /properties/analyze`: each photo its own `photos` part, `notes`,
/// `address` and, when given, `latitude` and `longitude`.
pub fn analyze_form(
    photos: Vec<Part>,
    notes: &str,
    address: &str,
    location: Option<(f64, f64)>,
) -> Form {
    let mut form = Form::new()
        .text("notes", notes.to_owned())
        .text("address", address.to_owned());
    if let Some((latitude, longitude)) = location {
        form = form
            .text("latitude", latitude.to_string())
            .text("longitude", longitude.to_string());
    }
    for photo in photos {
        form = form.part("photos", photo);
    }
    form
}

// --- chat: more gateway instances, Socket.IO clients, a landlord's listing ----------------

pub use rentory_testkit::SocketIoClient;

impl TestStack {
    /// Starts another gateway instance in front of the same services (a second Cloud Run
    /// instance), waits until it is ready with NATS connected, and answers its URL.
    pub async fn start_gateway(&mut self) -> anyhow::Result<String> {
        let stack = self.stack.as_mut().context("the stack was stopped")?;
        let url = stack.start_gateway(([127, 0, 0, 1], 0).into()).await?;
        self.wait_live(&url).await?;
        Ok(url)
    }

    /// Starts a gateway instance the test can kill alone and abruptly
    /// ([`GatewayInstance::kill`]), and waits until it is ready with NATS connected.
    pub async fn start_killable_gateway(&self) -> anyhow::Result<GatewayInstance> {
        let stack = self.stack.as_ref().context("the stack was stopped")?;
        let instance = stack.start_killable_gateway(([127, 0, 0, 1], 0).into())?;
        self.wait_live(&instance.url).await?;
        Ok(instance)
    }

    /// Waits until the gateway at `base` is ready and connected to NATS (live chat).
    pub async fn wait_live(&self, base: &str) -> anyhow::Result<()> {
        eventually(
            Duration::from_secs(30),
            "gateway ready with NATS",
            || async {
                let response = self.http.get(format!("{base}/readyz")).send().await?;
                let status = response.status();
                let body: Value = response.json().await?;
                Ok(status == 200 && body["checks"]["nats"] == "up")
            },
        )
        .await
    }

    /// A python-socketio client connected to the gateway at `base` with `account`'s token,
    /// over WebSocket (`websocket_only`) or python-socketio's default (long-polling, then an
    /// upgrade).
    pub async fn socket(
        &self,
        base: &str,
        account: &Account,
        websocket_only: bool,
    ) -> anyhow::Result<SocketIoClient> {
        let transports: Option<&[&str]> = websocket_only.then_some(&["websocket"]);
        let mut client = SocketIoClient::spawn(base, transports).await?;
        client.connect(&account.access_token).await?;
        Ok(client)
    }

    /// A listing of `landlord` (ACTIVE) in Yaba; its id.
    pub async fn property_of(&self, landlord: &Account) -> anyhow::Result<String> {
        let (status, property) = self
            .post(
                "/properties",
                &landlord.access_token,
                json!({"category": "RESIDENTIAL", "title": "2-bedroom flat in Yaba",
                       "description": "Renovated, prepaid meter", "price_kobo": 250_000_000,
                       "address": "12 Herbert Macaulay Way, Yaba, Lagos",
                       "latitude": 6.5095, "longitude": 3.3711, "bedrooms": 2}),
            )
            .await?;
        anyhow::ensure!(
            status == 201,
            "creating a listing answered {status}: {property}"
        );
        property["id"]
            .as_str()
            .map(str::to_owned)
            .context("the listing has no id")
    }
}

/// An ADMIN, an ACTIVE landlord with a listing, and an ACTIVE tenant: the cast of the chat
/// tests and the fault drills.
pub struct Parties {
    pub admin: Account,
    pub landlord: Account,
    pub tenant: Account,
    pub property_id: String,
}

/// Signs up and activates the [`Parties`] on `stack`.
pub async fn parties(stack: &TestStack) -> anyhow::Result<Parties> {
    let admin = stack.admin().await?;
    let landlord = stack
        .activate_by(&admin, &stack.register("LANDLORD").await?)
        .await?;
    let tenant = stack
        .activate_by(&admin, &stack.register("TENANT").await?)
        .await?;
    let property_id = stack.property_of(&landlord).await?;
    Ok(Parties {
        admin,
        landlord,
        tenant,
        property_id,
    })
}

/// The tenant opens the chat session about the property over REST; its id.
pub async fn open_session(stack: &TestStack, parties: &Parties) -> anyhow::Result<String> {
    let (status, session) = stack
        .post(
            "/chat/sessions",
            &parties.tenant.access_token,
            json!({"property_id": parties.property_id}),
        )
        .await?;
    anyhow::ensure!(status == 200, "opening answered {status}: {session}");
    Ok(session["id"].as_str().unwrap_or_default().to_owned())
}

/// `client` sends `count` messages to the session numbered after `text`, one after the
/// other, each acknowledged; their ids, oldest first.
pub async fn send_numbered(
    client: &mut SocketIoClient,
    session_id: &str,
    text: &str,
    count: usize,
) -> anyhow::Result<Vec<Value>> {
    let mut ids = Vec::with_capacity(count);
    for n in 1..=count {
        let stored = client
            .ack(
                "message",
                json!({"session_id": session_id, "content": format!("{text} {n}")}),
            )
            .await?;
        ids.push(stored["id"].clone());
    }
    Ok(ids)
}

/// The ids of a rejoin's `missed` messages, oldest first.
pub fn missed_ids(rejoined: &Value) -> Vec<Value> {
    rejoined["missed"]
        .as_array()
        .map(|missed| missed.iter().map(|m| m["id"].clone()).collect())
        .unwrap_or_default()
}
