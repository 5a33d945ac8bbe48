use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::signer::Signer;
use time::OffsetDateTime;
use url::Url;

use crate::key::is_safe_segment;
use crate::{ConfigError, LocalLinks, ObjectKey, StorageError};

/// How long KYC image links live unless a caller asks otherwise.
pub const DEFAULT_SIGNED_URL_TTL: Duration = Duration::from_secs(60);

/// GCS refuses V4 signatures valid for longer; local links follow the same rule.
const MAX_SIGNED_URL_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// A link that lets its holder read one object until `expires_at`.
///
/// The URL is a credential: its `Debug` hides it, and it must never be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedUrl {
    pub url: String,
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for SignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedUrl")
            .field("url", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// How a bucket's objects are handed out to clients.
#[derive(Clone)]
enum Links {
    /// The gateway serves them, checking our HMAC.
    Local(Arc<LocalLinks>),
    /// The store serves them itself (GCS or S3), checking a V4 signature made with the
    /// service's own credentials.
    Native {
        signer: Arc<dyn Signer>,
        backend: &'static str,
    },
}

/// A named, private bucket of objects, read by clients only through signed URLs.
///
/// Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Bucket {
    name: String,
    store: Arc<dyn ObjectStore>,
    links: Links,
}

impl fmt::Debug for Bucket {
    // The backend's own Debug can include credentials, so only the kind is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.links {
            Links::Local(_) => "local",
            Links::Native { backend, .. } => backend,
        };
        f.debug_struct("Bucket")
            .field("name", &self.name)
            .field("backend", &backend)
            .finish()
    }
}

