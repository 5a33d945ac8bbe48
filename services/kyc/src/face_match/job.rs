//! The consumer's handler: prepare asks the orchestrator, apply records the outcome.

use std::time::Duration;

use rentory_events::{Delivered, Handler, HandlerError};
use rentory_proto::ai::v1 as ai;
use rentory_proto::ai::v1::ai_orchestrator_client::AiOrchestratorClient;
use rentory_proto::events::v1::VerificationSubmitted;
use rentory_runtime::grpc::PeerChannel;
use rentory_storage::Bucket;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::retry::{RetryPolicy, is_transient};
use super::{Outcome, db};
use crate::verification::ImageRef;
use rentory_runtime::error_chain as chain;

/// Why one call did not produce an answer.
#[derive(Debug)]
enum Failure {
    /// Worth trying again later (unreachable, overloaded, timed out).
    Transient(String),
    /// Trying again will not help (the orchestrator refused the request).
    Final(String),
}

/// The consumer's handler.
#[derive(Clone)]
pub struct FaceMatchJob {
    pub pool: PgPool,
    pub bucket: Bucket,
    /// `None` when `RENTORY_AI_URL` is unset.
    pub ai: Option<AiOrchestratorClient<PeerChannel>>,
    pub policy: RetryPolicy,
    pub call_timeout: Duration,
}

pub enum Effect {
    Record(Uuid, Outcome),
    /// Already recorded (a redelivery racing a commit): nothing to write.
    Nothing,
}

impl Handler for FaceMatchJob {
    type Effect = Effect;

    async fn prepare(&self, event: &Delivered) -> Result<Effect, HandlerError> {
        let submitted: VerificationSubmitted = event.decode()?;
        let id = Uuid::parse_str(&submitted.verification_request_id).map_err(|_| {
            HandlerError::permanent("verification_request_id of a submitted event is not a UUID")
        })?;
        let attempt = event.delivery_count.max(1);
        let Some(client) = &self.ai else {
            return Ok(Effect::Record(
                id,
                Outcome::unavailable(
                    attempt,
                    "no AI orchestrator is configured; the request awaits manual review",
                ),
            ));
        };
        if db::is_recorded(&self.pool, id).await? {
            return Ok(Effect::Nothing);
        }
        let Some((id_image, face_scan)) = db::image_refs(&self.pool, id).await? else {
            return Err(HandlerError::permanent(format!(
                "verification request {id} of a submitted event does not exist"
            )));
        };
        match self.call(client.clone(), id, &id_image, &face_scan).await {
            Ok(response) => Ok(Effect::Record(
                id,
                Outcome::from_response(response, attempt),
            )),
            Err(Failure::Final(reason)) => {
                Ok(Effect::Record(id, Outcome::unavailable(attempt, reason)))
            }
            Err(Failure::Transient(reason)) if self.policy.exhausted(attempt) => {
                tracing::warn!(verification_request_id = %id, attempt, reason, "face match gave up; recording UNAVAILABLE");
                Ok(Effect::Record(
                    id,
                    Outcome::unavailable(
                        attempt,
                        format!(
                            "the AI orchestrator could not be reached after {attempt} attempts ({reason}); the request awaits manual review"
                        ),
                    ),
                ))
            }
            Err(Failure::Transient(reason)) => {
                let after = self.policy.delay(attempt, rand::random::<f64>());
                tracing::info!(verification_request_id = %id, attempt, reason, retry_in = ?after, "face match will be retried");
                Err(HandlerError::retry(after, reason))
            }
        }
    }

    async fn apply(
        &self,
        effect: Effect,
        _event: &Delivered,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        if let Effect::Record(id, outcome) = effect {
            db::record(tx, id, &outcome).await?;
        }
        Ok(())
    }
}

impl FaceMatchJob {
    async fn call(
        &self,
        mut client: AiOrchestratorClient<PeerChannel>,
        id: Uuid,
        id_image: &ImageRef,
        face_scan: &ImageRef,
    ) -> Result<ai::FaceMatchResponse, Failure> {
        let read = |image: &ImageRef| {
            let bucket = self.bucket.clone();
            let key = image.key.clone();
            async move {
                bucket.get(&key).await.map_err(|e| {
                    if e.is_not_found() {
                        Failure::Final("a stored image is missing".into())
                    } else {
                        Failure::Transient(format!("reading an image failed: {}", chain(&e)))
                    }
                })
            }
        };
        let (id_bytes, face_bytes) = tokio::try_join!(read(id_image), read(face_scan))?;
        let mut request = tonic::Request::new(ai::FaceMatchRequest {
            verification_request_id: id.to_string(),
            id_image: Some(ai::Image {
                data: id_bytes.to_vec(),
                mime_type: id_image.mime.clone(),
            }),
            face_scan: Some(ai::Image {
                data: face_bytes.to_vec(),
                mime_type: face_scan.mime.clone(),
            }),
        });
        request.set_timeout(self.call_timeout);
        rentory_runtime::trace_context::inject(request.metadata_mut());
        match tokio::time::timeout(self.call_timeout, client.face_match(request)).await {
            Err(_) => Err(Failure::Transient(format!(
                "no answer within {:?}",
                self.call_timeout
            ))),
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) if is_transient(status.code()) => Err(Failure::Transient(format!(
                "FaceMatch failed: {:?}",
                status.code()
            ))),
            Ok(Err(status)) => Err(Failure::Final(format!(
                "the AI orchestrator refused the face match ({:?})",
                status.code()
            ))),
        }
    }
}

/// A client for the orchestrator at `channel`, allowed to send two full-size images.
pub fn client(channel: PeerChannel) -> AiOrchestratorClient<PeerChannel> {
    AiOrchestratorClient::new(channel)
        .max_encoding_message_size(rentory_runtime::grpc::MAX_MESSAGE_BYTES)
        .max_decoding_message_size(rentory_runtime::grpc::MAX_MESSAGE_BYTES)
}
