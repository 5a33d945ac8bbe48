//! `make bench` (third part): live chat delivery over Socket.IO, from the moment a message
//! was due to be sent to the moment each other member of its room receives it, at a steady
//! load, beside two floors measured in the same run at the same load:
//!
//! - `bare NATS`: every member is a core NATS subscription (on one of two connections, as
//!   members sit on one of two gateway instances) and every send a publish to its room's
//!   subject: the fan-out hop alone;
//! - `bare Socket.IO echo`: a socketioxide server in this process whose `message` handler
//!   acks and emits to the room at once (no token check, no gRPC, no Postgres, no NATS): the
//!   client protocol alone;
//! - `chat`: the real path of a message (API.md, Socket.IO): socket -> gateway (token,
//!   rate limit) -> chat service (gRPC; stored in Postgres with its outbox event) -> core NATS
//!   `chat.session.<id>` -> both gateway instances -> the room's sockets. Members of each room
//!   are spread over two gateway instances of one stack, so every message crosses NATS.
//!
//! Open loop: client `i` of `n` sends its `k`-th message at `t0 + i/rate + k*n/rate`
//! whatever happened before, and latency is measured from that intended time, so a stall
//! (in the client, the servers or the machine) shows up in the figures instead of slowing
//! the senders down. The clients are `rust_socketio` (a Socket.IO v4 client we did not write)
//! in this process; the stack runs in this process too, so clients and servers share the
//! machine's two cores, as the targets assume.
//!
//! `RENTORY_BENCH_CHAT_CLIENTS` (default 1,000) and `RENTORY_BENCH_CHAT_RATE` (messages per
//! second over all clients, default 1,000) change the load. Targets (issue 6): p50 < 2 ms,
//! p99 < 10 ms, p99.9 < 50 ms, nothing lost, and chat p99 within 10x of the bare echo's.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a broken bench should stop loudly

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::serve::ListenerExt;
use futures::{FutureExt, StreamExt, TryStreamExt};
use rentory_auth::{Role, StaffPosition, TokenIssuer, UserStatus};
use rentory_blackbox::TestStack;
use rentory_runtime::CancellationToken;
use rentory_stack::Limit;
use rust_socketio::Payload;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use secrecy::SecretString;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::ConnectHandler;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

const DEFAULT_CLIENTS: usize = 1_000;
const DEFAULT_RATE: f64 = 1_000.0;
/// Sent but not measured: connections settle, caches and pools warm up.
const WARM_UP: Duration = Duration::from_secs(5);
const MEASURE: Duration = Duration::from_secs(20);
/// After the last send, how long deliveries may still arrive before they count as lost.
const DRAIN: Duration = Duration::from_secs(5);
const CONNECT_CONCURRENCY: usize = 16;
const NAMESPACE: &str = "/chat";

/// One client of the load: the server it talks to, who it is, and its room.
#[derive(Clone)]
struct Member {
    url: String,
    token: String,
    session_id: String,
    /// 0 or 1: which of the two instances (gateway or NATS connection) it uses.
    instance: usize,
    room: usize,
}

/// Who sends when. Every member sends `rate / members` messages per second, spread evenly.
struct Plan {
    members: Vec<Member>,
    room_sizes: Vec<usize>,
    rate: f64,
}

impl Plan {
    fn period(&self) -> Duration {
        Duration::from_secs_f64(self.members.len() as f64 / self.rate)
    }

    fn offset(&self, client: usize) -> Duration {
        Duration::from_secs_f64(client as f64 / self.rate)
    }

    fn intended(&self, t0: Instant, client: usize, k: u64) -> Instant {
        t0 + self.offset(client) + self.period() * u32::try_from(k).expect("k fits u32")
    }

    fn measured(&self, t0: Instant, at: Instant) -> bool {
        at >= t0 + WARM_UP && at < t0 + WARM_UP + MEASURE
    }

    fn end(&self, t0: Instant) -> Instant {
        t0 + WARM_UP + MEASURE
    }

