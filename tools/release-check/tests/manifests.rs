//! The Cloud Run manifests (`deploy/cloudrun/<service>.yaml`) against the code they deploy:
//! each parses as a Knative Service, runs an existing binary on its port, sets exactly
//! settings the service reads and every one it cannot start without, takes credentials from
//! Secret Manager secrets that deploy/README.md lists, probes a route or gRPC health name the
//! service serves, and is public (the gateway) or internal with IAM invokers matching the
//! peer URLs each service reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rentory_release_check::manifest::Manifest;
use rentory_release_check::services::{Health, SERVICES, Service};
use rentory_release_check::settings::{self, Settings};
use rentory_release_check::workspace_root;

/// Required by the source only on a branch production never takes, with the manifest value
/// that keeps it off that branch.
const REQUIRED_ONLY_LOCALLY: &[(&str, &str, &str, &str)] = &[(
    "kyc",
    "RENTORY_FILE_URL_SECRET",
    "RENTORY_KYC_BUCKET_URL",
    "gs://",
)];

/// Cloud Run sets it; a manifest that sets it is rejected.
const SET_BY_CLOUD_RUN: &[&str] = &["PORT"];

/// Values that are credentials, whatever the code calls them: never a plain `value:`.
fn is_credential(name: &str) -> bool {
    name == "DATABASE_URL"
        || name == "REDIS_URL"
        || name.ends_with("_PRIVATE_KEY")
        || name.ends_with("_SECRET_KEY")
        || name.ends_with("_API_KEY")
        || name.ends_with("_SECRET")
        || name == "RENTORY_PEPPER"
}

fn load(service: &Service) -> Manifest {
    Manifest::load(&service.manifest_path()).unwrap_or_else(|e| panic!("{e}"))
}

fn read_by(service: &Service) -> Settings {
    settings::of_service(&workspace_root(), service.name).unwrap()
}

fn readme() -> String {
    std::fs::read_to_string(workspace_root().join("deploy/README.md")).unwrap()
}

