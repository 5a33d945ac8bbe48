//! The whole stack in one process: every service is started through its own `serve`, on
//! its own loopback port, and they still talk to each other over gRPC and NATS exactly as
//! separate Cloud Run services do. `make run` and the black-box tests use this.
//!
//! Payments always uses its real Paystack client. Without Paystack settings
//! ([`Tuning::paystack`] `None`, the default) the stack also runs the local checkout
//! simulator on a loopback port, with its documented development key, sending its signed
//! webhooks to the gateway's `/webhooks/paystack` like Paystack would.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rentory_auth::{SigningKeyPair, TokenSettings};
use rentory_checkout_simulator::{DEV_SECRET_KEY, SimulatorConfig};
use rentory_runtime::grpc::PeerAuth;
use rentory_runtime::{CancellationToken, grpc};
use rentory_storage::LocalLinks;
use secrecy::SecretString;
use tokio::task::JoinSet;
use url::Url;

/// The gateway's rate limits, for [`Tuning::rate_limits`], and its Socket.IO limits, for
/// [`Tuning::socket`].
pub use gateway::{Limit, RateLimits, SocketSettings};

/// The secrets a deployment keeps in Secret Manager; locally they are generated once and
/// kept under `.local/` (see `main.rs`) or made fresh per test.
pub struct Secrets {
    pub jwt_private_key: SecretString,
    pub pepper: SecretString,
    pub file_url_secret: SecretString,
}

impl Secrets {
    pub fn generate() -> Result<Self, StackError> {
        let keys = SigningKeyPair::generate()?;
        Ok(Self {
            jwt_private_key: keys.private_pem,
            pepper: SecretString::from(random_hex(32)),
            file_url_secret: SecretString::from(random_hex(32)),
        })
    }
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut buf);
    hex::encode(buf)
}

/// Where payments finds Paystack (or any Paystack-compatible server) and its key.
#[derive(Clone)]
pub struct PaystackSettings {
    pub base_url: Url,
    pub secret_key: SecretString,
}

impl std::fmt::Debug for PaystackSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaystackSettings")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// Knobs tests turn (short TTLs, fast retries); `Default` is what `make run` uses.
#[derive(Debug, Clone)]
pub struct Tuning {
    pub tokens: TokenSettings,
    pub lockout: identity::LockoutPolicy,
    pub spray: identity::SprayPolicy,
    pub signed_url_ttl: Duration,
    /// Gemini for the AI orchestrator; `None` runs the offline provider.
    pub gemini: Option<ai_orchestrator::GeminiConfig>,
    pub ai_daily_calls: u32,
    /// Prefix of the orchestrator's Redis keys (budgets, photo cache): tests isolate theirs.
    pub ai_redis_prefix: String,
    pub face_match_max_attempts: u32,
    pub face_match_backoff: Duration,
    pub max_upload_bytes: usize,
    /// The gateway's per-client limits and its Redis key prefix. Stacks sharing a Redis and a
    /// prefix share their budgets: tests give each stack its own prefix.
    pub rate_limits: RateLimits,
    /// Nearest listings ranked per discovery window.
    pub discover_window: u32,
    /// Paystack for payments; `None` runs the local checkout simulator instead.
    pub paystack: Option<PaystackSettings>,
    /// How often payments sweeps pending transactions and unprocessed webhooks.
    pub payments_reconcile_interval: Duration,
    /// The gateway's Socket.IO limits (event budget, payload cap, revocation checks).
    pub socket: SocketSettings,
    /// How long into a Redis outage the gateway's revocation checks fail open.
    pub redis_outage_grace: Duration,
    /// How services prove themselves to each other. One process on loopback needs nothing
    /// (`None`); a test may turn on Cloud Run's ID tokens against a fake metadata server.
    pub peer_auth: PeerAuth,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            tokens: TokenSettings::default(),
            lockout: identity::LockoutPolicy::default(),
            spray: identity::SprayPolicy::default(),
            signed_url_ttl: Duration::from_secs(60),
            gemini: None,
            ai_daily_calls: ai_orchestrator::DEFAULT_DAILY_CALLS,
            ai_redis_prefix: "rentory:ai".to_owned(),
            face_match_max_attempts: 6,
            face_match_backoff: Duration::from_secs(2),
            max_upload_bytes: 5 * 1024 * 1024,
            rate_limits: RateLimits::default(),
            discover_window: listings::DEFAULT_DISCOVER_WINDOW,
            paystack: None,
            payments_reconcile_interval: Duration::from_secs(30),
            socket: SocketSettings::default(),
            redis_outage_grace: gateway::DEFAULT_REDIS_OUTAGE_GRACE,
            peer_auth: PeerAuth::None,
        }
    }
}