    fn recipients(&self, client: usize) -> u64 {
        (self.room_sizes[self.members[client].room] - 1) as u64
    }
}

/// A delivery: the sender and its message number, to whom, and when it arrived.
struct Delivery {
    sender: u32,
    k: u64,
    receiver: u32,
    at: Instant,
}

/// What one load run measured.
struct Outcome {
    name: &'static str,
    /// Delivery latencies in the measured window, microseconds, sorted.
    latencies: Vec<u32>,
    expected: u64,
    duplicates: u64,
    sent: u64,
}

impl Outcome {
    fn at(&self, quantile: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((self.latencies.len() as f64 * quantile).ceil() as usize)
            .clamp(1, self.latencies.len());
        f64::from(self.latencies[rank - 1]) / 1_000.0
    }

    fn max(&self) -> f64 {
        self.latencies
            .last()
            .map_or(f64::NAN, |us| f64::from(*us) / 1_000.0)
    }

    fn delivered(&self) -> u64 {
        self.latencies.len() as u64
    }

    fn line(&self) -> String {
        format!(
            "{:<22} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9}/{:<9} {:>5} {:>8.0}",
            self.name,
            self.at(0.50),
            self.at(0.99),
            self.at(0.999),
            self.max(),
            self.delivered(),
            self.expected,
            self.duplicates,
            self.sent as f64 / MEASURE.as_secs_f64(),
        )
    }
}

/// Turns deliveries into latencies from each message's intended send time.
async fn collect(
    plan: &Plan,
    t0: Instant,
    mut deliveries: mpsc::UnboundedReceiver<Delivery>,
    until: Instant,
) -> (Vec<u32>, u64) {
    let mut latencies = Vec::new();
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    loop {
        let next = tokio::time::timeout_at(until.into(), deliveries.recv()).await;
        let Ok(Some(d)) = next else { break };
        let intended = plan.intended(t0, d.sender as usize, d.k);
        if !plan.measured(t0, intended) {
            continue;
        }
        if !seen.insert((d.sender, d.k, d.receiver)) {
            duplicates += 1;
            continue;
        }
        let latency = d.at.saturating_duration_since(intended);
        latencies.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }
    latencies.sort_unstable();
    (latencies, duplicates)
}

