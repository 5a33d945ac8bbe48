//! Identical photo-analysis requests are answered from Redis instead of the model.
//!
//! The key is a SHA-256 over each photo's own SHA-256 (in order), the notes, the address,
//! the comparables and the provider's model chain, so the same photos with different notes,
//! or after a model change, are analysed afresh. A cache failure is logged and the request
//! goes to the model: the cache saves money, it is never a reason to fail.

use std::time::Duration;

use deadpool_redis::redis::{self, AsyncCommands};
use rentory_persona::{Category, RentPeriod};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::task::{Comparable, ListingDraft};

#[derive(Clone)]
pub struct PhotoCache {
    redis: deadpool_redis::Pool,
    prefix: String,
    ttl: Duration,
}

/// What one analysis produced; stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedAnalysis {
    pub model: String,
    category: Category,
    title: String,
    description: String,
    amenities: Vec<String>,
    neighborhood_description: String,
    suggested_price_kobo: Option<i64>,
    rent_period: RentPeriod,
    bedrooms: Option<u32>,
    bathrooms: Option<u32>,
    confidence: f64,
    reasons: Vec<String>,
}

impl CachedAnalysis {
    pub fn new(model: &str, draft: &ListingDraft) -> Self {
        Self {
            model: model.to_owned(),
            category: draft.category,
            title: draft.title.clone(),
            description: draft.description.clone(),
            amenities: draft.amenities.clone(),
            neighborhood_description: draft.neighborhood_description.clone(),
            suggested_price_kobo: draft.suggested_price_kobo,
            rent_period: draft.rent_period,
            bedrooms: draft.bedrooms,
            bathrooms: draft.bathrooms,
            confidence: draft.confidence,
            reasons: draft.reasons.clone(),
        }
    }

    pub fn into_draft(self) -> (String, ListingDraft) {
        (
            self.model,
            ListingDraft {
                category: self.category,
                title: self.title,
                description: self.description,
                amenities: self.amenities,
                neighborhood_description: self.neighborhood_description,
                suggested_price_kobo: self.suggested_price_kobo,
                rent_period: self.rent_period,
                bedrooms: self.bedrooms,
                bathrooms: self.bathrooms,
                confidence: self.confidence,
                reasons: self.reasons,
            },
        )
    }
}

/// The inputs that decide an analysis.
pub struct AnalysisKey<'a> {
    pub photos: &'a [&'a [u8]],
    pub notes: &'a str,
    pub address: &'a str,
    pub comparables: &'a [Comparable],
    /// "offline", or the model chain in order.
    pub provider: &'a str,
}

impl AnalysisKey<'_> {
    /// Hex SHA-256 of everything that decides the answer, each part length-prefixed so no
    /// two different requests can run together into the same bytes.
    pub fn digest(&self) -> String {
        let mut hash = Sha256::new();
        let mut part = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_be_bytes());
            hash.update(bytes);
        };
        part(self.provider.as_bytes());
        part(&(self.photos.len() as u64).to_be_bytes());
        for photo in self.photos {
            part(&Sha256::digest(photo));
        }
        part(self.notes.as_bytes());
        part(self.address.as_bytes());
        for c in self.comparables {
            part(
                format!(
                    "{}|{}|{:?}|{}|{}",
                    c.price_kobo,
                    c.rent_period.as_str(),
                    c.bedrooms,
                    c.distance_km,
                    c.category.as_str()
                )
                .as_bytes(),
            );
        }
        hex::encode(hash.finalize())
    }
}

impl PhotoCache {
    pub fn new(redis: deadpool_redis::Pool, prefix: &str, ttl: Duration) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            ttl,
        }
    }

    fn key(&self, digest: &str) -> String {
        format!("{}:photos:{digest}", self.prefix)
    }

    #[tracing::instrument(skip_all)]
    pub async fn get(&self, digest: &str) -> Option<CachedAnalysis> {
        let read = async {
            let mut conn = self.redis.get().await.map_err(|e| e.to_string())?;
            let raw: Option<String> = conn
                .get(self.key(digest))
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(raw)
        };
        match read.await {
            Ok(Some(raw)) => match serde_json::from_str(&raw) {
                Ok(cached) => Some(cached),
                Err(e) => {
                    tracing::warn!(error = %e, "ignoring an unreadable cached analysis");
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = e, "photo cache unreadable; asking the model");
                None
            }
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn put(&self, digest: &str, analysis: &CachedAnalysis) {
        let Ok(json) = serde_json::to_string(analysis) else {
            return;
        };
        let write = async {
            let mut conn = self.redis.get().await.map_err(|e| e.to_string())?;
            redis::cmd("SET")
                .arg(self.key(digest))
                .arg(json)
                .arg("EX")
                .arg(self.ttl.as_secs().max(1))
                .query_async::<()>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        if let Err(e) = write.await {
            tracing::warn!(error = e, "photo analysis not cached");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(photos: &'a [&'a [u8]], notes: &'a str, provider: &'a str) -> AnalysisKey<'a> {
        AnalysisKey {
            photos,
            notes,
            address: "Yaba, Lagos",
            comparables: &[],
            provider,
        }
    }

    #[test]
    fn any_input_change_changes_the_key() {
        let a: &[u8] = b"photo-a";
        let b: &[u8] = b"photo-b";
        let base = key(&[a, b], "3 bedroom", "offline").digest();
        assert_eq!(base, key(&[a, b], "3 bedroom", "offline").digest());
        assert_ne!(base, key(&[b, a], "3 bedroom", "offline").digest());
        assert_ne!(base, key(&[a], "3 bedroom", "offline").digest());
        assert_ne!(base, key(&[a, b], "2 bedroom", "offline").digest());
        assert_ne!(
            base,
            key(&[a, b], "3 bedroom", "gemini-3-flash-preview").digest()
        );
        // Length prefixes keep parts from running together.
        let ab: &[u8] = b"photo-aphoto-b";
        assert_ne!(base, key(&[ab], "3 bedroom", "offline").digest());
    }
}