/// Rows of the first Markdown table after `heading`, each as its cells' backticked words.
fn table_after(text: &str, heading: &str) -> Vec<Vec<Vec<String>>> {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("deploy/README.md has no {heading:?}"));
    text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            row.trim_matches('|')
                .split('|')
                .map(|cell| {
                    cell.split('`')
                        .skip(1)
                        .step_by(2)
                        .map(str::to_owned)
                        .collect()
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_service_has_a_knative_manifest_naming_its_binary() {
    let root = workspace_root();
    let on_disk: BTreeSet<String> = std::fs::read_dir(root.join("deploy/cloudrun"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = SERVICES
        .iter()
        .map(|s| format!("{}.yaml", s.name))
        .collect();
    assert_eq!(on_disk, expected, "one manifest per service, nothing else");

    for service in &SERVICES {
        let m = load(service);
        assert_eq!(m.api_version, "serving.knative.dev/v1", "{}", service.name);
        assert_eq!(m.kind, "Service", "{}", service.name);
        assert_eq!(m.metadata.name, service.name);
        let c = m
            .container()
            .unwrap_or_else(|| panic!("{}: exactly one container", service.name));
        // The Dockerfile puts the one binary at /usr/local/bin/<SERVICE>.
        assert_eq!(
            c.command,
            [format!("/usr/local/bin/{}", service.name)],
            "{}",
            service.name
        );
        assert_eq!(
            c.image, "${IMAGE}",
            "{}: scripts/deploy fills it",
            service.name
        );
        // The binary exists: a `[[bin]]` or `src/main.rs` of the package of that name.
        let cargo = std::fs::read_to_string(service.source_dir().join("Cargo.toml")).unwrap();
        assert!(
            cargo.contains(&format!("name = \"{}\"", service.name))
                && service.source_dir().join("src/main.rs").is_file(),
            "{}: no binary of that name in the workspace",
            service.name
        );
        let limits = &c.resources.limits;
        assert!(limits.contains_key("cpu") && limits.contains_key("memory"));
        let spec = &m.spec.template.spec;
        assert!(spec.container_concurrency > 0 && spec.timeout_seconds > 0);
        assert_eq!(
            spec.service_account_name,
            format!(
                "rentory-{}@${{PROJECT}}.iam.gserviceaccount.com",
                service.name
            ),
            "each service runs as its own service account"
        );
        let min: u32 = m
            .revision_annotation("autoscaling.knative.dev/minScale")
            .and_then(|v| v.parse().ok())
            .unwrap();
        let max: u32 = m
            .revision_annotation("autoscaling.knative.dev/maxScale")
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(
            1 <= min && min <= max,
            "{}: min/max instances",
            service.name
        );
    }
}

/// The manifests' `command` is where the Dockerfile puts the binary, and the runtime image is
/// the one whose libraries `make release-check` checks the binaries against.
#[test]
fn the_dockerfile_builds_the_binary_the_manifests_run() {
    let dockerfile = std::fs::read_to_string(workspace_root().join("deploy/Dockerfile")).unwrap();
    for expected in [
        r#"--bin "${SERVICE}""#,
        r#"COPY --from=builder "/out/${SERVICE}" "/usr/local/bin/${SERVICE}""#,
        "FROM gcr.io/distroless/base-nossl-debian12:nonroot",
        "COPY --from=builder /lib/x86_64-linux-gnu/libgcc_s.so.1 /lib/x86_64-linux-gnu/libgcc_s.so.1",
        "cargo chef cook --release",
        "CARGO_PROFILE_RELEASE_STRIP=symbols",
    ] {
        assert!(
            dockerfile.contains(expected),
            "deploy/Dockerfile lacks {expected}"
        );
    }
    let runtime = dockerfile.rsplit("\nFROM ").next().unwrap();
    assert!(
        runtime.contains("USER 65532:65532"),
        "the runtime stage runs as nonroot"
    );
}

#[test]
fn ports_and_probes_are_what_each_service_serves() {
    let gateway_routes = settings::rust_sources(&workspace_root().join("services/gateway/src"))
        .unwrap()
        .join("\n");
    for service in &SERVICES {
        let m = load(service);
        let c = m.container().unwrap();
        let [port] = c.ports.as_slice() else {
            panic!("{}: one port", service.name)
        };
        assert_eq!(port.container_port, service.port, "{}", service.name);
        assert_eq!(port.name, service.port_name(), "{}", service.name);

        for (kind, probe) in [
            ("startup", &c.startup_probe),
            ("liveness", &c.liveness_probe),
        ] {
            let probe = probe
                .as_ref()
                .unwrap_or_else(|| panic!("{}: no {kind} probe", service.name));
            match service.health {
                Health::Http => {
                    let get = probe.http_get.as_ref().expect("an httpGet probe");
                    assert!(probe.grpc.is_none());
                    assert_eq!(get.port, Some(service.port));
                    assert!(
                        ["/healthz", "/readyz"].contains(&get.path.as_str()),
                        "{}: {kind} probe on {}",
                        service.name,
                        get.path
                    );
                    // The route is declared (utoipa path) in the gateway's source.
                    assert!(
                        gateway_routes.contains(&format!("path = \"{}\"", get.path)),
                        "the gateway serves no {}",
                        get.path
                    );
                }
                Health::Grpc { service: name } => {
                    let grpc = probe.grpc.as_ref().expect("a grpc probe");
                    assert!(probe.http_get.is_none());
                    assert_eq!(grpc.port, Some(service.port), "{}", service.name);
                    assert_eq!(grpc.service.as_deref(), Some(name), "{}", service.name);
                    // The health reporter marks exactly this service serving.
                    let server = name.rsplit('.').next().unwrap();
                    let lib =
                        std::fs::read_to_string(service.source_dir().join("src/lib.rs")).unwrap();
                    let set_serving = format!("set_serving::<{server}Server<");
                    assert!(
                        lib.split_whitespace()
                            .collect::<String>()
                            .contains(&set_serving),
                        "{}: lib.rs never reports {name} serving",
                        service.name
                    );
                }
            }
        }
    }
}

#[test]
fn manifests_set_exactly_the_settings_each_service_reads() {
    for service in &SERVICES {
        let m = load(service);
        let c = m.container().unwrap();
        let read = read_by(service);
        let names = c.env_names();
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(
            unique.len(),
            names.len(),
            "{}: a setting twice",
            service.name
        );

        for name in &unique {
            assert!(
                !SET_BY_CLOUD_RUN.contains(name),
                "{}: Cloud Run sets {name} itself",
                service.name
            );
            assert!(
                read.read.contains(*name),
                "{}: the manifest sets {name}, which the service never reads",
                service.name
            );
        }
        for required in &read.required {
            if SET_BY_CLOUD_RUN.contains(&required.as_str()) {
                continue;
            }
            let local_only = REQUIRED_ONLY_LOCALLY
                .iter()
                .find(|(svc, name, _, _)| *svc == service.name && name == required);
            if let Some((_, _, switch, prefix)) = local_only {
                let value = c.env_value(switch).unwrap_or_default();
                assert!(
                    value.starts_with(prefix),
                    "{}: {required} is needed unless {switch} starts with {prefix}",
                    service.name
                );
                continue;
            }
            assert!(
                unique.contains(required.as_str()),
                "{}: the service cannot start without {required}, which the manifest does not set",
                service.name
            );
        }
    }
}

#[test]
fn credentials_come_from_secrets_the_readme_lists() {
    // | secret | env var | used by | holds |
    let listed: BTreeMap<String, (String, BTreeSet<String>)> = table_after(&readme(), "## Secrets")
        .into_iter()
        .map(|row| {
            let secret = row[0].first().cloned().unwrap();
            let var = row[1].first().cloned().unwrap_or_default();
            (secret, (var, row[2].iter().cloned().collect()))
        })
        .collect();
    assert!(!listed.is_empty());
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for service in &SERVICES {
        let m = load(service);
        for var in &m.container().unwrap().env {
            match (&var.value, &var.value_from) {
                (Some(_), None) => assert!(
                    !is_credential(&var.name),
                    "{}: {} is a credential, set it from Secret Manager",
                    service.name,
                    var.name
                ),
                (None, Some(from)) => {
                    let secret = &from.secret_key_ref;
                    let (listed_var, users) = listed.get(&secret.name).unwrap_or_else(|| {
                        panic!(
                            "{}: secret {} is not in deploy/README.md",
                            service.name, secret.name
                        )
                    });
                    assert_eq!(listed_var, &var.name, "{}", secret.name);
                    assert!(
                        users.contains(service.name),
                        "deploy/README.md does not list {} as a user of {}",
                        service.name,
                        secret.name
                    );
                    assert!(!secret.key.is_empty());
                    used.insert((service.name.to_owned(), secret.name.clone()));
                }
                _ => panic!("{}: {} needs a value or a secret", service.name, var.name),
            }
        }
    }
    for (secret, (_, users)) in &listed {
        for user in users
            .iter()
            .filter(|u| rentory_release_check::services::by_name(u).is_some())
        {
            assert!(
                used.contains(&(user.clone(), secret.clone())),
                "deploy/README.md says {user} uses {secret}; its manifest does not"
            );
        }
    }
}

#[test]
fn the_gateway_is_public_and_the_rest_internal_with_invokers_matching_the_calls() {
    let invokers: BTreeMap<String, BTreeSet<String>> =
        table_after(&readme(), "## Who may invoke whom")
            .into_iter()
            .map(|row| {
                let caller = row[0].first().cloned().unwrap();
                (caller, row[1].iter().cloned().collect())
            })
            .collect();
    for service in &SERVICES {
        let m = load(service);
        let c = m.container().unwrap();
        let ingress = m.service_annotation("run.googleapis.com/ingress");
        let peers = read_by(service).peers();
        if service.is_public() {
            assert_eq!(ingress, Some("all"));
        } else {
            assert_eq!(ingress, Some("internal"), "{}", service.name);
        }
        let granted = invokers.get(service.name).cloned().unwrap_or_default();
        let calls: BTreeSet<String> = peers
            .iter()
            .filter(|p| {
                // A peer URL the service reads but the manifest leaves at its localhost
                // default is no call in production.
                c.env_value(&peer_var(p)).is_some()
            })
            .map(|p| (*p).to_owned())
            .collect();
        assert_eq!(
            granted, calls,
            "{}: deploy/README.md's invokers differ from the peer URLs it is given",
            service.name
        );
        for peer in &calls {
            let url = c.env_value(&peer_var(peer)).unwrap();
            assert_eq!(
                url,
                format!("https://{peer}-${{PROJECT_NUMBER}}.${{REGION}}.run.app"),
                "{}",
                service.name
            );
        }
        // Every service that calls a peer authenticates as its service account; the
        // internal services' run.app URLs count as internal only through the VPC.
        let egress = m.revision_annotation("run.googleapis.com/vpc-access-egress");
        if calls.is_empty() {
            assert_eq!(c.env_value("RENTORY_PEER_AUTH"), None, "{}", service.name);
            assert_eq!(egress, Some("private-ranges-only"), "{}", service.name);
        } else {
            assert_eq!(
                c.env_value("RENTORY_PEER_AUTH"),
                Some("google"),
                "{}",
                service.name
            );
            assert_eq!(egress, Some("all-traffic"), "{}", service.name);
        }
        // Peer URLs the service reads but is not given would fall back to localhost.
        for peer in &peers {
            assert!(
                calls.contains(*peer),
                "{}: reads {} but the manifest leaves it at localhost",
                service.name,
                peer_var(peer)
            );
        }
    }
}

fn peer_var(peer: &str) -> String {
    match peer {
        "ai-orchestrator" => "RENTORY_AI_URL".to_owned(),
        other => format!("RENTORY_{}_URL", other.to_uppercase()),
    }
}

#[test]
fn database_redis_and_nats_reach_their_private_networks() {
    for service in &SERVICES {
        let m = load(service);
        let c = m.container().unwrap();
        let read = read_by(service).read;
        let sql = m.revision_annotation("run.googleapis.com/cloudsql-instances");
        assert_eq!(
            sql.is_some(),
            c.env_names().contains(&"DATABASE_URL"),
            "{}: a Cloud SQL socket exactly where DATABASE_URL is set",
            service.name
        );
        assert_eq!(
            read.contains("DATABASE_URL"),
            c.env_names().contains(&"DATABASE_URL"),
            "{}",
            service.name
        );
        if read.contains("REDIS_URL") || read.contains("NATS_URL") {
            let interfaces = m
                .revision_annotation("run.googleapis.com/network-interfaces")
                .unwrap_or_else(|| panic!("{}: no direct VPC egress", service.name));
            assert!(interfaces.contains("${VPC_NETWORK}") && interfaces.contains("${VPC_SUBNET}"));
            for name in ["REDIS_URL", "NATS_URL"] {
                assert_eq!(
                    read.contains(name),
                    c.env_names().contains(&name),
                    "{}: {name} set exactly when read",
                    service.name
                );
            }
        }
    }
}

/// Cloud SQL's socket is a directory: sqlx reads `host=/cloudsql/...` as one and appends
/// `.s.PGSQL.5432`, and connects through a local socket directory the same way. The URL
/// needs a host before the path (`@localhost/`): sqlx refuses libpq's empty-host form
/// `@/rentory` with `EmptyHost`; the socket wins over it.
#[tokio::test]
async fn a_unix_socket_database_url_is_understood_by_sqlx() {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    let empty_host = "postgres://rentory_kyc_app:pw@/rentory?host=/cloudsql/p:r:i";
    assert!(sqlx::postgres::PgConnectOptions::from_str(empty_host).is_err());
    let url =
        "postgres://rentory_kyc_app:pw@localhost/rentory?host=/cloudsql/proj:africa-south1:rentory";
    let options = sqlx::postgres::PgConnectOptions::from_str(url).unwrap();
    assert_eq!(
        options.get_socket(),
        Some(Path::new("/cloudsql/proj:africa-south1:rentory").to_path_buf()).as_ref()
    );
    assert_eq!(options.get_database(), Some("rentory"));
    assert_eq!(options.get_username(), "rentory_kyc_app");

    // The owner URLs scripts/deploy migrates with put the schema first on the search path,
    // where sqlx-cli then keeps _sqlx_migrations, as the services' migrator does.
    let owner =
        "postgres://rentory_kyc_owner:pw@127.0.0.1:5433/rentory?options=-c%20search_path%3Dkyc";
    let options = sqlx::postgres::PgConnectOptions::from_str(owner).unwrap();
    assert_eq!(options.get_options(), Some("-c search_path=kyc"));

    // The same form against the local server's socket directory, when it has one.
    let local = Path::new("/var/run/postgresql");
    if local.join(".s.PGSQL.5432").exists() {
        let url = format!(
            "postgres://rentory:rentory@localhost/postgres?host={}",
            local.display()
        );
        let mut conn = sqlx::postgres::PgConnectOptions::from_str(&url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(one, 1);
    }
}

/// What `scripts/deploy` applies: every `${...}` variable filled, still a valid manifest.
#[test]
fn scripts_deploy_renders_every_manifest_completely() {
    for service in &SERVICES {
        let out = std::process::Command::new("bash")
            .arg(workspace_root().join("scripts/deploy"))
            .args(["--render", service.name])
            .env("PROJECT", "rentory-prod")
            .env("REGION", "africa-south1")
            .env("PROJECT_NUMBER", "123456789012")
            .env("TAG", "0123456789ab")
            .env("PUBLIC_URL", "https://api.rentory.ng")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", service.name);
        let rendered = String::from_utf8(out.stdout).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rendered.yaml");
        std::fs::write(&path, &rendered).unwrap();
        let m = Manifest::load(&path).unwrap();
        let c = m.container().unwrap();
        assert_eq!(
            c.image,
            format!(
                "africa-south1-docker.pkg.dev/rentory-prod/rentory/{}:0123456789ab",
                service.name
            )
        );
        assert_eq!(
            m.spec.template.spec.service_account_name,
            format!(
                "rentory-{}@rentory-prod.iam.gserviceaccount.com",
                service.name
            )
        );
        if let Some(url) = c.env_value("RENTORY_IDENTITY_URL") {
            assert_eq!(url, "https://identity-123456789012.africa-south1.run.app");
        }
    }
    let refused = std::process::Command::new("bash")
        .arg(workspace_root().join("scripts/deploy"))
        .args(["--render", "billing"])
        .env("PROJECT", "p")
        .env("REGION", "r")
        .output()
        .unwrap();
    assert!(!refused.status.success(), "an unknown service is refused");
}