/// The open loop: member `i` sends its `k`-th message through `send(i, k)` at
/// `plan.intended(t0, i, k)` whatever happened before, until the measured window ends; then
/// deliveries are collected for [`DRAIN`] more. Returns the sorted latencies, duplicates, and
/// the messages sent in the measured window with the deliveries they should make.
async fn run_schedule<F, Fut>(
    plan: Arc<Plan>,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    send: F,
) -> anyhow::Result<(Vec<u32>, u64, u64, u64)>
where
    F: Fn(usize, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let t0 = Instant::now() + Duration::from_millis(500);
    let sent = Arc::new(AtomicU64::new(0));
    let expected = Arc::new(AtomicU64::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for i in 0..plan.members.len() {
        let (plan, sent, expected, send) =
            (plan.clone(), sent.clone(), expected.clone(), send.clone());
        senders.spawn(async move {
            let mut k = 0u64;
            loop {
                let at = plan.intended(t0, i, k);
                if at >= plan.end(t0) {
                    break;
                }
                tokio::time::sleep_until(at.into()).await;
                if send(i, k).await && plan.measured(t0, at) {
                    sent.fetch_add(1, Ordering::Relaxed);
                    expected.fetch_add(plan.recipients(i), Ordering::Relaxed);
                }
                k += 1;
            }
        });
    }
    let collector = {
        let plan = plan.clone();
        tokio::spawn(async move { collect(&plan, t0, deliveries, plan.end(t0) + DRAIN).await })
    };
    while let Some(joined) = senders.join_next().await {
        joined?;
    }
    let (latencies, duplicates) = collector.await?;
    Ok((
        latencies,
        duplicates,
        sent.load(Ordering::Relaxed),
        expected.load(Ordering::Relaxed),
    ))
}

fn client_id(sender: usize, k: u64) -> String {
    format!("b{sender}k{k}")
}

fn parse_client_id(id: &str) -> Option<(u32, u64)> {
    let (sender, k) = id.strip_prefix('b')?.split_once('k')?;
    Some((sender.parse().ok()?, k.parse().ok()?))
}

// ---------------------------------------------------------------- Socket.IO load

/// Connects one member, joins its room and returns the client. Deliveries of others'
/// messages go to `deliveries` once `t0` is set.
async fn connect_member(
    index: usize,
    member: Member,
    deliveries: mpsc::UnboundedSender<Delivery>,
) -> anyhow::Result<Client> {
    let on_message = move |payload: Payload, _: Client| {
        let deliveries = deliveries.clone();
        async move {
            let at = Instant::now();
            let Payload::Text(values) = payload else {
                return;
            };
            let Some(id) = values.first().and_then(|v| v["client_id"].as_str()) else {
                return;
            };
            if let Some((sender, k)) = parse_client_id(id)
                && sender as usize != index
            {
                let _ = deliveries.send(Delivery {
                    sender,
                    k,
                    receiver: index as u32,
                    at,
                });
            }
        }
        .boxed()
    };
    // Events sent before the server accepts the namespace are dropped: wait for it.
    let (connected_tx, connected_rx) = oneshot::channel::<Result<(), String>>();
    let connected_tx = Arc::new(Mutex::new(Some(connected_tx)));
    let refused_tx = connected_tx.clone();
    let client = ClientBuilder::new(member.url.clone())
        .namespace(NAMESPACE)
        .auth(json!({ "token": member.token }))
        .transport_type(rust_socketio::TransportType::Websocket)
        .reconnect(false)
        .on("message", on_message)
        .on("open", move |_: Payload, _: Client| {
            let tx = connected_tx.lock().unwrap().take();
            async move {
                if let Some(tx) = tx {
                    let _ = tx.send(Ok(()));
                }
            }
            .boxed()
        })
        .on("error", move |payload: Payload, _: Client| {
            let tx = refused_tx.lock().unwrap().take();
            async move {
                if let Some(tx) = tx {
                    let _ = tx.send(Err(format!("{payload:?}")));
                }
            }
            .boxed()
        })
        .connect()
        .await
        .with_context(|| format!("client {index} could not connect to {}", member.url))?;
    tokio::time::timeout(Duration::from_secs(20), connected_rx)
        .await
        .with_context(|| format!("client {index}: the namespace was not accepted in time"))??
        .map_err(|e| anyhow::anyhow!("client {index} was refused: {e}"))?;

    let (joined_tx, joined_rx) = oneshot::channel::<Value>();
    let joined_tx = Arc::new(Mutex::new(Some(joined_tx)));
    client
        .emit_with_ack(
            "join",
            json!({ "session_id": member.session_id }),
            Duration::from_secs(20),
            move |payload: Payload, _: Client| {
                let joined_tx = joined_tx.clone();
                async move {
                    let value = match payload {
                        Payload::Text(mut values) if !values.is_empty() => values.swap_remove(0),
                        _ => Value::Null,
                    };
                    if let Some(tx) = joined_tx.lock().unwrap().take() {
                        let _ = tx.send(value);
                    }
                }
                .boxed()
            },
        )
        .await?;
    let ack = tokio::time::timeout(Duration::from_secs(20), joined_rx)
        .await
        .with_context(|| format!("client {index}: no join ack"))??;
    if ack.get("error").is_some() {
        bail!("client {index} could not join: {ack}");
    }
    Ok(client)
}

async fn socket_load(name: &'static str, plan: Arc<Plan>) -> anyhow::Result<Outcome> {
    let (tx, rx) = mpsc::unbounded_channel();
    let connecting = Instant::now();
    let clients: Vec<Client> =
        futures::stream::iter(plan.members.iter().cloned().enumerate().map(|(i, m)| {
            let tx = tx.clone();
            async move { connect_member(i, m, tx).await }
        }))
        .buffered(CONNECT_CONCURRENCY)
        .try_collect()
        .await?;
    drop(tx);
    println!(
        "  {name}: {} clients connected and joined in {:.1} s",
        clients.len(),
        connecting.elapsed().as_secs_f64()
    );

    let clients = Arc::new(clients);
    let senders = clients.clone();
    let sessions = plan.clone();
    let (latencies, duplicates, sent, expected) = run_schedule(plan, rx, move |i, k| {
        let client = senders[i].clone();
        let message = json!({
            "session_id": sessions.members[i].session_id,
            "content": "bench message",
            "client_id": client_id(i, k),
        });
        async move { client.emit("message", message).await.is_ok() }
    })
    .await?;
    for client in clients.iter() {
        let _ = client.disconnect().await;
    }
    Ok(Outcome {
        name,
        latencies,
        expected,
        duplicates,
        sent,
    })
}

// ---------------------------------------------------------------- bare Socket.IO echo

/// The protocol's floor: join a room, and a `message` acked and emitted to the room at
/// once, with the fields the load reads.
async fn start_echo_server(shutdown: CancellationToken) -> anyhow::Result<String> {
    let (layer, io) = SocketIo::builder().build_layer();
    // socketioxide sends CONNECT before it spawns the connect handler, so events a client
    // sends right after CONNECT can arrive before handlers registered there exist (and are
    // dropped). A connect middleware runs before CONNECT is sent: register them in it.
    let register = async |socket: SocketRef| -> Result<(), std::convert::Infallible> {
        socket.on(
            "join",
            async |socket: SocketRef, Data(join): Data<Value>, ack: AckSender| {
                let Some(room) = join["session_id"].as_str() else {
                    let _ = ack.send(&json!({ "error": { "status": 400 } }));
                    return;
                };
                socket.join(room.to_owned());
                let _ = ack.send(&json!({ "id": room }));
            },
        );
        socket.on(
            "message",
            async |socket: SocketRef, Data(message): Data<Value>, ack: AckSender| {
                let Some(room) = message["session_id"].as_str().map(str::to_owned) else {
                    return;
                };
                let stored = json!({
                    "id": Uuid::now_v7(),
                    "session_id": room,
                    "sender_id": socket.id.to_string(),
                    "content": message["content"],
                    "client_id": message["client_id"],
                    "is_read": false,
                    "is_admin_intervention": false,
                });
                let _ = ack.send(&stored);
                let _ = socket.within(room).emit("message", &stored).await;
            },
        );
        Ok(())
    };
    io.ns(NAMESPACE, (async |_: SocketRef| {}).with(register));
    let app = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    // As the gateway does: an ack and a room emit are two small writes in a row, and Nagle
    // would hold the second until the client's delayed ACK (~40 ms).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
    });
    Ok(format!("http://{addr}"))
}

