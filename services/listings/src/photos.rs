//! Listing photos: checked, re-encoded for publication, stored in the public bucket.
//!
//! A phone photo carries EXIF: the camera, the time, and GPS coordinates that can place a
//! landlord's own home. Nothing uploaded is ever published as sent: every photo is decoded
//! and encoded again as a plain JPEG ([`rentory_media::reencode_for_publication`]), which
//! keeps the pixels (turned upright) and nothing else. The re-encoded bytes are also what
//! the AI model sees. Keys are the SHA-256 of the published bytes, so the same photo
//! uploaded twice is stored once and its URL can be cached forever.

use bytes::Bytes;
use futures::StreamExt;
use rentory_media::{Limits, check_declared, inspect};
use rentory_proto::listings::v1 as pb;
use rentory_storage::{Bucket, ObjectKey};
use sha2::{Digest, Sha256};

use crate::error::Error;

pub const MAX_PHOTOS: usize = 10;

/// A photo ready to publish.
#[derive(Debug, Clone)]
pub struct Published {
    pub bytes: Bytes,
    pub sha256: [u8; 32],
    pub width: u32,
    pub height: u32,
}

/// A published photo, stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub photo: Published,
    pub key: ObjectKey,
    pub url: String,
}

/// Checks and re-encodes each photo, all on blocking threads (decoding is CPU work).
pub async fn publish_all(
    photos: Vec<pb::Photo>,
    max_bytes: usize,
) -> Result<Vec<Published>, Error> {
    if photos.is_empty() || photos.len() > MAX_PHOTOS {
        return Err(Error::invalid(
            "photos",
            format!("between 1 and {MAX_PHOTOS} photos"),
        ));
    }
    let mut published = Vec::with_capacity(photos.len());
    let work = photos
        .into_iter()
        .enumerate()
        .map(|(index, photo)| async move {
            // Decoding a 12 MP photo holds ~135 MB while it resizes: bound how many run at once
            // in the whole process, whatever the number of concurrent requests.
            let _permit = REENCODING
                .acquire()
                .await
                .map_err(|_| Error::Corrupt("the re-encoding limiter is closed".into()))?;
            tokio::task::spawn_blocking(move || publish_one(index, &photo, max_bytes)).await?
        });
    let mut in_order = futures::stream::iter(work).buffered(MAX_CONCURRENT_REENCODES);
    while let Some(photo) = in_order.next().await {
        published.push(photo?);
    }
    Ok(published)
}

/// Photos re-encoded at once in this process (one per core of a small Cloud Run instance).
const MAX_CONCURRENT_REENCODES: usize = 2;
static REENCODING: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(MAX_CONCURRENT_REENCODES);

fn publish_one(index: usize, photo: &pb::Photo, max_bytes: usize) -> Result<Published, Error> {
    let field = || format!("photos[{index}]");
    if photo.data.len() > max_bytes {
        return Err(Error::Invalid(vec![(
            "photos",
            format!(
                "photo {} is {} bytes; at most {max_bytes} bytes each",
                index + 1,
                photo.data.len()
            ),
        )]));
    }
    let limits = Limits::default();
    let media = |source| Error::Media {
        field: field(),
        source,
    };
    let info = inspect(&photo.data, &limits).map_err(media)?;
    check_declared(&photo.mime_type, info.format).map_err(media)?;
    let image = rentory_media::reencode_for_publication(
        &photo.data,
        &limits,
        rentory_media::DEFAULT_MAX_EDGE,
    )
    .map_err(media)?;
    let sha256: [u8; 32] = Sha256::digest(&image.bytes).into();
    Ok(Published {
        bytes: Bytes::from(image.bytes),
        sha256,
        width: image.width,
        height: image.height,
    })
}

/// Stores each photo under `properties/<sha256>.jpg`; storing the same photo again is a
/// harmless overwrite with identical bytes.
pub async fn store_all(bucket: &Bucket, photos: Vec<Published>) -> Result<Vec<Stored>, Error> {
    let puts = photos.into_iter().map(|photo| async move {
        let key = ObjectKey::parse(&format!("properties/{}.jpg", hex::encode(photo.sha256)))
            .map_err(|e| Error::Corrupt(format!("photo key: {e}")))?;
        bucket.put(&key, photo.bytes.clone()).await?;
        let url = bucket
            .public_url(&key)
            .ok_or_else(|| Error::Corrupt("the photo bucket is not public".into()))?;
        Ok::<_, Error>(Stored { photo, key, url })
    });
    futures::future::try_join_all(puts).await
}
