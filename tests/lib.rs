//! A whole Rentory stack per test, reached only through the gateway's public API: its own
//! database (cloned from the PostGIS template), its own `nats-server` with JetStream (so no
//! two tests share durable consumers), the shared Redis, and fresh secrets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use rentory_stack::{Limit, RateLimits, RunningStack, Secrets, StackOptions, Tuning};
use rentory_testkit::{NatsServer, TestDatabase, wait_until};
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

pub use rentory_media::fixtures;

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
    stack: Option<RunningStack>,
    db: Option<TestDatabase>,
    _data: tempfile::TempDir,
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
        let db = TestDatabase::create().await?;
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
            ..Tuning::default()
        };
        tune(&mut tuning);
        let stack = rentory_stack::start(StackOptions {
            database_url: SecretString::from(db.url.clone()),
            redis_url: rentory_testkit::redis_url(),
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
            database_url: db.url.clone(),
            pepper,
            jwt_private_key,
            tuning,
            nats,
            stack: Some(stack),
            db: Some(db),
            _data: data,
        };
        this.wait_ready().await?;
        Ok(this)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
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
        Form::new()
            .text("email", email.to_owned())
            .text("password", password.to_owned())
            .text("pin", pin.to_owned())
            .text("full_name", "Adaeze Okafor")
            .text("phone", "+234 803 123 4567")
            .text("bio", "Looking for a 2-bedroom flat in Yaba")
            .text("role_requested", role.to_owned())
            .part(
                "id_image",
                image_part(fixtures::JPEG_64X48_EXIF_RESTART, "id.jpg", "image/jpeg"),
            )
            .part(
                "face_scan",
                image_part(fixtures::PNG_16, "face.png", "image/png"),
            )
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
