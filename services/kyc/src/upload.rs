//! The two uploads of a submission: checked by their bytes, then stored untouched.
//!
//! The gateway already caps and sniffs uploads while streaming; this service trusts none of
//! that and checks again: size first (before anything reads the bytes), then the type by
//! magic bytes and the structure (a polyglot is refused), the dimensions from the header,
//! and finally that the client's declared type agrees with the bytes.

use bytes::Bytes;
use rentory_media::{ImageFormat, Limits, check_declared, inspect};
use rentory_proto::kyc::v1 as pb;
use rentory_storage::{Bucket, ObjectKey};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::Error;
use crate::verification::ImageKind;
use crate::verification::db::StoredImage;

/// An upload that passed every check.
#[derive(Debug, Clone)]
pub struct CheckedImage {
    pub kind: ImageKind,
    pub bytes: Bytes,
    pub format: ImageFormat,
    pub sha256: [u8; 32],
}

/// Checks one upload; the error names the field.
pub fn check(
    kind: ImageKind,
    image: Option<pb::Image>,
    max_bytes: usize,
    limits: &Limits,
) -> Result<CheckedImage, Error> {
    let field = kind.field();
    let Some(image) = image.filter(|i| !i.data.is_empty()) else {
        return Err(Error::invalid(field, "is required"));
    };
    if image.data.len() > max_bytes {
        return Err(Error::TooLarge {
            field,
            size: image.data.len(),
            max: max_bytes,
        });
    }
    let media = |source| Error::Media { field, source };
    let info = inspect(&image.data, limits).map_err(media)?;
    check_declared(&image.declared_content_type, info.format).map_err(media)?;
    let sha256 = Sha256::digest(&image.data).into();
    Ok(CheckedImage {
        kind,
        bytes: Bytes::from(image.data),
        format: info.format,
        sha256,
    })
}

/// `verifications/<request id>/<field>.<ext>`.
pub fn object_key(
    request_id: Uuid,
    kind: ImageKind,
    format: ImageFormat,
) -> Result<ObjectKey, Error> {
    let key = format!(
        "verifications/{request_id}/{}.{}",
        kind.field(),
        format.extension()
    );
    ObjectKey::parse(&key).map_err(|_| Error::corrupt(format!("object key {key} is invalid")))
}

/// Stores the original bytes, exactly as received.
#[tracing::instrument(skip_all, fields(verification_request_id = %request_id, image = image.kind.field()))]
pub async fn store(
    bucket: &Bucket,
    request_id: Uuid,
    image: &CheckedImage,
) -> Result<StoredImage, Error> {
    let key = object_key(request_id, image.kind, image.format)?;
    bucket.put(&key, image.bytes.clone()).await?;
    Ok(StoredImage {
        key,
        mime: image.format.mime(),
        byte_size: i64::try_from(image.bytes.len()).map_err(|_| Error::corrupt("image size"))?,
        sha256: image.sha256,
    })
}

/// Best-effort removal of originals whose request was never recorded.
pub async fn discard(bucket: &Bucket, stored: &[StoredImage]) {
    for image in stored {
        if let Err(e) = bucket.delete(&image.key).await {
            tracing::warn!(key = %image.key, error = rentory_runtime::error_chain(&e), "could not remove an orphaned upload");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use rentory_media::fixtures;
    use rentory_media::{MediaError, MediaErrorKind};

    use super::*;

    const MAX: usize = 1024 * 1024;

    fn image(data: &[u8], declared: &str) -> Option<pb::Image> {
        Some(pb::Image {
            data: data.to_vec(),
            declared_content_type: declared.into(),
        })
    }

    #[test]
    fn accepts_every_real_fixture_and_hashes_the_original() {
        for (name, bytes, format, _, _) in fixtures::ALL {
            let checked = check(
                ImageKind::IdImage,
                image(bytes, format.mime()),
                MAX,
                &Limits::default(),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(checked.format, *format);
            assert_eq!(&checked.bytes[..], *bytes, "stored untouched");
            assert_eq!(checked.sha256, <[u8; 32]>::from(Sha256::digest(bytes)));
        }
    }

    #[test]
    fn a_missing_or_empty_upload_is_a_field_error() {
        for missing in [None, image(b"", "image/png")] {
            assert!(matches!(
                check(ImageKind::FaceScan, missing, MAX, &Limits::default()),
                Err(Error::Invalid {
                    field: "face_scan",
                    ..
                })
            ));
        }
    }

    #[test]
    fn size_is_checked_before_anything_else() {
        // Not even an image: the size alone decides.
        let big = vec![0u8; 101];
        assert!(matches!(
            check(
                ImageKind::IdImage,
                image(&big, "image/png"),
                100,
                &Limits::default()
            ),
            Err(Error::TooLarge {
                field: "id_image",
                size: 101,
                max: 100
            })
        ));
    }

    #[test]
    fn wrong_magic_lying_types_and_polyglots_are_unsupported_media() {
        let mut polyglot = fixtures::PNG_16.to_vec();
        polyglot.extend_from_slice(b"PK\x03\x04 a zip archive follows");
        for (data, declared) in [
            (&b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"[..], "image/gif"),
            (&b"%PDF-1.7\n"[..], "image/jpeg"),
            (fixtures::PNG_16, "image/jpeg"),
            (polyglot.as_slice(), "image/png"),
        ] {
            match check(
                ImageKind::IdImage,
                image(data, declared),
                MAX,
                &Limits::default(),
            ) {
                Err(Error::Media {
                    field: "id_image",
                    source,
                }) => {
                    assert_eq!(source.kind(), MediaErrorKind::UnsupportedMedia, "{source}")
                }
                other => panic!("{declared}: {other:?}"),
            }
        }
    }

    #[test]
    fn dimensions_over_the_limit_are_unprocessable() {
        let tiny = Limits {
            max_side: 8,
            max_pixels: 64,
        };
        match check(
            ImageKind::FaceScan,
            image(fixtures::JPEG_16_BASELINE, ""),
            MAX,
            &tiny,
        ) {
            Err(Error::Media {
                source: e @ MediaError::TooLarge { .. },
                ..
            }) => {
                assert_eq!(e.kind(), MediaErrorKind::Unprocessable)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_name_the_request_the_field_and_the_real_extension() {
        let id = Uuid::now_v7();
        let key = object_key(id, ImageKind::FaceScan, ImageFormat::WebP).unwrap();
        assert_eq!(key.as_str(), format!("verifications/{id}/face_scan.webp"));
    }
}
