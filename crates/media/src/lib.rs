//! Inspection of uploaded images before they are stored or shown to anyone.
//!
//! The gateway calls [`inspect`] at the edge, before any RPC; KYC and listings call it
//! again on what they receive. Only JPEG, PNG and WebP are accepted. Nothing is decoded:
//! the format comes from magic bytes, the dimensions from the header (checked against
//! [`Limits`] before the rest of the file is even walked), and the container is walked
//! end to end so a file that is also something else (an image with a ZIP, PDF or script
//! appended) is refused.
//!
//! What a structural walk cannot refuse is a payload *inside* a well-formed container,
//! such as a ZIP stored in a JPEG comment whose end-of-directory record covers the rest
//! of the file. [`inspect`] refuses markup in metadata (see the `markup` module), but the
//! guarantee that an upload is only ever an image comes from how it is served: with the
//! sniffed [`ImageFormat::mime`] and `X-Content-Type-Options: nosniff`.
//!
//! With the `publish` feature, `reencode_for_publication` does decode: it turns a listing
//! photo that passed [`inspect`] into a fresh JPEG with no metadata, for the public bucket.
//!
//! ```
//! # let upload: &[u8] = &[];
//! # let declared = "image/png";
//! use rentory_media::{check_declared, inspect, Limits};
//! match inspect(upload, &Limits::default()) {
//!     Ok(info) => {
//!         check_declared(declared, info.format)?;
//!         // store with info.format.mime()
//!     }
//!     Err(e) => {
//!         let _status = e.kind().http_status(); // 415 or 422
//!     }
//! }
//! # Ok::<(), rentory_media::MediaError>(())
//! ```

mod cursor;
mod error;
mod format;
mod jpeg;
mod limits;
mod markup;
mod png;
mod webp;

#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;

#[cfg(feature = "publish")]
mod publish;

#[cfg(test)]
mod tests;

pub use error::{MediaError, MediaErrorKind};
pub use format::{ImageFormat, SNIFF_LEN, check_declared, sniff};
pub use limits::Limits;
#[cfg(feature = "publish")]
pub use publish::{DEFAULT_MAX_EDGE, PublishedImage, reencode_for_publication};

/// What [`inspect`] found in an acceptable image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageInfo {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// Checks that `bytes` are one well-formed JPEG, PNG or WebP image within `limits`.
///
/// Runs in time linear in the input and allocates nothing proportional to it or to the
/// declared dimensions, so it is safe on any upload the size limits let through.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<ImageInfo, MediaError> {
    match sniff(bytes) {
        Some(ImageFormat::Jpeg) => jpeg::inspect(bytes, limits),
        Some(ImageFormat::Png) => png::inspect(bytes, limits),
        Some(ImageFormat::WebP) => webp::inspect(bytes, limits),
        None => Err(MediaError::UnsupportedFormat),
    }
}
