use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::gcp::{GoogleCloudStorage, GoogleCloudStorageBuilder};
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
    /// Anyone reads them at `base` + key, forever: a CDN, the store's public endpoint, or
    /// the gateway's public route for a local bucket.
    Public {
        /// An absolute http(s) URL ending in `/`, without query or fragment.
        base: Arc<str>,
        backend: &'static str,
    },
}

/// A named bucket of objects: private ones are read by clients only through signed URLs
/// ([`Bucket::open`]), public ones at permanent URLs ([`Bucket::open_public`]).
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
            Links::Native { backend, .. } | Links::Public { backend, .. } => backend,
        };
        let mut debug = f.debug_struct("Bucket");
        debug.field("name", &self.name).field("backend", &backend);
        if let Links::Public { base, .. } = &self.links {
            debug.field("public_base", base);
        }
        debug.finish()
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
        let location = Location::parse(name, url)?;
        // Checked before a directory is created, so a misconfigured service leaves nothing.
        let require_links = || {
            local_links.ok_or_else(|| ConfigError::MissingLocalLinks {
                bucket: name.to_owned(),
            })
        };
        match location {
            Location::Directory(dir) => {
                let links = require_links()?;
                Ok(Self::local(name, local_store(name, &dir)?, links))
            }
            Location::Memory => Ok(Self::local(
                name,
                Arc::new(InMemory::new()),
                require_links()?,
            )),
            Location::Gcs => Self::gcs(name, GoogleCloudStorageBuilder::from_env().with_url(url)),
            Location::S3 => Self::s3(name, AmazonS3Builder::from_env().with_url(url)),
        }
    }

    /// Opens the bucket `name` stored at `url` (the same URLs as [`Bucket::open`]) as a
    /// public bucket: anyone may read an object at `public_base` + its key, and nothing is
    /// signed. `public_base` is a CDN, `https://storage.googleapis.com/<bucket>/` for GCS,
    /// or the gateway's `/photos/` route for `file://` buckets; a missing final `/` is
    /// added, so `https://cdn.example/p` serves `properties/a.jpg` at
    /// `https://cdn.example/p/properties/a.jpg`.
    ///
    /// Making the objects readable is the store's business (a public-read IAM binding on
    /// GCS, a bucket policy on S3, the gateway route locally); this only builds the URLs.
    pub fn open_public(name: &str, url: &str, public_base: Url) -> Result<Self, StorageError> {
        let location = Location::parse(name, url)?;
        let base = public_base_prefix(name, public_base)?;
        let (store, backend): (Arc<dyn ObjectStore>, _) = match location {
            Location::Directory(dir) => (local_store(name, &dir)?, "local"),
            Location::Memory => (Arc::new(InMemory::new()), "local"),
            Location::Gcs => (
                Arc::new(build_gcs(
                    name,
                    GoogleCloudStorageBuilder::from_env().with_url(url),
                )?),
                "gcs",
            ),
            Location::S3 => (
                Arc::new(build_s3(name, AmazonS3Builder::from_env().with_url(url))?),
                "s3",
            ),
        };
        Ok(Self {
            name: name.to_owned(),
            store,
            links: Links::Public {
                base: base.into(),
                backend,
            },
        })
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
        Ok(Self::native(
            name,
            Arc::new(build_gcs(name, builder)?),
            "gcs",
        ))
    }

    pub(crate) fn s3(name: &str, builder: AmazonS3Builder) -> Result<Self, StorageError> {
        Ok(Self::native(name, Arc::new(build_s3(name, builder)?), "s3"))
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
    /// S3, whose links never reach the gateway, and on public buckets, which have none.
    pub fn local_links(&self) -> Option<&LocalLinks> {
        match &self.links {
            Links::Local(links) => Some(links),
            Links::Native { .. } | Links::Public { .. } => None,
        }
    }

    /// The permanent URL of `key` in a public bucket, whether or not the object exists;
    /// `None` for a private bucket, whose objects are only read through
    /// [`Bucket::signed_get_url`].
    pub fn public_url(&self, key: &ObjectKey) -> Option<String> {
        match &self.links {
            // Keys are valid URL paths as they are (see ObjectKey), so nothing is escaped.
            Links::Public { base, .. } => Some(format!("{base}{key}")),
            Links::Local(_) | Links::Native { .. } => None,
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
    ///
    /// A public bucket refuses with [`StorageError::PublicBucket`] rather than hand out its
    /// permanent URL: a caller asking for an expiring link expects the object to be private,
    /// and should learn that it is not.
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
            Links::Public { .. } => {
                return Err(StorageError::PublicBucket {
                    bucket: self.name.clone(),
                });
            }
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

/// Where a bucket URL says the objects are, checked before anything is created or built.
enum Location {
    Directory(PathBuf),
    Memory,
    Gcs,
    S3,
}

impl Location {
    fn parse(name: &str, url: &str) -> Result<Self, ConfigError> {
        if !is_safe_segment(name) {
            return Err(ConfigError::InvalidBucketName {
                bucket: name.to_owned(),
            });
        }
        let invalid_url = || ConfigError::InvalidBucketUrl {
            bucket: name.to_owned(),
        };
        let parsed = Url::parse(url).map_err(|_| invalid_url())?;
        match parsed.scheme() {
            "file" => Ok(Self::Directory(
                parsed.to_file_path().map_err(|_| invalid_url())?,
            )),
            "memory" => Ok(Self::Memory),
            "gs" => {
                require_bare_bucket(&parsed).map_err(|()| invalid_url())?;
                Ok(Self::Gcs)
            }
            "s3" => {
                require_bare_bucket(&parsed).map_err(|()| invalid_url())?;
                Ok(Self::S3)
            }
            scheme => Err(ConfigError::UnsupportedScheme {
                bucket: name.to_owned(),
                scheme: scheme.to_owned(),
            }),
        }
    }
}

/// The directory `dir` as a store, created if missing.
fn local_store(name: &str, dir: &std::path::Path) -> Result<Arc<dyn ObjectStore>, ConfigError> {
    let local_dir_error = |source| ConfigError::LocalDirectory {
        bucket: name.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| local_dir_error(Box::new(e)))?;
    let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| local_dir_error(Box::new(e)))?;
    Ok(Arc::new(store))
}

fn build_gcs(
    name: &str,
    builder: GoogleCloudStorageBuilder,
) -> Result<GoogleCloudStorage, ConfigError> {
    builder.build().map_err(|source| ConfigError::Gcs {
        bucket: name.to_owned(),
        source,
    })
}

fn build_s3(name: &str, builder: AmazonS3Builder) -> Result<AmazonS3, ConfigError> {
    builder.build().map_err(|source| ConfigError::S3 {
        bucket: name.to_owned(),
        source,
    })
}

/// `public_base` as the string keys are appended to: an absolute http(s) URL with a host,
/// ending in `/`. A query, fragment or credentials would end up in every photo URL, so
/// they are refused.
fn public_base_prefix(name: &str, mut public_base: Url) -> Result<String, ConfigError> {
    let usable = matches!(public_base.scheme(), "http" | "https")
        && public_base.host_str().is_some_and(|host| !host.is_empty())
        && !public_base.cannot_be_a_base()
        && public_base.query().is_none()
        && public_base.fragment().is_none()
        && public_base.username().is_empty()
        && public_base.password().is_none();
    if !usable {
        return Err(ConfigError::InvalidPublicBase {
            bucket: name.to_owned(),
        });
    }
    if !public_base.path().ends_with('/') {
        // Without it, `base + key` would glue the key onto the last segment.
        let path = format!("{}/", public_base.path());
        public_base.set_path(&path);
    }
    Ok(public_base.into())
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
