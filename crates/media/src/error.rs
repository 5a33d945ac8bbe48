use crate::{ImageFormat, Limits};

/// Why an upload was refused.
///
/// Display texts are safe to show to the uploader: they never echo file contents and
/// only a shortened, escaped form of the declared content type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// Not JPEG, PNG or WebP by its magic bytes (GIF, PDF, HTML, ZIP, ...).
    #[error("the file is not a JPEG, PNG or WebP image")]
    UnsupportedFormat,

    /// A variant of an accepted format that downstream decoders do not reliably handle.
    #[error("this kind of {format} is not supported: {what}")]
    UnsupportedVariant {
        format: ImageFormat,
        what: &'static str,
    },

    /// The client said one type and sent another.
    #[error("the declared content type {declared:?} does not match the {actual} content")]
    DeclaredTypeMismatch {
        declared: String,
        actual: ImageFormat,
    },

    /// Truncated, inconsistent lengths, misplaced markers: not a well-formed file.
    #[error("the {format} file is malformed: {reason}")]
    Malformed {
        format: ImageFormat,
        reason: &'static str,
    },

    /// Bytes after the end of the image: the signature of a polyglot (ZIP, PDF, script
    /// appended to an image).
    #[error("the {format} file has {len} bytes of other data after the end of the image")]
    TrailingData { format: ImageFormat, len: usize },

    /// Markup or script text hidden in the image's metadata.
    #[error("the {format} file carries markup or script in its metadata")]
    EmbeddedMarkup { format: ImageFormat },

    /// Width or height is zero.
    #[error("the image is {width}x{height}; both sides must be at least 1 pixel")]
    ZeroDimension { width: u32, height: u32 },

    /// Larger than [`Limits`] allow.
    #[error(
        "the image is {width}x{height}; at most {max_side} pixels a side and {max_pixels} pixels in all are accepted",
        max_side = limits.max_side,
        max_pixels = limits.max_pixels
    )]
    TooLarge {
        width: u32,
        height: u32,
        limits: Limits,
    },

    /// Walks cleanly as a file, but its pixels cannot be decoded (corrupt compressed data,
    /// a codec feature the decoder lacks) or re-encoded; only from re-encoding.
    #[error("the {format} image cannot be processed: {reason}")]
    Undecodable {
        format: ImageFormat,
        reason: &'static str,
    },
}

/// How a caller should answer a [`MediaError`], without matching on variants or text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaErrorKind {
    /// HTTP 415: the bytes are not an acceptable image file.
    UnsupportedMedia,
    /// HTTP 422: a genuine image file, but its dimensions are refused.
    Unprocessable,
    /// HTTP 422: a well-formed image file whose pixels cannot be decoded (only
    /// re-encoding for publication decodes).
    Undecodable,
}

impl MediaErrorKind {
    pub fn http_status(self) -> u16 {
        match self {
            Self::UnsupportedMedia => 415,
            Self::Unprocessable | Self::Undecodable => 422,
        }
    }
}

impl MediaError {
    pub fn kind(&self) -> MediaErrorKind {
        match self {
            Self::ZeroDimension { .. } | Self::TooLarge { .. } => MediaErrorKind::Unprocessable,
            Self::Undecodable { .. } => MediaErrorKind::Undecodable,
            Self::UnsupportedFormat
            | Self::UnsupportedVariant { .. }
            | Self::DeclaredTypeMismatch { .. }
            | Self::Malformed { .. }
            | Self::TrailingData { .. }
            | Self::EmbeddedMarkup { .. } => MediaErrorKind::UnsupportedMedia,
        }
    }

    pub fn is_unsupported_media(&self) -> bool {
        self.kind() == MediaErrorKind::UnsupportedMedia
    }
}
