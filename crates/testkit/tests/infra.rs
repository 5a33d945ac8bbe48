//! The helpers against the real local Postgres and a private nats-server.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed test should panic

use std::time::Duration;

use rentory_testkit::{NatsServer, TestDatabase, admin_database_url, wait_until};
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;

async fn database_exists(name: &str) -> bool {
    let mut admin = PgConnection::connect(&admin_database_url()).await.unwrap();
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn test_database_is_usable_and_dropped_explicitly() {
    let db = TestDatabase::create().await.unwrap();
    let name = db.name().to_owned();
    assert!(name.starts_with("rentory_t_"));

    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("CREATE TABLE t (x int)")
        .execute(&mut conn)
        .await
        .unwrap();
    // Left open on purpose: dropping must not wait for the test to close it.
    assert!(database_exists(&name).await);

    db.drop_database().await.unwrap();
    assert!(!database_exists(&name).await);
}

#[tokio::test]
async fn test_database_is_dropped_on_drop() {
    let db = TestDatabase::create().await.unwrap();
    let name = db.name().to_owned();
    let _conn = PgConnection::connect(&db.url).await.unwrap();
    drop(db);
    assert!(!database_exists(&name).await);
}

#[tokio::test(flavor = "current_thread")]
async fn drop_works_on_a_current_thread_runtime() {
    let db = TestDatabase::create().await.unwrap();
    let name = db.name().to_owned();
    drop(db);
    assert!(!database_exists(&name).await);
}

/// The first line a NATS server sends is `INFO {...}`.
async fn server_info(port: u16) -> String {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).await.unwrap();
    line
}

#[tokio::test]
async fn nats_server_restarts_on_the_same_port() {
    let mut nats = NatsServer::spawn().await.unwrap();
    let port = nats.port();
    assert_eq!(nats.url(), format!("nats://127.0.0.1:{port}"));
    let info = server_info(port).await;
    assert!(info.starts_with("INFO "), "{info}");
    assert!(info.contains("\"jetstream\":true"), "{info}");

    nats.stop().await.unwrap();
    assert!(!nats.is_running());
    wait_until(
        Duration::from_secs(5),
        "the port to refuse connections",
        || async { TcpStream::connect(("127.0.0.1", port)).await.is_err() },
    )
    .await
    .unwrap();

    nats.start().await.unwrap();
    assert_eq!(nats.port(), port);
    assert!(server_info(port).await.starts_with("INFO "));
    assert!(nats.store_dir().join("jetstream").exists());
}