// ---------------------------------------------------------------- bare NATS

async fn nats_load(nats_url: &str, plan: Arc<Plan>) -> anyhow::Result<Outcome> {
    let connections = [
        async_nats::connect(nats_url).await?,
        async_nats::connect(nats_url).await?,
    ];
    let (tx, rx) = mpsc::unbounded_channel();
    let mut receivers = tokio::task::JoinSet::new();
    for (i, member) in plan.members.iter().enumerate() {
        let mut subscription = connections[member.instance]
            .subscribe(format!("bench.room.{}", member.room))
            .await?;
        let tx = tx.clone();
        receivers.spawn(async move {
            while let Some(message) = subscription.next().await {
                let at = Instant::now();
                let Ok(text) = std::str::from_utf8(&message.payload) else {
                    continue;
                };
                if let Some((sender, k)) = parse_client_id(text)
                    && sender as usize != i
                {
                    let _ = tx.send(Delivery {
                        sender,
                        k,
                        receiver: i as u32,
                        at,
                    });
                }
            }
        });
    }
    drop(tx);
    for connection in &connections {
        connection.flush().await?;
    }

    let publishers: Arc<Vec<(async_nats::Client, String)>> = Arc::new(
        plan.members
            .iter()
            .map(|m| {
                (
                    connections[m.instance].clone(),
                    format!("bench.room.{}", m.room),
                )
            })
            .collect(),
    );
    let (latencies, duplicates, sent, expected) = run_schedule(plan, rx, move |i, k| {
        let (connection, subject) = publishers[i].clone();
        async move {
            connection
                .publish(subject, client_id(i, k).into())
                .await
                .is_ok()
        }
    })
    .await?;
    receivers.abort_all();
    Ok(Outcome {
        name: "bare NATS pub->sub",
        latencies,
        expected,
        duplicates,
        sent,
    })
}

