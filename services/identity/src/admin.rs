//! `identity create-admin`: the first ADMIN, made from the command line because no one yet
//! exists who could create it through the API.

use rentory_auth::{Role, UserStatus};
use rentory_runtime::db;
use secrecy::SecretString;
use uuid::Uuid;

use crate::accounts::{self, NewAccount, NewProfile};
use crate::credentials::{CredentialError, Email, Password, Pin};
use crate::hashing::{HashError, SecretHasher};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{field}: {source}")]
    Invalid {
        field: &'static str,
        source: CredentialError,
    },
    #[error("an account with this e-mail already exists")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("database error")]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("could not create the account: {0}")]
    Other(String),
}

pub async fn create_admin(
    database_url: &SecretString,
    pepper: SecretString,
    email: &str,
    password: &str,
    pin: &str,
    full_name: &str,
) -> Result<Uuid, AdminError> {
    let invalid = |field| move |source| AdminError::Invalid { field, source };
    let email = Email::parse(email).map_err(invalid("email"))?;
    let password = Password::parse(password).map_err(invalid("password"))?;
    let pin = Pin::parse(pin).map_err(invalid("pin"))?;

    let pool = db::connect(database_url, crate::SCHEMA, 2).await?;
    db::migrate(&pool, crate::SCHEMA, &crate::MIGRATOR).await?;
    let hasher = SecretHasher::new(pepper, 2)?;
    let (password_hash, pin_hash) =
        tokio::try_join!(hasher.hash(password.expose()), hasher.hash(pin.expose()))?;
    let mut tx = pool.begin().await?;
    let account = accounts::insert(
        &mut tx,
        &NewAccount {
            id: Uuid::now_v7(),
            email: &email,
            password_hash,
            pin_hash,
            role: Role::Admin,
            status: UserStatus::Active,
            position: None,
            profile: NewProfile {
                full_name,
                phone: "",
                bio: "",
            },
        },
    )
    .await
    .map_err(|e| match e {
        crate::error::Error::EmailTaken => AdminError::EmailTaken,
        other => AdminError::Other(other.to_string()),
    })?;
    tx.commit().await?;
    pool.close().await;
    Ok(account.id)
}
