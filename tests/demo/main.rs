//! `make demo`: the whole journey against a running stack (`make run`), one line per step;
//! exits 1 at the first failure.
//!
//! Settings: `RENTORY_DEMO_URL` (default `http://127.0.0.1:8080`). The ADMIN who creates the
//! compliance officer: `RENTORY_DEMO_ADMIN_EMAIL` and `RENTORY_DEMO_ADMIN_PIN` for an existing
//! one; otherwise the demo makes a fresh one the way operators do (identity's create-admin,
//! with `DATABASE_URL` and the pepper `make run` uses: `RENTORY_PEPPER`, else
//! `.local/secrets/pepper`).

use std::process::ExitCode;

use anyhow::Context;
use rentory_blackbox::demo::{self, Target};
use rentory_runtime::config;
use secrecy::SecretString;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        // The demo printed which step failed and why.
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<bool> {
    let base = config::or_default("RENTORY_DEMO_URL", "http://127.0.0.1:8080");
    let (admin_email, admin_pin) = match (
        config::optional("RENTORY_DEMO_ADMIN_EMAIL"),
        config::optional("RENTORY_DEMO_ADMIN_PIN"),
    ) {
        (Some(email), Some(pin)) => (email, pin),
        _ => fresh_admin().await?,
    };
    let target = Target {
        base,
        admin_email,
        admin_pin,
    };
    let mut stdout = std::io::stdout();
    Ok(demo::run(&target, &mut stdout).await.is_ok())
}

/// A new ADMIN for this run, written straight into identity's schema as `make admin` does.
async fn fresh_admin() -> anyhow::Result<(String, String)> {
    let database_url = SecretString::from(config::or_default(
        "DATABASE_URL",
        "postgres://rentory:rentory@127.0.0.1:5432/rentory",
    ));
    let pepper = match config::optional("RENTORY_PEPPER") {
        Some(pepper) => pepper,
        None => std::fs::read_to_string(".local/secrets/pepper")
            .context("no RENTORY_PEPPER and no .local/secrets/pepper: start `make run` first")?
            .trim()
            .to_owned(),
    };
    let email = format!("demo-admin-{}@example.ng", uuid::Uuid::new_v4().simple());
    let pin = "730514".to_owned();
    identity::create_admin(
        &database_url,
        SecretString::from(pepper),
        &email,
        "correct horse battery",
        &pin,
        "Demo Admin",
    )
    .await
    .context("creating the demo's ADMIN with identity's create-admin")?;
    Ok((email, pin))
}