// ---------------------------------------------------------------- rooms

/// Rooms of 2 and 3 alternately until `clients` members: a tenant and the landlord of a
/// seeded listing, and in every other room a SUPPORT_LEAD moderating. Members of a room sit
/// on alternate instances, so every room spans both.
fn room_sizes(clients: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut left = clients;
    while left > 0 {
        let size = if sizes.len() % 2 == 0 { 2 } else { 3 };
        let size = if left - size.min(left) == 1 {
            // Never leave a room of one.
            left
        } else {
            size.min(left)
        };
        sizes.push(size);
        left -= size;
    }
    sizes
}

/// The same rooms for the baselines: no accounts, session ids are room names.
fn bare_plan(urls: [&str; 2], clients: usize, rate: f64) -> Plan {
    let sizes = room_sizes(clients);
    let mut members = Vec::new();
    for (room, size) in sizes.iter().enumerate() {
        for seat in 0..*size {
            let instance = (room + seat) % 2;
            members.push(Member {
                url: urls[instance].to_owned(),
                token: String::new(),
                session_id: format!("room-{room}"),
                instance,
                room,
            });
        }
    }
    Plan {
        members,
        room_sizes: sizes,
        rate,
    }
}

/// Real chat sessions through the gateway: tokens minted with the stack's signing key for
/// ACTIVE users (registration's argon2 is not what this measures), each tenant opening a
/// session about a seeded listing whose landlord is the second member.
async fn chat_plan(
    stack: &TestStack,
    gateways: [&str; 2],
    clients: usize,
    rate: f64,
) -> anyhow::Result<Plan> {
    let sizes = room_sizes(clients);
    let url = SecretString::from(stack.database_url.clone());
    let pool = rentory_runtime::db::connect_postgis(&url, listings::SCHEMA, 4).await?;
    listings::seed::seed(
        &pool,
        &listings::seed::SeedOptions {
            count: sizes.len(),
            landlords: sizes.len(),
            seed: 6,
        },
    )
    .await?;
    let listings: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, landlord_id FROM listings.properties WHERE status = 'ACTIVE' ORDER BY id",
    )
    .fetch_all(&pool)
    .await?;
    if listings.len() < sizes.len() {
        bail!(
            "seeded {} listings for {} rooms",
            listings.len(),
            sizes.len()
        );
    }
    let issuer = TokenIssuer::new(&stack.jwt_private_key, stack.tuning.tokens.clone())?;
    let token =
        |user: Uuid, role: Role, position: Option<StaffPosition>| -> anyhow::Result<String> {
            Ok(issuer
                .issue(
                    user,
                    role,
                    UserStatus::Active,
                    position,
                    Uuid::now_v7(),
                    time::OffsetDateTime::now_utc(),
                )?
                .token)
        };
    let opened = futures::stream::iter(sizes.iter().enumerate().map(|(room, size)| {
        let (property, landlord) = listings[room];
        let tenant = Uuid::now_v7();
        async move {
            let tenant_token = token(tenant, Role::Tenant, None)?;
            let (status, session) = stack
                .post(
                    "/chat/sessions",
                    &tenant_token,
                    json!({ "property_id": property }),
                )
                .await?;
            if status != 200 && status != 201 {
                bail!("opening a session answered {status}: {session}");
            }
            let session_id = session["id"]
                .as_str()
                .with_context(|| format!("no session id: {session}"))?
                .to_owned();
            let mut tokens = vec![tenant_token, token(landlord, Role::Landlord, None)?];
            if *size == 3 {
                tokens.push(token(
                    Uuid::now_v7(),
                    Role::Staff,
                    Some(StaffPosition::SupportLead),
                )?);
            }
            Ok::<_, anyhow::Error>((room, session_id, tokens))
        }
    }))
    .buffered(8)
    .try_collect::<Vec<_>>()
    .await?;
    let mut members = Vec::new();
    for (room, session_id, tokens) in opened {
        for (seat, token) in tokens.into_iter().enumerate() {
            let instance = (room + seat) % 2;
            members.push(Member {
                url: gateways[instance].to_owned(),
                token,
                session_id: session_id.clone(),
                instance,
                room,
            });
        }
    }
    pool.close().await;
    Ok(Plan {
        members,
        room_sizes: sizes,
        rate,
    })
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(raw) => raw
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}: not a number: {raw}")),
        Err(_) => Ok(default),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let clients: usize = setting("RENTORY_BENCH_CHAT_CLIENTS", DEFAULT_CLIENTS)?;
    let rate: f64 = setting("RENTORY_BENCH_CHAT_RATE", DEFAULT_RATE)?;
    if clients < 2 || !rate.is_finite() || rate <= 0.0 {
        bail!("need at least 2 clients and a positive rate");
    }

    let mut stack = TestStack::start_with(|t| {
        // Every REST call and socket event charges the per-user budget: far above the run.
        t.rate_limits.api = Some(Limit::new(u32::MAX / 2, 60));
    })
    .await?;
    let second_gateway = stack.start_gateway().await?;
    stack.wait_live(&stack.base).await?;
    let gateways = [stack.base.as_str(), second_gateway.as_str()];
    let shutdown = CancellationToken::new();
    let echo = start_echo_server(shutdown.clone()).await?;

    println!(
        "chat delivery: {clients} clients in rooms of 2-3 over two instances, {rate:.0} \
         messages/s in all, {} s measured after {} s of warm-up; latency from each \
         message's intended send time to its receipt by each other member (ms)",
        MEASURE.as_secs(),
        WARM_UP.as_secs()
    );
    let nats = nats_load(
        &stack.nats.url(),
        Arc::new(bare_plan(["", ""], clients, rate)),
    )
    .await?;
    let bare = socket_load(
        "bare Socket.IO echo",
        Arc::new(bare_plan([&echo, &echo], clients, rate)),
    )
    .await?;
    let plan = Arc::new(chat_plan(&stack, gateways, clients, rate).await?);
    let chat = socket_load("chat (2 gateways)", plan).await?;

    println!(
        "{:<22} {:>8} {:>8} {:>8} {:>8} {:>19} {:>5} {:>8}",
        "", "p50", "p99", "p99.9", "max", "delivered/expected", "dup", "sent/s"
    );
    for outcome in [&nats, &bare, &chat] {
        println!("{}", outcome.line());
    }
    let lost = chat.expected.saturating_sub(chat.delivered());
    println!(
        "chat p99 / bare echo p99 = {:.1}x (target <= 10x); chat p50 {:.2} ms (< 2), p99 {:.2} \
         ms (< 10), p99.9 {:.2} ms (< 50), lost {lost} (0)",
        chat.at(0.99) / bare.at(0.99),
        chat.at(0.5),
        chat.at(0.99),
        chat.at(0.999),
    );
    shutdown.cancel();
    stack.stop().await?;
    Ok(())
}
