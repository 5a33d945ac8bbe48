//! One interface over the two providers: Gemini when a key is configured, the offline
//! rules otherwise. Every answer carries the model that produced it and a record of each
//! model request it took (for `ai.calls`), failed answers included.

use std::time::Instant;

use rentory_persona::Persona;

use crate::call_log::CallRecord;
use crate::error::Error;
use crate::gemini::GeminiProvider;
use crate::offline;
use crate::task::{
    Comparable, ConciergeAnswer, FaceMatchAnswer, LeaseDraft, LeaseRequest, ListingDraft,
    PhotoFacts, Turn,
};

#[derive(Clone)]
pub enum Provider {
    Offline,
    Gemini(GeminiProvider),
}

#[derive(Debug)]
pub struct Answered<T> {
    pub value: T,
    pub model: String,
    pub records: Vec<CallRecord>,
}

#[derive(Debug)]
pub struct Failed {
    pub error: Error,
    pub records: Vec<CallRecord>,
}

pub type Answer<T> = Result<Answered<T>, Failed>;

/// A photo as received and checked.
pub struct Photo {
    pub facts: PhotoFacts,
    pub data: bytes::Bytes,
}

impl Provider {
    /// What produced an answer, for cache keys: "offline" or the fast model chain.
    pub fn identity(&self) -> String {
        match self {
            Self::Offline => offline::MODEL.to_owned(),
            Self::Gemini(gemini) => gemini.fast_chain(),
        }
    }

    pub async fn concierge(
        &self,
        persona: &Persona,
        history: &[Turn],
        message: &str,
    ) -> Answer<ConciergeAnswer> {
        match self {
            Self::Offline => Ok(answer_offline(|| {
                offline::concierge::concierge_turn(persona, message, history)
            })),
            Self::Gemini(gemini) => from_outcome(gemini.concierge(persona, history, message).await),
        }
    }

    pub async fn analyze_photos(
        &self,
        photos: &[Photo],
        notes: &str,
        address: &str,
        comparables: &[Comparable],
    ) -> Answer<ListingDraft> {
        match self {
            Self::Offline => Ok(answer_offline(|| {
                let facts: Vec<PhotoFacts> = photos.iter().map(|p| p.facts.clone()).collect();
                offline::photos::analyze_photos(&facts, notes, address, comparables)
            })),
            Self::Gemini(gemini) => {
                let inline: Vec<(String, bytes::Bytes)> = photos
                    .iter()
                    .map(|p| (p.facts.mime_type.clone(), p.data.clone()))
                    .collect();
                from_outcome(
                    gemini
                        .analyze_photos(&inline, notes, address, comparables)
                        .await,
                )
            }
        }
    }

    pub async fn draft_lease(&self, request: &LeaseRequest) -> Answer<LeaseDraft> {
        match self {
            Self::Offline => Ok(answer_offline(|| offline::lease::draft_lease(request))),
            Self::Gemini(gemini) => from_outcome(gemini.draft_lease(request).await),
        }
    }

    pub async fn face_match(&self, id_image: &Photo, face_scan: &Photo) -> Answer<FaceMatchAnswer> {
        match self {
            Self::Offline => Ok(answer_offline(offline::face_match)),
            Self::Gemini(gemini) => from_outcome(
                gemini
                    .face_match(
                        (id_image.facts.mime_type.clone(), id_image.data.clone()),
                        (face_scan.facts.mime_type.clone(), face_scan.data.clone()),
                    )
                    .await,
            ),
        }
    }
}

fn answer_offline<T>(answer: impl FnOnce() -> T) -> Answered<T> {
    let started = Instant::now();
    let value = answer();
    Answered {
        value,
        model: offline::MODEL.to_owned(),
        records: vec![CallRecord::free(
            offline::MODEL,
            "offline",
            started.elapsed(),
        )],
    }
}

fn from_outcome<T>(outcome: rentory_gemini::Outcome<T>) -> Answer<T> {
    let records = outcome
        .attempts
        .iter()
        .map(CallRecord::from_attempt)
        .collect();
    match outcome.result {
        Ok(generated) => Ok(Answered {
            value: generated.value,
            model: generated.model,
            records,
        }),
        Err(error) => Err(Failed {
            error: Error::from_model(error),
            records,
        }),
    }
}
