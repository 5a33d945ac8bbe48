//! W3C trace context across the send path: the room event on core NATS and the outbox
//! event carry the trace of the request that sent the message. A test binary of its own,
//! because it installs a global OpenTelemetry subscriber the other tests should not run
//! under (their latency figures are for a service without one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../chat/fakes.rs"]
#[allow(dead_code)]
mod fakes;
#[path = "../chat/support.rs"]
#[allow(dead_code)]
mod support;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use rentory_proto::chat::v1 as pb;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use support::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_event_and_the_outbox_event_carry_the_senders_trace() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = SdkTracerProvider::builder().build();
    tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("chat-tests")))
        .init();

    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let mut room = app.room(chat.id()).await;
    let mut send = request(
        &chat.tenant,
        pb::SendMessageRequest {
            session_id: chat.session.id.clone(),
            content: "traced".into(),
            client_id: String::new(),
        },
    );
    send.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{CALLER_SPAN}-01").parse().unwrap(),
    );
    app.client.clone().send_message(send).await.unwrap();

    let (_, headers) = room.next().await;
    let live = headers
        .as_ref()
        .and_then(|h| h.get(chat::room::TRACEPARENT_HEADER))
        .map(|v| v.as_str().to_owned())
        .expect("a traceparent header on the room event");
    let stored: Option<String> =
        sqlx::query_scalar("SELECT traceparent FROM chat.outbox WHERE subject = $1")
            .bind(chat::service::MESSAGE_SENT)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    for traceparent in [live, stored.expect("a traceparent on the outbox row")] {
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!(parts.len(), 4, "{traceparent}");
        assert_eq!(parts[1], TRACE_ID, "the sender's trace: {traceparent}");
        assert_ne!(
            parts[2], CALLER_SPAN,
            "a span of the chat service: {traceparent}"
        );
    }
    app.stop().await;
}
