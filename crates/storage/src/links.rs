//! HMAC-signed, short-lived links for local buckets, served by the gateway at
//! `GET /files/{bucket}/{*key}?expires=&signature=`.

use std::fmt;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use url::Url;

use crate::{ConfigError, FILE_URL_SECRET_VAR, ObjectKey, PUBLIC_URL_VAR};

/// Shortest accepted signing secret: as many bytes as the HMAC-SHA256 output.
pub const MIN_SECRET_LEN: usize = 32;

/// Separates these MACs from any other use of the same secret, and versions the framing.
const DOMAIN: &[u8] = b"rentory.files.get.v1";

/// Why the gateway refuses a file link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Genuine, but past its expiry: 410 Gone (or 403).
    #[error("the link has expired")]
    Expired,
    /// Not made with our secret for this bucket, key and expiry: 403.
    #[error("the link signature is not valid")]
    BadSignature,
    /// The key in the path is not a valid object key: 403 (a real link never has one).
    #[error("the link names an invalid object key")]
    BadKey,
}

/// Signs and verifies links to objects in local buckets.
///
/// Holds the MAC already keyed with the secret, not the secret itself.
#[derive(Clone)]
pub struct LocalLinks {
    base_url: Url,
    mac: Hmac<Sha256>,
}

impl fmt::Debug for LocalLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalLinks")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl LocalLinks {
    /// `public_url` is the gateway's public base URL (a path prefix is kept);
    /// `secret` is shared by every service that signs or verifies links.
    pub fn new(public_url: &str, secret: &SecretString) -> Result<Self, ConfigError> {
        let invalid_url = ConfigError::InvalidPublicUrl {
            var: PUBLIC_URL_VAR,
        };
        let base_url = Url::parse(public_url).map_err(|_| invalid_url)?;
        let usable = matches!(base_url.scheme(), "http" | "https")
            && base_url.host().is_some()
            && !base_url.cannot_be_a_base()
            && base_url.query().is_none()
            && base_url.fragment().is_none();
        if !usable {
            return Err(ConfigError::InvalidPublicUrl {
                var: PUBLIC_URL_VAR,
            });
        }
        let secret = secret.expose_secret().as_bytes();
        if secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::WeakSecret {
                var: FILE_URL_SECRET_VAR,
                min: MIN_SECRET_LEN,
            });
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| ConfigError::WeakSecret {
            var: FILE_URL_SECRET_VAR,
            min: MIN_SECRET_LEN,
        })?;
        Ok(Self { base_url, mac })
    }

    /// From `RENTORY_PUBLIC_URL` and `RENTORY_FILE_URL_SECRET`: `None` when neither is set
    /// (a deployment on GCS needs neither), an error naming the other when only one is.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        let read = |var| std::env::var(var).ok().filter(|v| !v.is_empty());
        Self::from_values(
            read(PUBLIC_URL_VAR).as_deref(),
            read(FILE_URL_SECRET_VAR).map(SecretString::from),
        )
    }

    fn from_values(
        public_url: Option<&str>,
        secret: Option<SecretString>,
    ) -> Result<Option<Self>, ConfigError> {
        match (public_url, secret) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::MissingVar {
                var: FILE_URL_SECRET_VAR,
            }),
            (None, Some(_)) => Err(ConfigError::MissingVar {
                var: PUBLIC_URL_VAR,
            }),
            (Some(url), Some(secret)) => Self::new(url, &secret).map(Some),
        }
    }

    /// `{base}/files/{bucket}/{key}?expires={unix}&signature={hex}`, valid through the
    /// second `expires_at` falls in.
    ///
    /// The result is a credential: hand it to the client, never log it.
    pub fn sign(&self, bucket: &str, key: &ObjectKey, expires_at: OffsetDateTime) -> String {
        let expires = expires_at.unix_timestamp();
        let signature = hex::encode(self.tag(bucket, key.as_str(), expires));
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .push("files")
                .push(bucket)
                .extend(key.segments());
        }
        url.query_pairs_mut()
            .append_pair("expires", &expires.to_string())
            .append_pair("signature", &signature);
        url.into()
    }

    /// Checks a link's parts as the gateway received them, returning the key to fetch.
    ///
    /// The signature is checked before the expiry, so only holders of a genuine link
    /// learn that it expired.
    pub fn verify(
        &self,
        bucket: &str,
        key: &str,
        expires: i64,
        signature: &str,
        now: OffsetDateTime,
    ) -> Result<ObjectKey, LinkError> {
        let key = ObjectKey::parse(key).map_err(|_| LinkError::BadKey)?;
        let given = hex::decode(signature).map_err(|_| LinkError::BadSignature)?;
        let expected = self.tag(bucket, key.as_str(), expires);
        // Constant time, so response timing does not reveal how much of a guess was right.
        if !bool::from(expected.as_slice().ct_eq(&given)) {
            return Err(LinkError::BadSignature);
        }
        if now.unix_timestamp() > expires {
            return Err(LinkError::Expired);
        }
        Ok(key)
    }

    /// HMAC-SHA256 over the domain, then bucket and key each prefixed with its length, then
    /// the expiry in fixed width, so no two (bucket, key, expiry) share a message.
    fn tag(&self, bucket: &str, key: &str, expires: i64) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(DOMAIN);
        for part in [bucket, key] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.update(&expires.to_be_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests;
