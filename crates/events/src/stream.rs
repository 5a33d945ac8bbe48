use std::time::Duration;

use async_nats::jetstream::{self, stream};

use crate::error::EventError;

/// The one stream holding every Rentory domain event.
pub const STREAM: &str = "RENTORY";
/// Every event subject is `rentory.<service>.<entity>.<verb>`.
pub const SUBJECTS: &str = "rentory.>";
/// Window in which JetStream drops a re-publish of the same `Nats-Msg-Id`. It covers a
/// relay that crashed between publishing and marking the row and came back within it;
/// anything later is caught by the consumers' `processed_events`.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long events stay in the stream: long enough for a durable consumer that was down
/// for days to catch up, short enough that the stream does not grow forever.
pub const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The stream's name and subjects. Production uses [`StreamSettings::default`]
/// (`RENTORY`, `rentory.>`); tests sharing one NATS server pick their own so they do not
/// overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    pub name: String,
    pub subjects: Vec<String>,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            name: STREAM.to_owned(),
            subjects: vec![SUBJECTS.to_owned()],
        }
    }
}

impl StreamSettings {
    pub fn new(name: impl Into<String>, subjects: Vec<String>) -> Self {
        Self {
            name: name.into(),
            subjects,
        }
    }

    fn to_config(&self) -> stream::Config {
        stream::Config {
            name: self.name.clone(),
            subjects: self.subjects.clone(),
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            duplicate_window: DUPLICATE_WINDOW,
            max_age: MAX_AGE,
            ..Default::default()
        }
    }

    /// Creates the stream, or updates it to these settings; safe to call from every service
    /// at every start.
    pub async fn ensure(&self, js: &jetstream::Context) -> Result<(), EventError> {
        js.create_or_update_stream(self.to_config())
            .await
            .map(|_| ())
            .map_err(|source| EventError::Stream {
                stream: self.name.clone(),
                source: Box::new(source),
            })
    }
}

/// Creates or updates the production stream ([`StreamSettings::default`]).
pub async fn ensure_stream(js: &jetstream::Context) -> Result<(), EventError> {
    StreamSettings::default().ensure(js).await
}
