//! How long SendMessage takes, measured from a gRPC client on the same machine (so it
//! includes HTTP/2 over loopback, token verification, the one SQL round trip and the NATS
//! publish). Printed, not asserted: a shared CI machine is no place for a timing gate.
//! `cargo test -p chat --release --test chat latency -- --nocapture` for optimised code.

use std::time::{Duration, Instant};

use crate::support::*;

const SENDS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_sends_are_timed() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let mut room = app.room(chat.id()).await;
    // Warm the connection, the statement cache and the session memory.
    for i in 0..50 {
        app.send(&chat.tenant, chat.id(), &format!("warm-up {i}"), "")
            .await
            .unwrap();
    }
    let mut took = Vec::with_capacity(SENDS);
    for i in 0..SENDS {
        let (who, text) = if i % 2 == 0 {
            (&chat.tenant, "Is the flat still available from March?")
        } else {
            (&chat.landlord, "Yes it is, call 0803 123 4567 to view")
        };
        let started = Instant::now();
        app.send(who, chat.id(), text, &format!("lat-{i}"))
            .await
            .unwrap();
        took.push(started.elapsed());
    }
    report("SendMessage", took);
    // For scale: a call that verifies the token and reads one row.
    let mut took = Vec::with_capacity(SENDS);
    for _ in 0..SENDS {
        let started = Instant::now();
        app.get(&chat.tenant, chat.id()).await.unwrap();
        took.push(started.elapsed());
    }
    report("GetSession", took);
    // Every send reached the room.
    for _ in 0..50 + SENDS {
        room.next_message().await;
    }
    assert_eq!(
        app.count("SELECT count(*) FROM chat.messages").await,
        (50 + SENDS) as i64
    );
    app.stop().await;
}

fn report(what: &str, mut took: Vec<Duration>) {
    took.sort();
    let pick = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    let mean = took.iter().sum::<Duration>() / took.len() as u32;
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "{what} x{} sequential ({build} build): p50 {:?}, p90 {:?}, p99 {:?}, max {:?}, mean {:?}",
        took.len(),
        pick(0.50),
        pick(0.90),
        pick(0.99),
        took[took.len() - 1],
        mean,
    );
}
