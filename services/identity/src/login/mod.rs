//! PIN or password login: spray check, lockout gate, constant-work secret check, session.

mod policy;

pub use policy::{Gate, LockState, LockoutPolicy, SprayPolicy, spray_verdict};

use rentory_auth::RequestContext;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::credentials::{Email, Password, Pin};
use crate::error::{Error, Result};
use crate::hashing::SecretHasher;

pub enum Secret {
    Pin(Pin),
    Password(Password),
}

/// Verifies the secret for `email` and returns the user id. Every refusal of a secret looks
/// the same to the caller, whether the account exists or not.
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    pool: &PgPool,
    hasher: &SecretHasher,
    lockout: &LockoutPolicy,
    spray: &SprayPolicy,
    email: &Email,
    secret: &Secret,
    context: &RequestContext,
) -> Result<Uuid> {
    let ip = context
        .client_ip
        .map(sqlx::types::ipnetwork::IpNetwork::from);
    if let Some(ip) = ip {
        let window = time::Duration::try_from(spray.window).unwrap_or(time::Duration::HOUR);
        let tried = sqlx::query_scalar!(
            r#"SELECT count(DISTINCT email) AS "n!" FROM identity.login_attempts
               WHERE client_ip = $1 AND NOT succeeded AND at > now() - $2::interval"#,
            ip,
            window as _,
        )
        .fetch_one(pool)
        .await?;
        if let Some(retry_after) = spray_verdict(tried, spray) {
            tracing::warn!(client_ip = %ip, accounts = tried, "login spraying refused");
            return Err(Error::Spraying { retry_after });
        }
    }

    // The row stays locked while the secret is checked, so parallel guesses against one
    // account are counted one after another and cannot overshoot the lockout.
    let mut tx = pool.begin().await?;
    let account = sqlx::query!(
        r#"SELECT id, password_hash, pin_hash, failed_logins, locked_until, status
           FROM identity.users WHERE email = $1 FOR UPDATE"#,
        email.as_str(),
    )
    .fetch_optional(&mut *tx)
    .await?;

    let Some(account) = account else {
        hasher.verify_decoy(secret_text(secret)).await?;
        record_attempt(&mut tx, email, None, ip, false).await?;
        tx.commit().await?;
        return Err(Error::InvalidCredentials);
    };

    let now = OffsetDateTime::now_utc();
    let state = LockState {
        failed_logins: u32::try_from(account.failed_logins).unwrap_or(0),
        locked_until: account.locked_until,
    };
    if let Gate::Locked { retry_after } = state.gate(now) {
        record_attempt(&mut tx, email, Some(account.id), ip, false).await?;
        tx.commit().await?;
        return Err(Error::Locked { retry_after });
    }

    let stored = match secret {
        Secret::Pin(_) => &account.pin_hash,
        Secret::Password(_) => &account.password_hash,
    };
    let matches = hasher.verify(secret_text(secret), stored).await?;
    let next = if matches {
        LockState::after_success()
    } else {
        state.after_failure(lockout, now)
    };
    sqlx::query!(
        r#"UPDATE identity.users SET failed_logins = $2, locked_until = $3 WHERE id = $1"#,
        account.id,
        i32::try_from(next.failed_logins).unwrap_or(i32::MAX),
        next.locked_until,
    )
    .execute(&mut *tx)
    .await?;
    record_attempt(&mut tx, email, Some(account.id), ip, matches).await?;
    tx.commit().await?;

    if !matches {
        return match next.gate(now) {
            Gate::Locked { retry_after } => Err(Error::Locked { retry_after }),
            Gate::Open => Err(Error::InvalidCredentials),
        };
    }
    if account.status == "SUSPENDED" {
        return Err(Error::Suspended);
    }
    Ok(account.id)
}

fn secret_text(secret: &Secret) -> &str {
    match secret {
        Secret::Pin(pin) => pin.expose(),
        Secret::Password(password) => password.expose(),
    }
}

async fn record_attempt(
    conn: &mut sqlx::PgConnection,
    email: &Email,
    user_id: Option<Uuid>,
    ip: Option<sqlx::types::ipnetwork::IpNetwork>,
    succeeded: bool,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO identity.login_attempts (email, user_id, client_ip, succeeded) VALUES ($1, $2, $3, $4)"#,
        email.as_str(),
        user_id,
        ip,
        succeeded,
    )
    .execute(conn)
    .await?;
    Ok(())
}
