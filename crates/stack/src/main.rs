//! `make run`: the whole stack on this machine. Settings come from the environment (see the
//! README); local secrets are generated once under `.local/secrets/` so accounts and tokens
//! survive restarts.

use std::path::Path;

use anyhow::Context;
use rentory_runtime::{config, shutdown, telemetry};
use rentory_stack::{PaystackSettings, Secrets, StackOptions, Tuning, random_hex, start};
use secrecy::SecretString;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("rentory-stack")?;
    let data_dir = std::path::PathBuf::from(config::or_default("RENTORY_DATA_DIR", ".local"));
    let secrets = local_secrets(&data_dir.join("secrets"))?;
    let options = StackOptions {
        database_url: SecretString::from(config::or_default(
            "DATABASE_URL",
            "postgres://rentory:rentory@127.0.0.1:5432/rentory",
        )),
        redis_url: config::or_default("REDIS_URL", "redis://127.0.0.1:6379"),
        nats_url: config::or_default("NATS_URL", "nats://127.0.0.1:4222"),
        gateway_addr: ([127, 0, 0, 1], config::port(8080)?).into(),
        data_dir,
        secrets,
        tuning: Tuning {
            // GEMINI_API_KEY (and RENTORY_GEMINI_*, RENTORY_AI_*_MODELS) switch the AI
            // orchestrator from its offline provider to Gemini.
            gemini: ai_orchestrator::GeminiConfig::from_env()?,
            ai_daily_calls: config::parse_or(
                "RENTORY_AI_DAILY_CALLS",
                ai_orchestrator::DEFAULT_DAILY_CALLS,
            )?,
            paystack: paystack_from_env()?,
            ..Tuning::default()
        },
    };
    let mut stack = start(options).await?;
    let url = &stack.gateway_url;
    println!("Rentory is up: {url}");
    println!("  API docs:    {url}/docs  (OpenAPI at {url}/openapi.json)");
    println!("  readiness:   {url}/readyz");
    println!("  live chat:   Socket.IO at {url}/socket.io/, namespace /chat, auth {{token}}");
    println!("  first admin: make admin EMAIL=... PASSWORD=... PIN=...");
    match &stack.checkout_url {
        Some(checkout) => println!(
            "  payments:    local checkout simulator at {checkout} (no PAYSTACK_SECRET_KEY set); its checkout pages pay or decline"
        ),
        None => println!(
            "  payments:    Paystack at {}",
            config::or_default("PAYSTACK_BASE_URL", payments::DEFAULT_PAYSTACK_BASE_URL)
        ),
    }

    let signals = shutdown::on_signals();
    tokio::select! {
        _ = signals.cancelled() => {
            stack.stop().await.map_err(anyhow::Error::msg)?;
        }
        exited = stack.wait_for_exit() => {
            if let Some((service, result)) = exited {
                stack.stop().await.ok();
                result.map_err(anyhow::Error::msg).with_context(|| format!("{service} stopped"))?;
                anyhow::bail!("{service} stopped unexpectedly");
            }
        }
    }
    Ok(())
}

/// `PAYSTACK_SECRET_KEY` (with `PAYSTACK_BASE_URL`, default Paystack's API) switches
/// payments to that server; without a key the local checkout simulator runs instead.
fn paystack_from_env() -> anyhow::Result<Option<PaystackSettings>> {
    let Some(key) = config::optional("PAYSTACK_SECRET_KEY") else {
        return Ok(None);
    };
    let base = config::or_default("PAYSTACK_BASE_URL", payments::DEFAULT_PAYSTACK_BASE_URL);
    let base_url = url::Url::parse(&base).with_context(|| format!("PAYSTACK_BASE_URL {base}"))?;
    Ok(Some(PaystackSettings {
        base_url,
        secret_key: SecretString::from(key),
    }))
}

/// Reads the local secrets, creating any that are missing. Files are 0600.
fn local_secrets(dir: &Path) -> anyhow::Result<Secrets> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let generated = Secrets::generate()?;
    let read_or_write = |name: &str, fresh: &SecretString| -> anyhow::Result<SecretString> {
        use secrecy::ExposeSecret;
        let path = dir.join(name);
        if let Ok(existing) = std::fs::read_to_string(&path) {
            return Ok(SecretString::from(existing));
        }
        write_private(&path, fresh.expose_secret())?;
        Ok(fresh.clone())
    };
    Ok(Secrets {
        jwt_private_key: read_or_write("jwt-private.pem", &generated.jwt_private_key)?,
        pepper: read_or_write("pepper", &SecretString::from(random_hex(32)))?,
        file_url_secret: read_or_write("file-url-secret", &generated.file_url_secret)?,
    })
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}
