//! Connecting a service to NATS without making NATS a start-up dependency: the client keeps
//! retrying in the background, and the stream is ensured as soon as NATS answers. Until
//! then events wait in the outbox.

use std::time::Duration;

use async_nats::jetstream;
use tokio_util::sync::CancellationToken;

use crate::backoff::{Backoff, pause_or_shutdown};
use crate::stream::StreamSettings;
use rentory_runtime::error_chain as chain;

/// How long one connection attempt may take before async-nats tries again.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A JetStream context for `url` that is usable at once, plus a background task that
/// creates or updates `stream` once NATS is reachable (until `shutdown`).
///
/// Uses `retry_on_initial_connect`, so this returns even while NATS is down; the relay holds
/// events in the outbox and consumers keep retrying until it is up.
pub async fn connect(
    url: &str,
    stream: StreamSettings,
    shutdown: &CancellationToken,
) -> Result<jetstream::Context, async_nats::ConnectError> {
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connection_timeout(CONNECT_TIMEOUT)
        .connect(url)
        .await?;
    let js = jetstream::new(client);
    tokio::spawn(ensure_when_reachable(js.clone(), stream, shutdown.clone()));
    Ok(js)
}

async fn ensure_when_reachable(
    js: jetstream::Context,
    stream: StreamSettings,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        match stream.ensure(&js).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(stream = %stream.name, error = chain(&error), "event stream not ready yet; retrying");
            }
        }
        if pause_or_shutdown(backoff.next_pause(), &shutdown).await {
            return;
        }
    }
}