pub struct StackOptions {
    /// One database; each service migrates and uses its own schema in it.
    pub database_url: SecretString,
    pub redis_url: String,
    pub nats_url: String,
    /// Where the gateway listens (`127.0.0.1:0` in tests).
    pub gateway_addr: SocketAddr,
    /// The local private KYC bucket lives here.
    pub data_dir: PathBuf,
    pub secrets: Secrets,
    pub tuning: Tuning,
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Key(#[from] rentory_auth::KeyError),
    #[error(transparent)]
    Grpc(#[from] grpc::ServeError),
    #[error("invalid URL: {0}")]
    Url(String),
    #[error(transparent)]
    Config(#[from] rentory_runtime::config::ConfigError),
    #[error("could not start a gateway instance: {0}")]
    Instance(#[source] std::io::Error),
    #[error("could not prepare {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A started stack. Dropping it does not stop it; call [`RunningStack::stop`].
pub struct RunningStack {
    pub gateway_url: String,
    pub identity_addr: SocketAddr,
    pub kyc_addr: SocketAddr,
    pub ai_addr: SocketAddr,
    pub listings_addr: SocketAddr,
    pub payments_addr: SocketAddr,
    /// The local checkout simulator's base URL, when it runs (no Paystack settings).
    pub checkout_url: Option<String>,
    pub chat_addr: SocketAddr,
    pub lease_addr: SocketAddr,
    /// The first gateway's settings, for more instances of it ([`RunningStack::start_gateway`]).
    gateway_config: gateway::Config,
    shutdown: CancellationToken,
    tasks: JoinSet<(&'static str, Result<(), String>)>,
}

impl RunningStack {
    /// Cancels every service, lets in-flight requests finish, and reports the first failure.
    pub async fn stop(mut self) -> Result<(), String> {
        self.shutdown.cancel();
        let mut first_error = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok((_, Ok(()))) => {}
                Ok((name, Err(e))) if first_error.is_ok() => {
                    first_error = Err(format!("{name}: {e}"))
                }
                Err(e) if first_error.is_ok() => first_error = Err(e.to_string()),
                _ => {}
            }
        }
        first_error
    }

    /// Resolves when any service stops on its own (a crash); `make run` exits then.
    pub async fn wait_for_exit(&mut self) -> Option<(&'static str, Result<(), String>)> {
        self.tasks.join_next().await.and_then(Result::ok)
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Starts another gateway instance on `addr` (`127.0.0.1:0` for any port) in front of the
    /// same services, Redis and NATS, as a second Cloud Run instance would be; answers its
    /// URL. Chat rooms span instances through NATS. It stops with the stack.
    pub async fn start_gateway(&mut self, addr: SocketAddr) -> Result<String, StackError> {
        let listener = grpc::bind(addr).await?;
        let addr = local_addr(&listener)?;
        let config = gateway::Config {
            port: addr.port(),
            ..self.gateway_config.clone()
        };
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            (
                "gateway",
                gateway::serve(config, listener, shutdown)
                    .await
                    .map_err(|e| rentory_runtime::error_chain(&e)),
            )
        });
        Ok(format!("http://{addr}"))
    }
}

impl RunningStack {
    /// Starts a gateway instance that can be killed alone, abruptly, as a crashed Cloud Run
    /// instance is: it runs on a Tokio runtime of its own, and [`GatewayInstance::kill`]
    /// drops that runtime with every task on it (the listener, each connection, each
    /// socket, the NATS and Redis clients), so its clients see their connections reset with
    /// no goodbye and no drain. The stack's shutdown does not reach it; dropping it kills it.
    pub fn start_killable_gateway(&self, addr: SocketAddr) -> Result<GatewayInstance, StackError> {
        let listener = std::net::TcpListener::bind(addr).map_err(StackError::Instance)?;
        listener
            .set_nonblocking(true)
            .map_err(StackError::Instance)?;
        let addr = listener.local_addr().map_err(StackError::Instance)?;
        let config = gateway::Config {
            port: addr.port(),
            ..self.gateway_config.clone()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("killable-gateway")
            .enable_all()
            .build()
            .map_err(StackError::Instance)?;
        // Never cancelled: a graceful shutdown would tell the clients to go first.
        let token = CancellationToken::new();
        runtime.spawn(async move {
            // Registered with this runtime's reactor, so it dies with the runtime.
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::error!(%error, "killable gateway: cannot adopt its listener");
                    return;
                }
            };
            if let Err(error) = gateway::serve(config, listener, token).await {
                tracing::error!(
                    error = rentory_runtime::error_chain(&error),
                    "killable gateway stopped"
                );
            }
        });
        Ok(GatewayInstance {
            url: format!("http://{addr}"),
            runtime: Some(runtime),
        })
    }
}

/// A gateway instance from [`RunningStack::start_killable_gateway`].
pub struct GatewayInstance {
    pub url: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl GatewayInstance {
    /// Kills the instance at once: every task of its runtime is dropped without running to
    /// completion, which closes every socket it holds.
    pub fn kill(mut self) {
        self.kill_now();
    }

    fn kill_now(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Not `drop`: that blocks, which a Tokio context forbids.
            runtime.shutdown_background();
        }
    }
}

impl Drop for GatewayInstance {
    fn drop(&mut self) {
        self.kill_now();
    }
}

pub async fn start(options: StackOptions) -> Result<RunningStack, StackError> {
    let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
    // Bind every listener first, so each service knows the others' addresses before any
    // of them starts.
    let identity_listener = grpc::bind(loopback).await?;
    let kyc_listener = grpc::bind(loopback).await?;
    let ai_listener = grpc::bind(loopback).await?;
    let listings_listener = grpc::bind(loopback).await?;
    let payments_listener = grpc::bind(loopback).await?;
    let chat_listener = grpc::bind(loopback).await?;
    let lease_listener = grpc::bind(loopback).await?;
    let gateway_listener = grpc::bind(options.gateway_addr).await?;
    let identity_addr = local_addr(&identity_listener)?;
    let kyc_addr = local_addr(&kyc_listener)?;
    let ai_addr = local_addr(&ai_listener)?;
    let listings_addr = local_addr(&listings_listener)?;
    let payments_addr = local_addr(&payments_listener)?;
    let chat_addr = local_addr(&chat_listener)?;
    let lease_addr = local_addr(&lease_listener)?;
    let gateway_addr = local_addr(&gateway_listener)?;
    let gateway_url = format!("http://{gateway_addr}");
    let url = |text: &str| Url::parse(text).map_err(|e| StackError::Url(format!("{text}: {e}")));
    // No Paystack settings: the simulator stands in, reached by payments' real client.
    let simulator = match &options.tuning.paystack {
        Some(_) => None,
        None => {
            let listener = grpc::bind(loopback).await?;
            let public_url = url(&format!("http://{}", local_addr(&listener)?))?;
            let config = SimulatorConfig {
                secret_key: SecretString::from(DEV_SECRET_KEY),
                webhook_url: url(&format!("{gateway_url}/webhooks/paystack"))?,
                public_url,
            };
            Some((listener, config))
        }
    };
    let paystack = match (&options.tuning.paystack, &simulator) {
        (Some(settings), _) => settings.clone(),
        (None, Some((_, config))) => PaystackSettings {
            base_url: config.public_url.clone(),
            secret_key: config.secret_key.clone(),
        },
        (None, None) => return Err(StackError::Url("no Paystack and no simulator".into())),
    };
    let checkout_url = simulator
        .as_ref()
        .map(|(_, config)| config.public_url.as_str().trim_end_matches('/').to_owned());

    let keys = SigningKeyPair::from_private_pem(options.secrets.jwt_private_key.clone())?;
    let kyc_dir = options.data_dir.join("kyc");
    std::fs::create_dir_all(&kyc_dir).map_err(|source| StackError::DataDir {
        path: kyc_dir.clone(),
        source,
    })?;
    let kyc_dir = kyc_dir
        .canonicalize()
        .map_err(|source| StackError::DataDir {
            path: kyc_dir.clone(),
            source,
        })?;
    let kyc_bucket_url = format!("file://{}", kyc_dir.display());
    let photos_dir = data_dir(&options.data_dir.join("photos"))?;
    let photos_bucket_url = format!("file://{}", photos_dir.display());
    let photos_public_url = listings::public_base(&format!("{gateway_url}/photos/"))
        .map_err(|e| StackError::Url(e.to_string()))?;
    let links = || {
        LocalLinks::new(&gateway_url, &options.secrets.file_url_secret)
            .map_err(|e| StackError::Url(e.to_string()))
    };
    let t = &options.tuning;

    let identity_config = identity::Config {
        database_url: options.database_url.clone(),
        redis_url: options.redis_url.clone(),
        nats_url: options.nats_url.clone(),
        jwt_private_key: options.secrets.jwt_private_key.clone(),
        tokens: t.tokens.clone(),
        refresh_ttl: Duration::from_secs(30 * 24 * 3600),
        pepper: options.secrets.pepper.clone(),
        hashing_concurrency: 2,
        lockout: t.lockout,
        spray: t.spray,
        db_max_connections: 10,
    };
    let kyc_config = kyc::Config {
        database_url: options.database_url.clone(),
        database_max_connections: 10,
        nats_url: options.nats_url.clone(),
        jwt_public_key: keys.public_pem.clone(),
        token_settings: t.tokens.clone(),
        bucket_url: kyc_bucket_url.clone(),
        local_links: Some(links()?),
        signed_url_ttl: t.signed_url_ttl,
        ai_url: Some(format!("http://{ai_addr}")),
        face_match_max_attempts: t.face_match_max_attempts,
        face_match_backoff: t.face_match_backoff,
        max_upload_bytes: t.max_upload_bytes,
        port: kyc_addr.port(),
        peer_auth: t.peer_auth.clone(),
    };
    let ai_config = ai_orchestrator::Config {
        gemini: t.gemini.clone(),
        daily_calls_per_user: t.ai_daily_calls,
        redis_prefix: t.ai_redis_prefix.clone(),
        token_settings: t.tokens.clone(),
        port: ai_addr.port(),
        ..ai_orchestrator::Config::local(
            options.database_url.clone(),
            options.redis_url.clone(),
            options.nats_url.clone(),
            keys.public_pem.clone(),
        )
    };
    let listings_config = listings::Config {
        token_settings: t.tokens.clone(),
        max_photo_bytes: t.max_upload_bytes,
        discover_window: t.discover_window,
        peer_auth: t.peer_auth.clone(),
        port: listings_addr.port(),
        ..listings::Config::local(
            options.database_url.clone(),
            options.nats_url.clone(),
            keys.public_pem.clone(),
            format!("http://{identity_addr}"),
            format!("http://{ai_addr}"),
            photos_bucket_url.clone(),
            photos_public_url.clone(),
        )
    };
    let payments_config = payments::Config {
        token_settings: t.tokens.clone(),
        reconcile_interval: t.payments_reconcile_interval,
        lease_url: format!("http://{lease_addr}"),
        peer_auth: t.peer_auth.clone(),
        port: payments_addr.port(),
        ..payments::Config::local(
            options.database_url.clone(),
            options.nats_url.clone(),
            keys.public_pem.clone(),
            paystack.base_url,
            paystack.secret_key,
            format!("http://{identity_addr}"),
            format!("http://{listings_addr}"),
            &gateway_url,
        )?
    };
    let chat_config = chat::Config {
        token_settings: t.tokens.clone(),
        peer_auth: t.peer_auth.clone(),
        port: chat_addr.port(),
        ..chat::Config::local(
            options.database_url.clone(),
            options.nats_url.clone(),
            keys.public_pem.clone(),
            format!("http://{listings_addr}"),
            format!("http://{identity_addr}"),
        )
    };
    let lease_config = lease::Config {
        token_settings: t.tokens.clone(),
        peer_auth: t.peer_auth.clone(),
        port: lease_addr.port(),
        ..lease::Config::local(
            options.database_url.clone(),
            options.nats_url.clone(),
            keys.public_pem.clone(),
            format!("http://{listings_addr}"),
            format!("http://{identity_addr}"),
            format!("http://{chat_addr}"),
            format!("http://{ai_addr}"),
        )
    };
    let gateway_config = gateway::Config {
        port: gateway_addr.port(),
        redis_url: SecretString::from(options.redis_url.clone()),
        identity_url: format!("http://{identity_addr}"),
        kyc_url: format!("http://{kyc_addr}"),
        ai_url: format!("http://{ai_addr}"),
        listings_url: format!("http://{listings_addr}"),
        payments_url: format!("http://{payments_addr}"),
        chat_url: format!("http://{chat_addr}"),
        lease_url: format!("http://{lease_addr}"),
        peer_auth: t.peer_auth.clone(),
        nats_url: options.nats_url.clone(),
        socket: t.socket,
        photos: Some(gateway::LocalPhotos {
            bucket_url: photos_bucket_url,
            public_base: photos_public_url.clone(),
        }),
        jwt_public_key: keys.public_pem.clone(),
        jwt_issuer: t.tokens.issuer.clone(),
        jwt_audience: t.tokens.audience.clone(),
        trusted_proxy_hops: 0,
        rate_limits: t.rate_limits.clone(),
        max_upload_bytes: t.max_upload_bytes,
        max_json_bytes: 64 * 1024,
        files: Some(gateway::LocalFiles {
            bucket_url: kyc_bucket_url,
            links: links()?,
        }),
        cors_origins: Vec::new(),
        request_timeout: Duration::from_secs(30),
        redis_outage_grace: t.redis_outage_grace,
    };

    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let s = shutdown.clone();
    tasks.spawn(async move {
        (
            "identity",
            identity::serve(identity_config, identity_listener, s)
                .await
                .map_err(|e| rentory_runtime::error_chain(&e)),
        )
    });
    let s = shutdown.clone();
    tasks.spawn(async move {
        (
            "kyc",
            kyc::serve(kyc_config, kyc_listener, s)
                .await
                .map_err(|e| rentory_runtime::error_chain(&e)),
        )
    });
    let s = shutdown.clone();
    tasks.spawn(async move {
        (
            "ai-orchestrator",
            ai_orchestrator::serve(ai_config, ai_listener, s)
                .await
                .map_err(|e| rentory_runtime::error_chain(&e)),
        )
    });
    let s = shutdown.clone();
    tasks.spawn(async move {
        (
            "listings",
            listings::serve(listings_config, listings_listener, s)
                .await
                .map_err(|e| rentory_runtime::error_chain(&e)),
        )
    });
    let s = shutdown.clone();
    tasks.spawn(async move {
        (
            "payments",
            payments::serve(payments_config, payments_listener, s)
                .await
                .map_err(|e| rentory_runtime::error_chain(&e)),
        )
    });
    let s = shutdown.clone();
    tasks.spawn(async move {
        (
            "chat",
            chat::serve(chat_config, chat_listener, s)
                .await
                .map_err(|e| rentory_runtime::error_chain(&e)),
        )
    });
    let s = shutdown.clone();
    tasks.spawn(async move {
        (
            "lease",
            lease::serve(lease_config, lease_listener, s)
                .await
                .map_err(|e| rentory_runtime::error_chain(&e)),
        )
    });
    if let Some((listener, config)) = simulator {
        let s = shutdown.clone();
        tasks.spawn(async move {
            (
                "checkout-simulator",
                rentory_checkout_simulator::serve(config, listener, s)
                    .await
                    .map_err(|e| rentory_runtime::error_chain(&e)),
            )
        });
    }
    let s = shutdown.clone();
    let first_gateway = gateway_config.clone();
    tasks.spawn(async move {
        (
            "gateway",
            gateway::serve(first_gateway, gateway_listener, s)
                .await
                .map_err(|e| rentory_runtime::error_chain(&e)),
        )
    });
    Ok(RunningStack {
        gateway_url,
        identity_addr,
        kyc_addr,
        ai_addr,
        listings_addr,
        payments_addr,
        checkout_url,
        chat_addr,
        lease_addr,
        gateway_config,
        shutdown,
        tasks,
    })
}

/// Creates `dir` if needed and returns its absolute path (file:// URLs need one).
fn data_dir(dir: &std::path::Path) -> Result<PathBuf, StackError> {
    let failed = |source| StackError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    dir.canonicalize().map_err(failed)
}

fn local_addr(listener: &tokio::net::TcpListener) -> Result<SocketAddr, StackError> {
    listener
        .local_addr()
        .map_err(|e| StackError::Url(format!("listener has no address: {e}")))
}
