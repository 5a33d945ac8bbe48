//! The offline provider: the default when no Gemini key is configured. It answers every
//! task without network from rules, the gazetteer of Nigerian places (`rentory-places`)
//! and the data the caller passes in, and says so (`model: "offline"`, lower confidence,
//! reasons naming what each answer was based on).

pub mod concierge;
pub mod lease;
pub mod photos;
pub mod reading;

/// The gazetteer moved to its own crate so the listings service can use it too; this keeps
/// `offline::gazetteer::...` paths working.
pub use rentory_places as gazetteer;

use crate::task::{FaceMatchAnswer, Verdict};

/// The model name every offline answer carries.
pub const MODEL: &str = "offline";

/// Without a model no faces are compared: a person decides.
pub fn face_match() -> FaceMatchAnswer {
    FaceMatchAnswer {
        score: None,
        verdict: Verdict::Unavailable,
        reasons: vec![
            "no AI model is configured (offline provider): faces were not compared; a reviewer must compare the ID image and the face scan".to_owned(),
        ],
    }
}
