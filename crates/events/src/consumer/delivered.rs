use async_nats::jetstream;
use bytes::Bytes;
use uuid::Uuid;

use async_nats::header::NATS_MESSAGE_ID;

use crate::error::HandlerError;
use crate::trace::TRACEPARENT_HEADER;

/// One delivery of an event, as handlers see it.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The event id (`Nats-Msg-Id`, the outbox row id).
    pub id: Uuid,
    pub subject: String,
    /// Protobuf bytes; see [`Delivered::decode`].
    pub payload: Bytes,
    /// 1 on first delivery, more on redelivery.
    pub delivery_count: u64,
    /// W3C trace context of the request that caused the event, when it had one.
    pub traceparent: Option<String>,
}

impl Delivered {
    /// Decodes the payload; a payload that does not decode never will, so it is permanent.
    pub fn decode<M: prost::Message + Default>(&self) -> Result<M, HandlerError> {
        M::decode(self.payload.clone()).map_err(|error| {
            HandlerError::Permanent(format!(
                "payload of {} does not decode: {error}",
                self.subject
            ))
        })
    }

    /// Reads the event out of a JetStream message; `Err` explains why it is not an event.
    pub(crate) fn from_message(message: &jetstream::Message) -> Result<Self, String> {
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|headers| headers.get(name))
                .map(|value| value.as_str().to_owned())
        };
        let raw_id =
            header(NATS_MESSAGE_ID.as_ref()).ok_or_else(|| "no Nats-Msg-Id header".to_owned())?;
        let id = Uuid::parse_str(&raw_id)
            .map_err(|error| format!("Nats-Msg-Id {raw_id:?} is not a UUID: {error}"))?;
        let delivery_count = message
            .info()
            .map(|info| u64::try_from(info.delivered).unwrap_or(1))
            .unwrap_or(1);
        Ok(Self {
            id,
            subject: message.subject.to_string(),
            payload: message.payload.clone(),
            delivery_count,
            traceparent: header(TRACEPARENT_HEADER),
        })
    }
}
