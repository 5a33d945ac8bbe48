//! Shared set-up: a fresh database with the event tables in a service-like schema, a
//! unique stream, and a handler that records what it did.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use rentory_events::{Delivered, Handler, HandlerError, MIGRATION_SQL, StreamSettings, enqueue};
use rentory_testkit::TestDatabase;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Logs from the code under test, shown by the test harness only when a test fails.
/// `RUST_LOG` overrides the default.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "rentory_events=debug,async_nats=info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Generous: CI machines are small and NATS reconnects back off up to 4 s.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The test payload.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Ping {
    #[prost(string, tag = "1")]
    pub text: String,
}

pub fn ping(text: &str) -> Ping {
    Ping {
        text: text.to_owned(),
    }
}

/// A database whose pool behaves like a service's: `search_path` is its own schema, and
/// that schema holds the tables from the crate docs plus `applied`, the test handlers'
/// effect (no key on purpose, so a double apply would show).
pub struct ServiceDb {
    pub pool: PgPool,
    pub schema: String,
    // Last, so the pool is closed before the database is dropped.
    pub db: TestDatabase,
}

impl ServiceDb {
    pub async fn create() -> Self {
        let db = TestDatabase::create().await.unwrap();
        let schema = "svc".to_owned();
        let options = db
            .connect_options()
            .unwrap()
            .options([("search_path", schema.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
            .execute(&pool)
            .await
            .unwrap();
        sqlx::raw_sql(MIGRATION_SQL).execute(&pool).await.unwrap();
        sqlx::raw_sql("CREATE TABLE applied (event_id uuid NOT NULL, text text NOT NULL, delivery bigint NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        Self { pool, schema, db }
    }

    /// Enqueues one event in its own committed transaction.
    pub async fn commit_event(&self, subject: &str, text: &str) -> Uuid {
        let mut tx = self.pool.begin().await.unwrap();
        let id = enqueue(&mut tx, subject, &ping(text)).await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    pub async fn unpublished(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// How many times each event's effect committed.
    pub async fn applied(&self) -> HashMap<Uuid, i64> {
        let rows: Vec<(Uuid, i64)> =
            sqlx::query_as("SELECT event_id, count(*) FROM applied GROUP BY event_id")
                .fetch_all(&self.pool)
                .await
                .unwrap();
        rows.into_iter().collect()
    }

    pub async fn applied_delivery(&self, id: Uuid) -> i64 {
        sqlx::query_scalar("SELECT delivery FROM applied WHERE event_id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub async fn processed(&self, consumer: &str) -> Vec<Uuid> {
        sqlx::query_scalar(
            "SELECT event_id FROM processed_events WHERE consumer = $1 ORDER BY event_id",
        )
        .bind(consumer)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    pub async fn close(self) {
        self.pool.close().await;
        self.db.drop_database().await.unwrap();
    }
}

/// A stream and subject prefix no other test uses on the shared server.
pub struct TestStream {
    pub settings: StreamSettings,
    pub prefix: String,
}

impl TestStream {
    pub fn unique() -> Self {
        let tag = Uuid::new_v4().simple().to_string();
        let prefix = format!("t_{tag}");
        Self {
            settings: StreamSettings::new(format!("T_{tag}"), vec![format!("{prefix}.>")]),
            prefix,
        }
    }

    pub fn subject(&self, rest: &str) -> String {
        format!("{}.{rest}", self.prefix)
    }

    pub async fn delete(&self, js: &jetstream::Context) {
        js.delete_stream(&self.settings.name).await.unwrap();
    }
}

pub async fn jetstream(url: &str) -> jetstream::Context {
    let client = async_nats::connect(url).await.unwrap();
    jetstream::new(client)
}

pub async fn message_count(js: &jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(mut stream) => stream
            .info()
            .await
            .map(|info| info.state.messages)
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// What each payload text makes the handler do.
///
/// - `ok`: apply.
/// - `retry-once`: `Retry` from `prepare` on the first delivery.
/// - `fail-apply-once`: on the first delivery `apply` writes, then returns `Retry` (the
///   write must roll back with the `processed_events` row).
/// - `permanent`: `Permanent` from `prepare`.
#[derive(Clone, Default)]
pub struct Recorder {
    pub prepared: Arc<Mutex<HashMap<Uuid, u32>>>,
}

impl Recorder {
    pub fn prepared(&self, id: Uuid) -> u32 {
        self.prepared.lock().unwrap().get(&id).copied().unwrap_or(0)
    }
}

const RETRY_SOON: Duration = Duration::from_millis(100);

impl Handler for Recorder {
    type Effect = Ping;

    async fn prepare(&self, event: &Delivered) -> Result<Ping, HandlerError> {
        *self.prepared.lock().unwrap().entry(event.id).or_default() += 1;
        let ping: Ping = event.decode()?;
        match ping.text.as_str() {
            "retry-once" if event.delivery_count == 1 => {
                Err(HandlerError::retry(RETRY_SOON, "first try fails"))
            }
            "permanent" => Err(HandlerError::permanent("never works")),
            _ => Ok(ping),
        }
    }

    async fn apply(
        &self,
        ping: Ping,
        event: &Delivered,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        sqlx::query("INSERT INTO applied (event_id, text, delivery) VALUES ($1, $2, $3)")
            .bind(event.id)
            .bind(&ping.text)
            .bind(i64::try_from(event.delivery_count).unwrap())
            .execute(&mut *tx)
            .await?;
        if ping.text == "fail-apply-once" && event.delivery_count == 1 {
            return Err(HandlerError::retry(RETRY_SOON, "apply fails after writing"));
        }
        Ok(())
    }
}
