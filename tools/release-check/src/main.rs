//! `make release-check`: starts each release binary alone against the local Postgres, Redis
//! and NATS, as Cloud Run would (settings from the environment, a `PORT`), and measures what
//! a cold start costs: time from spawn to the manifest's startup probe answering, idle
//! memory, and how long SIGTERM takes. Each service runs twice: first on an empty database
//! (migrations run), then again (schema in place, the usual case for a new instance).
//! Exits non-zero when a binary is missing, exits early or is not ready in time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use rentory_auth::SigningKeyPair;
use rentory_release_check::manifest::Manifest;
use rentory_release_check::services::{SERVICES, Service};
use rentory_release_check::{settings, workspace_root};
use secrecy::ExposeSecret;
use sqlx::Connection;
use tokio::process::{Child, Command};

#[derive(Parser)]
#[command(about = "Start each release binary alone; report time to ready and idle memory")]
struct Args {
    /// Where the release binaries are (`$CARGO_TARGET_DIR/release`).
    #[arg(long)]
    bin_dir: PathBuf,
    /// A service not ready this long after spawn fails the check.
    #[arg(long, default_value_t = 20)]
    ready_timeout_secs: u64,
    /// Idle time before memory is read.
    #[arg(long, default_value_t = 1000)]
    idle_ms: u64,
    /// Only these services (default: all eight).
    services: Vec<String>,
}

/// One start of one binary.
struct Run {
    ready: Duration,
    idle_rss_kib: u64,
    stop: Duration,
}

