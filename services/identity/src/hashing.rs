//! Argon2id for passwords and PINs, keyed with a server-side pepper so a stolen database
//! alone cannot be brute-forced offline. Hashing runs on the blocking pool behind a
//! semaphore: a burst of logins queues instead of starving the async runtime.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use tracing::Instrument;

/// OWASP's minimum for argon2id: 19 MiB, two passes, one lane.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2 failed: {0}")]
    Argon2(String),
    #[error("the hashing task did not finish")]
    Join(#[from] tokio::task::JoinError),
    #[error("the hashing pool is closed")]
    Closed,
}

#[derive(Clone)]
pub struct SecretHasher {
    pepper: Arc<SecretString>,
    permits: Arc<Semaphore>,
    /// Verified against when the e-mail is unknown, so that answer takes as long as a wrong
    /// secret for a real account.
    decoy: Arc<String>,
}

impl SecretHasher {
    pub fn new(pepper: SecretString, concurrency: usize) -> Result<Self, HashError> {
        let pepper = Arc::new(pepper);
        let decoy = hash_blocking(&pepper, "decoy secret for unknown accounts")?;
        Ok(Self {
            pepper,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            decoy: Arc::new(decoy),
        })
    }

    pub async fn hash(&self, secret: &str) -> Result<String, HashError> {
        let pepper = Arc::clone(&self.pepper);
        let secret = secret.to_owned();
        self.run(move || hash_blocking(&pepper, &secret)).await?
    }

    pub async fn verify(&self, secret: &str, stored: &str) -> Result<bool, HashError> {
        let pepper = Arc::clone(&self.pepper);
        let (secret, stored) = (secret.to_owned(), stored.to_owned());
        self.run(move || verify_blocking(&pepper, &secret, &stored))
            .await?
    }

    /// Spends the same work as a real verification and always fails.
    pub async fn verify_decoy(&self, secret: &str) -> Result<bool, HashError> {
        let decoy = Arc::clone(&self.decoy);
        self.verify(secret, &decoy).await.map(|_| false)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Closed)?;
        let span = tracing::info_span!("argon2");
        Ok(tokio::task::spawn_blocking(move || span.in_scope(work))
            .instrument(tracing::Span::current())
            .await?)
    }
}

fn argon2(pepper: &SecretString) -> Result<Argon2<'_>, HashError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| HashError::Argon2(e.to_string()))?;
    Argon2::new_with_secret(
        pepper.expose_secret().as_bytes(),
        Algorithm::Argon2id,
        Version::V0x13,
        params,
    )
    .map_err(|e| HashError::Argon2(e.to_string()))
}

fn hash_blocking(pepper: &SecretString, secret: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(pepper)?
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Argon2(e.to_string()))
}

fn verify_blocking(pepper: &SecretString, secret: &str, stored: &str) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(stored).map_err(|e| HashError::Argon2(e.to_string()))?;
    match argon2(pepper)?.verify_password(secret.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(HashError::Argon2(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(pepper: &str) -> SecretHasher {
        SecretHasher::new(SecretString::from(pepper), 2).expect("hasher")
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_required_cost_and_verify() {
        let h = hasher("pepper-one");
        let stored = h.hash("482917").await.expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(h.verify("482917", &stored).await.expect("verify"));
        assert!(!h.verify("482918", &stored).await.expect("verify"));
    }

    #[tokio::test]
    async fn a_different_pepper_cannot_verify() {
        let stored = hasher("pepper-one")
            .hash("secret-pass")
            .await
            .expect("hash");
        assert!(
            !hasher("pepper-two")
                .verify("secret-pass", &stored)
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn the_decoy_never_matches() {
        let h = hasher("pepper");
        assert!(
            !h.verify_decoy("decoy secret for unknown accounts")
                .await
                .expect("decoy")
        );
    }
}
