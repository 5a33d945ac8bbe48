//! Object storage for private files (KYC ID images and face scans), read by clients only
//! through short-lived signed URLs.
//!
//! In production a [`Bucket`] is a GCS bucket and links are GCS V4 signed URLs. Locally it
//! is a directory (or memory, in tests) and links point at the gateway, which checks them
//! with [`LocalLinks`] before reading the object:
//!
//! ```no_run
//! # async fn serve(bucket: &rentory_storage::Bucket, key: &str, expires: i64, signature: &str)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! // GET /files/{bucket}/{*key}?expires=&signature=, with `bucket` chosen by name
//! let links = bucket.local_links().ok_or("not a local bucket")?; // -> 404
//! let key = links.verify(bucket.name(), key, expires, signature, time::OffsetDateTime::now_utc())?;
//! let bytes = bucket.get(&key).await?; // NotFound -> 404
//! # Ok(()) }
//! ```
//!
//! Signed URLs are credentials: they are never logged here (spans carry bucket and key
//! only) and should not be logged by callers either.
//!
//! Listing photos live in a public bucket instead ([`Bucket::open_public`]): their objects
//! have permanent URLs under a public base (a CDN, the store's public endpoint, or the
//! gateway's `/photos/` route for a local bucket), and nothing is signed.

mod bucket;
mod error;
mod key;
mod links;

pub use bucket::{Bucket, DEFAULT_SIGNED_URL_TTL, SignedUrl};
pub use error::{ConfigError, StorageError};
pub use key::{KeyError, MAX_KEY_LEN, ObjectKey};
pub use links::{LinkError, LocalLinks, MIN_SECRET_LEN};

/// The gateway's public base URL, used to build local file links.
pub const PUBLIC_URL_VAR: &str = "RENTORY_PUBLIC_URL";
/// The secret local file links are signed with; shared by the signer and the gateway.
pub const FILE_URL_SECRET_VAR: &str = "RENTORY_FILE_URL_SECRET";