struct Row {
    service: &'static str,
    binary_bytes: u64,
    stripped_bytes: Option<u64>,
    cold: Run,
    warm: Run,
    /// Append-only tables the app role could neither update nor un-trigger.
    refused: Option<usize>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let chosen: Vec<&'static Service> = if args.services.is_empty() {
        SERVICES.iter().collect()
    } else {
        args.services
            .iter()
            .map(|name| {
                rentory_release_check::services::by_name(name)
                    .with_context(|| format!("no service {name}"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let local = LocalSettings::create().await?;
    local.create_roles().await?;
    let timeout = Duration::from_secs(args.ready_timeout_secs);
    let idle = Duration::from_millis(args.idle_ms);

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for service in chosen {
        match check(service, &args.bin_dir, &local, timeout, idle).await {
            Ok(row) => rows.push(row),
            Err(e) => {
                eprintln!("release-check: {}: {e:#}", service.name);
                failures.push(service.name);
            }
        }
    }
    local.database.drop_database().await.ok();

    print_table(&rows);
    if !failures.is_empty() {
        bail!("not ready: {}", failures.join(", "));
    }
    Ok(())
}

async fn check(
    service: &'static Service,
    bin_dir: &Path,
    local: &LocalSettings,
    timeout: Duration,
    idle: Duration,
) -> anyhow::Result<Row> {
    let binary = bin_dir.join(service.name);
    let binary_bytes = std::fs::metadata(&binary)
        .with_context(|| format!("{} (build it with cargo build --release)", binary.display()))?
        .len();
    let stripped_bytes = stripped_size(&binary, &local.dir).await;
    check_shared_libraries(&binary).await?;
    let manifest = Manifest::load(&service.manifest_path())?;
    let probe = Probe::from_manifest(service, &manifest)?;
    let mut env = local.env_for(service)?;
    // First start as the schema's owner, which migrates (scripts/deploy's job in the cloud);
    // then deploy/sql/grants.sql; then the start every new instance makes, as the app role.
    if let Some(schema) = service.schema {
        env.insert("DATABASE_URL".into(), local.role_url(schema, "owner")?);
    }
    let cold = start_once(service, &binary, &env, &probe, local, timeout, idle, "cold").await?;
    let mut refused = None;
    if let Some(schema) = service.schema {
        local.grant(schema).await?;
        env.insert("DATABASE_URL".into(), local.role_url(schema, "app")?);
        refused = Some(local.append_only_refused(schema).await?);
    }
    let warm = start_once(service, &binary, &env, &probe, local, timeout, idle, "warm").await?;
    Ok(Row {
        service: service.name,
        binary_bytes,
        stripped_bytes,
        cold,
        warm,
        refused,
    })
}

/// The size the image's binary has: the Dockerfile builds with symbols stripped.
async fn stripped_size(binary: &Path, dir: &Path) -> Option<u64> {
    let out = dir.join(format!(
        "{}.stripped",
        binary.file_name()?.to_string_lossy()
    ));
    let status = Command::new("strip")
        .arg("--strip-all")
        .arg("-o")
        .arg(&out)
        .arg(binary)
        .status()
        .await
        .ok()?;
    let size = status
        .success()
        .then(|| std::fs::metadata(&out).ok().map(|m| m.len()))
        .flatten();
    std::fs::remove_file(&out).ok();
    size
}

/// What deploy/Dockerfile's runtime image provides: glibc (distroless base-nossl) and the
/// libgcc_s it copies in. A binary needing more would not start there.
const RUNTIME_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
];

async fn check_shared_libraries(binary: &Path) -> anyhow::Result<()> {
    let out = Command::new("objdump")
        .arg("-p")
        .arg(binary)
        .output()
        .await
        .context("running objdump (binutils)")?;
    if !out.status.success() {
        bail!("objdump -p {} failed", binary.display());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let missing: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("NEEDED"))
        .map(str::trim)
        .filter(|lib| !RUNTIME_LIBRARIES.contains(lib))
        .collect();
    if !missing.is_empty() {
        bail!(
            "needs {} which the runtime image lacks (deploy/Dockerfile)",
            missing.join(", ")
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn start_once(
    service: &Service,
    binary: &Path,
    env: &BTreeMap<String, String>,
    probe: &Probe,
    local: &LocalSettings,
    timeout: Duration,
    idle: Duration,
    label: &str,
) -> anyhow::Result<Run> {
    let port = free_port()?;
    let log_path = local.dir.join(format!("{}-{label}.log", service.name));
    let log = std::fs::File::create(&log_path)?;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs(env)
        .env("PORT", port.to_string())
        .current_dir(&local.dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawning {}", binary.display()))?;

    let ready = loop {
        if probe.answers(port).await {
            break started.elapsed();
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "{label} start exited with {status} before it was ready:\n{}",
                tail(&log_path)
            );
        }
        if started.elapsed() > timeout {
            child.start_kill().ok();
            bail!(
                "{label} start not ready after {timeout:?} ({}):\n{}",
                probe.describe(),
                tail(&log_path)
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    tokio::time::sleep(idle).await;
    let idle_rss_kib = vm_rss_kib(&child).unwrap_or(0);
    let stop = terminate(&mut child).await?;
    Ok(Run {
        ready,
        idle_rss_kib,
        stop,
    })
}

/// SIGTERM, as Cloud Run sends before stopping an instance, then the time to exit.
async fn terminate(child: &mut Child) -> anyhow::Result<Duration> {
    let Some(pid) = child.id() else {
        bail!("the service had already exited");
    };
    let asked = Instant::now();
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .await
        .context("running kill")?;
    match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
        Ok(status) => {
            status?;
            Ok(asked.elapsed())
        }
        Err(_) => {
            child.start_kill().ok();
            bail!("still running 10 s after SIGTERM (Cloud Run kills it then)")
        }
    }
}

fn vm_rss_kib(child: &Child) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()?)).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The manifest's startup probe, asked the way Cloud Run asks it.
enum Probe {
    Http { path: String },
    Grpc { service: String },
}

impl Probe {
    fn from_manifest(service: &Service, manifest: &Manifest) -> anyhow::Result<Self> {
        let probe = manifest
            .container()
            .and_then(|c| c.startup_probe.as_ref())
            .with_context(|| format!("{}: no startup probe", service.name))?;
        match (&probe.http_get, &probe.grpc) {
            (Some(get), None) => Ok(Self::Http {
                path: get.path.clone(),
            }),
            (None, Some(grpc)) => Ok(Self::Grpc {
                service: grpc.service.clone().unwrap_or_default(),
            }),
            _ => bail!(
                "{}: the startup probe needs one of httpGet, grpc",
                service.name
            ),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Http { path } => format!("GET {path}"),
            Self::Grpc { service } => format!("grpc.health.v1.Health/Check {service:?}"),
        }
    }

    async fn answers(&self, port: u16) -> bool {
        match self {
            Self::Http { path } => {
                let url = format!("http://127.0.0.1:{port}{path}");
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(1))
                    .build();
                match client {
                    Ok(client) => client
                        .get(url)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success()),
                    Err(_) => false,
                }
            }
            Self::Grpc { service } => grpc_serving(port, service).await,
        }
    }
}

async fn grpc_serving(port: u16, service: &str) -> bool {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let Ok(endpoint) = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
    else {
        return false;
    };
    let Ok(channel) = endpoint
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(1))
        .connect()
        .await
    else {
        return false;
    };
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
}

/// Local stand-ins for what the manifests take from Secret Manager and the cloud: one
/// fresh database (each service its own schema), the shared Redis and NATS, a fresh
/// signing key, file buckets in a temporary directory, peers at an address nobody answers
/// (the services connect to peers lazily; none is needed to start).
struct LocalSettings {
    database: rentory_testkit::TestDatabase,
    dir: PathBuf,
    _tempdir: tempfile::TempDir,
    values: BTreeMap<&'static str, String>,
}

impl LocalSettings {
    async fn create() -> anyhow::Result<Self> {
        let database = rentory_testkit::TestDatabase::create().await?;
        let tempdir = tempfile::tempdir()?;
        let dir = tempdir.path().to_path_buf();
        let keys = SigningKeyPair::generate()?;
        let buckets = |name: &str| format!("file://{}", dir.join(name).display());
        let values = BTreeMap::from([
            ("DATABASE_URL", database.url.clone()),
            ("REDIS_URL", rentory_testkit::redis_url()),
            ("NATS_URL", rentory_testkit::nats_url()),
            (
                "RENTORY_JWT_PRIVATE_KEY",
                keys.private_pem.expose_secret().to_owned(),
            ),
            ("RENTORY_JWT_PUBLIC_KEY", keys.public_pem.clone()),
            (
                "RENTORY_PEPPER",
                "release-check pepper, never a real one".into(),
            ),
            (
                "RENTORY_FILE_URL_SECRET",
                "release-check file link secret, 32+ bytes long".into(),
            ),
            ("RENTORY_KYC_BUCKET_URL", buckets("kyc")),
            // The gateway serves a file:// KYC bucket's links, which need its own address.
            ("RENTORY_PUBLIC_URL", "http://127.0.0.1:8080".into()),
            ("RENTORY_PHOTOS_BUCKET_URL", buckets("photos")),
            // The checkout simulator's documented test key; nothing is paid at start-up.
            (
                "PAYSTACK_SECRET_KEY",
                "sk_test_rentory_checkout_simulator".into(),
            ),
            ("PAYSTACK_BASE_URL", "http://127.0.0.1:9".into()),
            ("RUST_LOG", "info".into()),
        ]);
        Ok(Self {
            database,
            dir,
            _tempdir: tempdir,
            values,
        })
    }

    /// deploy/sql/roles.sql, as the local superuser, with a local-only password for each
    /// role (roles are cluster-wide; the same statements run again are harmless).
    async fn create_roles(&self) -> anyhow::Result<()> {
        psql(&self.database.url, "deploy/sql/roles.sql", &[]).await?;
        let mut conn = sqlx::PgConnection::connect(&self.database.url).await?;
        for schema in SERVICES.iter().filter_map(|s| s.schema) {
            for kind in ["owner", "app"] {
                let role = format!("rentory_{schema}_{kind}");
                sqlx::query(&format!(
                    "ALTER ROLE {role} PASSWORD '{LOCAL_ROLE_PASSWORD}'"
                ))
                .execute(&mut conn)
                .await?;
            }
        }
        Ok(())
    }

    /// The test database's URL as `rentory_<schema>_<kind>`.
    fn role_url(&self, schema: &str, kind: &str) -> anyhow::Result<String> {
        let mut url = url::Url::parse(&self.database.url)?;
        url.set_username(&format!("rentory_{schema}_{kind}"))
            .and_then(|()| url.set_password(Some(LOCAL_ROLE_PASSWORD)))
            .map_err(|()| anyhow::anyhow!("the test database URL takes no credentials"))?;
        Ok(url.into())
    }

    /// deploy/sql/grants.sql as the schema's owner, as scripts/deploy runs it.
    async fn grant(&self, schema: &str) -> anyhow::Result<()> {
        psql(
            &self.role_url(schema, "owner")?,
            "deploy/sql/grants.sql",
            &[("schema", schema)],
        )
        .await
    }

    /// Tries, as the app role, to update and to disable the triggers of each append-only
    /// table of `schema`; fails unless every attempt is refused. Returns how many tables.
    async fn append_only_refused(&self, schema: &str) -> anyhow::Result<usize> {
        let mut conn = sqlx::PgConnection::connect(&self.role_url(schema, "app")?).await?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT c.relname::text FROM pg_trigger t \
             JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_proc p ON p.oid = t.tgfoid \
             WHERE n.nspname = $1 AND p.proname = 'refuse_change'",
        )
        .bind(schema)
        .fetch_all(&mut conn)
        .await?;
        for table in &tables {
            // A plain column: identity and generated ones refuse updates for other reasons.
            let column: String = sqlx::query_scalar(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = $1::regclass \
                 AND attnum > 0 AND NOT attisdropped AND attidentity = '' AND attgenerated = '' \
                 ORDER BY attnum LIMIT 1",
            )
            .bind(format!("{schema}.{table}"))
            .fetch_one(&mut conn)
            .await?;
            for attempt in [
                format!("UPDATE {schema}.{table} SET {column} = {column} WHERE false"),
                format!("DELETE FROM {schema}.{table} WHERE false"),
                format!("ALTER TABLE {schema}.{table} DISABLE TRIGGER USER"),
                format!("TRUNCATE {schema}.{table}"),
            ] {
                match sqlx::raw_sql(&attempt).execute(&mut conn).await {
                    Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => {}
                    other => bail!("{attempt} as rentory_{schema}_app was not refused: {other:?}"),
                }
            }
        }
        Ok(tables.len())
    }

    /// The local value of every setting `service` reads and this check has one for.
    fn env_for(&self, service: &Service) -> anyhow::Result<BTreeMap<String, String>> {
        let read = settings::of_service(&workspace_root(), service.name)?;
        let mut env = BTreeMap::new();
        for name in &read.read {
            if let Some(value) = self.values.get(name.as_str()) {
                env.insert(name.clone(), value.clone());
            } else if rentory_release_check::services::callee_of(name).is_some() {
                env.insert(name.clone(), "http://127.0.0.1:9".to_owned());
            }
        }
        for required in &read.required {
            if required != "PORT" && !env.contains_key(required) {
                bail!(
                    "no local value for {required}, which {} requires",
                    service.name
                );
            }
        }
        Ok(env)
    }
}

/// Known to anyone reading this file: the roles exist on local servers only.
const LOCAL_ROLE_PASSWORD: &str = "release-check";

async fn psql(url: &str, file: &str, vars: &[(&str, &str)]) -> anyhow::Result<()> {
    let mut command = Command::new("psql");
    command
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(workspace_root().join(file))
        .arg(url)
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .stdout(Stdio::null());
    for (name, value) in vars {
        command.arg("-v").arg(format!("{name}={value}"));
    }
    let status = command.status().await.context("running psql")?;
    if !status.success() {
        bail!("psql -f {file} failed ({status})");
    }
    Ok(())
}

fn print_table(rows: &[Row]) {
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!();
    println!(
        "| service | binary MiB (stripped) | ready ms, first start (migrates) | ready ms, warm start | idle RSS MiB | SIGTERM to exit ms | append-only tables refused to the app role |"
    );
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        let stripped = row
            .stripped_bytes
            .map_or("?".to_owned(), |b| format!("{:.1}", mib(b)));
        let refused = row
            .refused
            .map_or("no database".to_owned(), |n| n.to_string());
        println!(
            "| {} | {:.1} ({stripped}) | {:.0} | {:.0} | {:.1} | {:.0} | {refused} |",
            row.service,
            mib(row.binary_bytes),
            ms(row.cold.ready),
            ms(row.warm.ready),
            row.warm.idle_rss_kib as f64 / 1024.0,
            ms(row.warm.stop),
        );
    }
    let over: Vec<&str> = rows
        .iter()
        .filter(|r| r.warm.ready > Duration::from_millis(100))
        .map(|r| r.service)
        .collect();
    let heavy: Vec<&str> = rows
        .iter()
        .filter(|r| r.warm.idle_rss_kib > 30 * 1024)
        .map(|r| r.service)
        .collect();
    println!();
    println!(
        "targets: warm start under 100 ms ({}), idle under 30 MiB ({})",
        if over.is_empty() {
            "all".to_owned()
        } else {
            format!("not: {}", over.join(", "))
        },
        if heavy.is_empty() {
            "all".to_owned()
        } else {
            format!("not: {}", heavy.join(", "))
        },
    );
}