impl Bucket {
    /// Opens the bucket `name` (the name used in links and logs) stored at `url`:
    ///
    /// - `file:///abs/path`: a directory, created if missing;
    /// - `memory://`: in-process, empty on open (tests);
    /// - `gs://bucket-name`: Google Cloud Storage, credentials from the standard
    ///   `GOOGLE_*` variables or, on Cloud Run, the metadata server;
    /// - `s3://bucket-name`: Amazon S3 (or an S3-compatible store), credentials and region
    ///   from the standard `AWS_*` variables.
    ///
    /// No network is used until the first request. `local_links` is required for `file://`
    /// and `memory://`, whose links the gateway serves; GCS and S3 sign their own.
    pub fn open(
        name: &str,
        url: &str,
        local_links: Option<LocalLinks>,
    ) -> Result<Self, StorageError> {
        if !is_safe_segment(name) {
            return Err(ConfigError::InvalidBucketName {
                bucket: name.to_owned(),
            }
            .into());
        }
        let invalid_url = || ConfigError::InvalidBucketUrl {
            bucket: name.to_owned(),
        };
        let parsed = Url::parse(url).map_err(|_| invalid_url())?;
        // Moves the links out; only one match arm below calls it.
        let require_links = || {
            local_links.ok_or_else(|| ConfigError::MissingLocalLinks {
                bucket: name.to_owned(),
            })
        };
        match parsed.scheme() {
            "file" => {
                let links = require_links()?;
                let dir = parsed.to_file_path().map_err(|_| invalid_url())?;
                let local_dir_error = |source| ConfigError::LocalDirectory {
                    bucket: name.to_owned(),
                    source,
                };
                std::fs::create_dir_all(&dir).map_err(|e| local_dir_error(Box::new(e)))?;
                let store = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| local_dir_error(Box::new(e)))?;
                Ok(Self::local(name, Arc::new(store), links))
            }
            "memory" => Ok(Self::local(
                name,
                Arc::new(InMemory::new()),
                require_links()?,
            )),
            "gs" => {
                require_bare_bucket(&parsed).map_err(|()| invalid_url())?;
                Self::gcs(name, GoogleCloudStorageBuilder::from_env().with_url(url))
            }
            "s3" => {
                require_bare_bucket(&parsed).map_err(|()| invalid_url())?;
                Self::s3(name, AmazonS3Builder::from_env().with_url(url))
            }
            scheme => Err(ConfigError::UnsupportedScheme {
                bucket: name.to_owned(),
                scheme: scheme.to_owned(),
            }
            .into()),
        }
    }

    fn local(name: &str, store: Arc<dyn ObjectStore>, links: LocalLinks) -> Self {
        Self {
            name: name.to_owned(),
            store,
            links: Links::Local(Arc::new(links)),
        }
    }

    pub(crate) fn gcs(
        name: &str,
        builder: GoogleCloudStorageBuilder,
    ) -> Result<Self, StorageError> {
        let gcs = builder.build().map_err(|source| ConfigError::Gcs {
            bucket: name.to_owned(),
            source,
        })?;
        Ok(Self::native(name, Arc::new(gcs), "gcs"))
    }

    pub(crate) fn s3(name: &str, builder: AmazonS3Builder) -> Result<Self, StorageError> {
        let s3 = builder.build().map_err(|source| ConfigError::S3 {
            bucket: name.to_owned(),
            source,
        })?;
        Ok(Self::native(name, Arc::new(s3), "s3"))
    }

    fn native<S: ObjectStore + Signer>(name: &str, store: Arc<S>, backend: &'static str) -> Self {
        Self {
            name: name.to_owned(),
            store: store.clone(),
            links: Links::Native {
                signer: store,
                backend,
            },
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The link signer of a local bucket, for the gateway's file route; `None` on GCS and
    /// S3, whose links never reach the gateway.
    pub fn local_links(&self) -> Option<&LocalLinks> {
        match &self.links {
            Links::Local(links) => Some(links),
            Links::Native { .. } => None,
        }
    }

    /// Stores `bytes` under `key`, replacing any object already there.
    #[tracing::instrument(skip_all, fields(bucket = %self.name, key = %key))]
    pub async fn put(&self, key: &ObjectKey, bytes: Bytes) -> Result<(), StorageError> {
        self.store
            .put(&key.to_store_path(), bytes.into())
            .await
            .map_err(|source| self.backend_error("put an object", source))?;
        Ok(())
    }

    /// The whole object; [`StorageError::NotFound`] when there is none.
    #[tracing::instrument(skip_all, fields(bucket = %self.name, key = %key))]
    pub async fn get(&self, key: &ObjectKey) -> Result<Bytes, StorageError> {
        let read = match self.store.get(&key.to_store_path()).await {
            Ok(found) => found.bytes().await,
            Err(e) => Err(e),
        };
        read.map_err(|source| match source {
            object_store::Error::NotFound { .. } => StorageError::NotFound {
                bucket: self.name.clone(),
                key: key.clone(),
            },
            source => self.backend_error("get an object", source),
        })
    }

    /// Removes the object; removing one that is not there is not an error, so cleanup
    /// after a failed write can simply be retried.
    #[tracing::instrument(skip_all, fields(bucket = %self.name, key = %key))]
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match self.store.delete(&key.to_store_path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(self.backend_error("delete an object", source)),
        }
    }

    /// A URL to read `key` for `ttl` (whole seconds, 1 s ..= 7 days), without checking
    /// that the object exists. Local buckets give a gateway link, GCS and S3 a V4 signed URL.
    #[tracing::instrument(skip_all, fields(bucket = %self.name, key = %key))]
    pub async fn signed_get_url(
        &self,
        key: &ObjectKey,
        ttl: Duration,
    ) -> Result<SignedUrl, StorageError> {
        let ttl = Duration::from_secs(ttl.as_secs());
        if ttl.is_zero() || ttl > MAX_SIGNED_URL_TTL {
            return Err(StorageError::InvalidTtl);
        }
        // Taken before signing, so the reported expiry is never later than the real one.
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let expires_at = i64::try_from(ttl.as_secs())
            .ok()
            .and_then(|secs| now.checked_add(secs))
            .and_then(|unix| OffsetDateTime::from_unix_timestamp(unix).ok())
            .ok_or(StorageError::InvalidTtl)?;
        let url = match &self.links {
            Links::Local(links) => links.sign(&self.name, key, expires_at),
            Links::Native { signer, .. } => signer
                .signed_url(http::Method::GET, &key.to_store_path(), ttl)
                .await
                .map_err(|source| self.backend_error("sign a URL", source))?
                .into(),
        };
        Ok(SignedUrl { url, expires_at })
    }

    fn backend_error(&self, operation: &'static str, source: object_store::Error) -> StorageError {
        StorageError::Backend {
            bucket: self.name.clone(),
            operation,
            source,
        }
    }
}

/// A prefix in the path would be silently ignored by object_store; refuse it rather than
/// write KYC images somewhere unexpected.
fn require_bare_bucket(url: &Url) -> Result<(), ()> {
    let bare = url.host_str().is_some_and(|host| !host.is_empty())
        && matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if bare { Ok(()) } else { Err(()) }
}

#[cfg(test)]
mod tests;
