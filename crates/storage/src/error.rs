use crate::{FILE_URL_SECRET_VAR, ObjectKey, PUBLIC_URL_VAR};

/// What can go wrong with a bucket.
///
/// Display texts name buckets, keys and settings, never a URL or a secret: bucket URLs
/// can carry credentials and signed URLs are credentials. The backend's own error stays
/// reachable through `source()` for logs.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object {key} not found in bucket {bucket}")]
    NotFound { bucket: String, key: ObjectKey },

    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A signed URL was asked for with a lifetime outside 1 s ..= 7 days (the GCS limit,
    /// applied locally too so both behave alike).
    #[error("a signed URL must live between 1 second and 7 days")]
    InvalidTtl,

    /// A signed URL was asked for in a public bucket, whose objects have permanent URLs
    /// instead ([`crate::Bucket::public_url`]).
    #[error("bucket {bucket} is public: its objects have permanent URLs, not signed ones")]
    PublicBucket { bucket: String },

    #[error("storage backend failed to {operation} in bucket {bucket}")]
    Backend {
        bucket: String,
        operation: &'static str,
        #[source]
        source: object_store::Error,
    },
}

impl StorageError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

/// Start-up configuration that cannot work; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "bucket {bucket} is stored locally, so the gateway must serve its signed links: set {PUBLIC_URL_VAR} and {FILE_URL_SECRET_VAR}"
    )]
    MissingLocalLinks { bucket: String },

    #[error("{var} is not set")]
    MissingVar { var: &'static str },

    #[error("{var} must be at least {min} bytes of random data")]
    WeakSecret { var: &'static str, min: usize },

    #[error("{var} must be an absolute http(s) URL without query or fragment")]
    InvalidPublicUrl { var: &'static str },

    #[error(
        "the public base URL for bucket {bucket} must be an absolute http(s) URL without query, fragment or credentials"
    )]
    InvalidPublicBase { bucket: String },

    #[error("bucket name {bucket:?} must be letters, digits, '.', '_' or '-'")]
    InvalidBucketName { bucket: String },

    #[error(
        "the URL for bucket {bucket} is not valid; expected file:///abs/path, memory://, gs://bucket-name or s3://bucket-name"
    )]
    InvalidBucketUrl { bucket: String },

    #[error(
        "the URL scheme {scheme:?} for bucket {bucket} is not supported; use file://, memory://, gs:// or s3://"
    )]
    UnsupportedScheme { bucket: String, scheme: String },

    #[error("cannot create the local directory for bucket {bucket}")]
    LocalDirectory {
        bucket: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error(
        "cannot set up Google Cloud Storage for bucket {bucket}; check GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_KEY or GOOGLE_APPLICATION_CREDENTIALS"
    )]
    Gcs {
        bucket: String,
        #[source]
        source: object_store::Error,
    },

    #[error(
        "cannot set up S3 for bucket {bucket}; check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION"
    )]
    S3 {
        bucket: String,
        #[source]
        source: object_store::Error,
    },
}
