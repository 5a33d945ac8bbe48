use std::fmt;

use crate::MediaError;

/// The image formats Rentory accepts for ID images, face scans and property photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    WebP,
}

impl ImageFormat {
    /// The content type to store and serve the file with.
    pub fn mime(&self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::WebP => "image/webp",
        }
    }

    /// File extension without the dot, for object keys.
    pub fn extension(&self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::WebP => "webp",
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::WebP => "WebP",
        })
    }
}

pub(crate) const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
/// SOI followed by the first byte of the next marker; every JPEG starts this way.
const JPEG_MAGIC: &[u8; 3] = b"\xFF\xD8\xFF";

/// Bytes [`sniff`] needs to decide; a shorter prefix may give `None` for a real image.
pub const SNIFF_LEN: usize = 12;
// Streaming callers sniff the first chunk of an upload and are promised 16 bytes suffice.
const _: () = assert!(SNIFF_LEN <= 16);

/// The format by magic bytes alone, from the first bytes of a file or stream.
///
/// Says nothing about whether the rest of the file is well formed: use [`crate::inspect`]
/// once the whole upload is in hand.
pub fn sniff(prefix: &[u8]) -> Option<ImageFormat> {
    if prefix.starts_with(JPEG_MAGIC) {
        Some(ImageFormat::Jpeg)
    } else if prefix.starts_with(PNG_SIGNATURE) {
        Some(ImageFormat::Png)
    } else if prefix.len() >= 12 && prefix.starts_with(b"RIFF") && &prefix[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else {
        None
    }
}

/// The longest declared type echoed back in an error, so a hostile header cannot bloat
/// responses or logs.
const MAX_ECHOED_DECLARED: usize = 64;

/// Checks the client's declared content type against what the bytes are.
///
/// An empty type and `application/octet-stream` are accepted because many HTTP clients
/// send them for every file part; `image/jpg` is a common misspelling of `image/jpeg`.
/// Parameters (`; charset=...`) and case are ignored.
pub fn check_declared(declared_content_type: &str, actual: ImageFormat) -> Result<(), MediaError> {
    let essence = declared_content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let declared = match essence.as_str() {
        "" | "application/octet-stream" => return Ok(()),
        "image/jpeg" | "image/jpg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    };
    if declared == Some(actual) {
        Ok(())
    } else {
        Err(MediaError::DeclaredTypeMismatch {
            declared: declared_content_type
                .chars()
                .take(MAX_ECHOED_DECLARED)
                .collect(),
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_format_from_a_short_prefix() {
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0\x00\x10JFIF"),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"),
            Some(ImageFormat::Png)
        );
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some(ImageFormat::WebP));
    }

    #[test]
    fn sniff_refuses_other_formats_and_short_prefixes() {
        for prefix in [
            &b"GIF89a\x10\0\x10\0"[..],
            b"%PDF-1.7\n",
            b"PK\x03\x04\x14\0",
            b"<!DOCTYPE html><html>",
            b"RIFF\x24\0\0\0WAVEfmt ",
            b"\xFF\xD8",
            b"\x89PNG",
            b"RIFF\x24\0\0\0WEB",
            b"",
        ] {
            assert_eq!(sniff(prefix), None, "{prefix:?}");
        }
    }

    #[test]
    fn sniff_needs_no_more_than_sniff_len_bytes() {
        assert_eq!(
            sniff(&b"RIFF\x24\0\0\0WEBPVP8 "[..SNIFF_LEN]),
            Some(ImageFormat::WebP)
        );
    }

    #[test]
    fn mime_and_extension() {
        assert_eq!(ImageFormat::Jpeg.mime(), "image/jpeg");
        assert_eq!(ImageFormat::Png.extension(), "png");
        assert_eq!(ImageFormat::WebP.mime(), "image/webp");
        assert_eq!(ImageFormat::WebP.to_string(), "WebP");
    }

    #[test]
    fn declared_type_matching_the_content_is_accepted() {
        for (declared, actual) in [
            ("image/jpeg", ImageFormat::Jpeg),
            ("image/jpg", ImageFormat::Jpeg),
            ("IMAGE/JPEG; charset=binary", ImageFormat::Jpeg),
            ("image/png", ImageFormat::Png),
            (" image/webp ", ImageFormat::WebP),
            ("", ImageFormat::Png),
            ("application/octet-stream", ImageFormat::WebP),
        ] {
            assert_eq!(check_declared(declared, actual), Ok(()), "{declared}");
        }
    }

    #[test]
    fn declared_type_not_matching_the_content_is_refused() {
        for (declared, actual) in [
            ("image/png", ImageFormat::Jpeg),
            ("image/jpeg", ImageFormat::WebP),
            ("image/gif", ImageFormat::Png),
            ("text/html", ImageFormat::Jpeg),
            ("image/svg+xml", ImageFormat::Png),
            ("application/pdf", ImageFormat::Jpeg),
        ] {
            let err = check_declared(declared, actual).err();
            assert!(
                matches!(&err, Some(e @ MediaError::DeclaredTypeMismatch { .. }) if e.is_unsupported_media()),
                "{declared}: {err:?}"
            );
        }
    }

    #[test]
    fn a_long_declared_type_is_shortened_in_the_error() {
        let declared = format!("image/{}", "x".repeat(10_000));
        match check_declared(&declared, ImageFormat::Png) {
            Err(MediaError::DeclaredTypeMismatch { declared, .. }) => {
                assert_eq!(declared.chars().count(), MAX_ECHOED_DECLARED)
            }
            other => panic!("{other:?}"),
        }
    }
}
