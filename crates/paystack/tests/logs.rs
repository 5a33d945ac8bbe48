//! Paystack calls in the logs: each attempt, never the key. Its own test binary, with the
//! capturing subscriber installed globally: a thread-scoped one (`set_default`) raced other
//! tests' threads over tracing's per-callsite cache and sometimes missed a line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use support::*;
use wiremock::MockServer;

/// A `MakeWriter` collecting everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn each_attempt_is_logged_without_the_key() {
    let server = MockServer::start().await;
    fail_first(
        &server,
        "POST",
        paystack_error(500, "oops"),
        1,
        initialized("unlock-08"),
    )
    .await;

    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    client(&server)
        .initialize(&unlock_request("unlock-08"))
        .await
        .unwrap();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains(KEY), "the secret key was logged:\n{text}");
    let attempts: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("paystack call"))
        .collect();
    assert_eq!(attempts.len(), 2, "{text}");
    for (line, (status, attempt)) in attempts.iter().zip([("500", "1"), ("200", "2")]) {
        assert!(line.contains("method=POST"), "{line}");
        assert!(line.contains("path=\"/transaction/initialize\""), "{line}");
        assert!(line.contains(&format!("status={status}")), "{line}");
        assert!(line.contains(&format!("attempt={attempt}")), "{line}");
        assert!(line.contains("elapsed_ms="), "{line}");
    }
}
