use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rentory_media::fixtures;
use rentory_proto::ai::v1 as ai;
use rentory_proto::ai::v1::ai_orchestrator_server::{AiOrchestrator, AiOrchestratorServer};
use tokio::sync::Mutex;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use crate::support::*;

const DEADLINE: Duration = Duration::from_secs(30);

async fn attempts(app: &TestApp, id: &str) -> i32 {
    sqlx::query_scalar(
        "SELECT attempts FROM kyc.face_match_audits WHERE verification_request_id = $1",
    )
    .bind(uuid(id))
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_orchestrator_the_match_is_unavailable_at_once() {
    let app = TestApp::spawn().await;
    let request = app.submit_ok(&app.tenant()).await;
    let face_match = app.wait_for_face_match(&request.id, DEADLINE).await;
    assert_eq!(face_match.verdict, "UNAVAILABLE");
    assert_eq!(face_match.score, None);
    assert!(face_match.checked_at.is_some());
    assert!(
        face_match
            .reasons
            .iter()
            .any(|r| r.contains("no AI orchestrator")),
        "{:?}",
        face_match.reasons
    );
    assert_eq!(attempts(&app, &request.id).await, 1);
    // The request stays in the queue for a human, and the owner sees the verdict too.
    let queue = app.list(&app.officer(), Default::default()).await.unwrap();
    assert_eq!(queue.items.len(), 1);
    let mine = app
        .client
        .clone()
        .get_mine(request_for_owner(&app, &request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.face_match.unwrap().verdict, "UNAVAILABLE");
    app.stop().await;
}

fn request_for_owner(
    app: &TestApp,
    submitted: &rentory_proto::kyc::v1::VerificationRequest,
) -> Request<rentory_proto::kyc::v1::GetMineRequest> {
    let owner = app.user_with_id(
        uuid(&submitted.user_id),
        rentory_auth::Role::Tenant,
        rentory_auth::UserStatus::Pending,
        None,
    );
    request(&owner, rentory_proto::kyc::v1::GetMineRequest {})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_orchestrator_is_retried_then_recorded_unavailable() {
    // A port nobody listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let app = TestApp::spawn_with(Options {
        ai_url: Some(format!("http://{closed}")),
        max_attempts: 3,
        backoff: Duration::from_millis(10),
        ..Options::default()
    })
    .await;
    let request = app.submit_ok(&app.tenant()).await;

    // Approval never waits for the audit.
    let face_match = app.wait_for_face_match(&request.id, DEADLINE).await;
    assert_eq!(face_match.verdict, "UNAVAILABLE");
    assert!(
        face_match
            .reasons
            .iter()
            .any(|r| r.contains("could not be reached after 3 attempts")),
        "{:?}",
        face_match.reasons
    );
    assert_eq!(attempts(&app, &request.id).await, 3);
    app.approve(&app.officer(), &request.id).await.unwrap();
    app.stop().await;
}

/// A stand-in for the AI orchestrator: fails the first `fail_first` calls with
/// UNAVAILABLE, then answers MATCH 93, and keeps every request it received.
#[derive(Clone, Default)]
struct FakeAi {
    fail_first: u32,
    calls: Arc<AtomicU32>,
    received: Arc<Mutex<Vec<ai::FaceMatchRequest>>>,
}

#[tonic::async_trait]
impl AiOrchestrator for FakeAi {
    async fn face_match(
        &self,
        request: Request<ai::FaceMatchRequest>,
    ) -> Result<Response<ai::FaceMatchResponse>, Status> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.received.lock().await.push(request.into_inner());
        if call <= self.fail_first {
            return Err(Status::unavailable("warming up"));
        }
        Ok(Response::new(ai::FaceMatchResponse {
            score: Some(93),
            verdict: "MATCH".into(),
            reasons: vec!["same facial geometry".into(), "ID photo is clear".into()],
            model: "fake-face-match-1".into(),
        }))
    }

    // The KYC job only ever asks for face matches.
    async fn concierge_turn(
        &self,
        _: Request<ai::ConciergeTurnRequest>,
    ) -> Result<Response<ai::ConciergeTurnResponse>, Status> {
        Err(Status::unimplemented("not used by kyc"))
    }

    async fn get_persona(
        &self,
        _: Request<ai::GetPersonaRequest>,
    ) -> Result<Response<ai::GetPersonaResponse>, Status> {
        Err(Status::unimplemented("not used by kyc"))
    }

    async fn analyze_photos(
        &self,
        _: Request<ai::AnalyzePhotosRequest>,
    ) -> Result<Response<ai::AnalyzePhotosResponse>, Status> {
        Err(Status::unimplemented("not used by kyc"))
    }

    async fn draft_lease(
        &self,
        _: Request<ai::DraftLeaseRequest>,
    ) -> Result<Response<ai::DraftLeaseResponse>, Status> {
        Err(Status::unimplemented("not used by kyc"))
    }
}

async fn spawn_fake(fake: FakeAi) -> (String, rentory_runtime::CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = rentory_runtime::CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(
                AiOrchestratorServer::new(fake).max_decoding_message_size(32 * 1024 * 1024),
            )
            .serve_with_incoming_shutdown(
                TcpListenerStream::new(listener),
                stopped.cancelled_owned(),
            )
            .await
    });
    (url, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orchestrator_answer_is_recorded_and_it_received_both_originals() {
    let fake = FakeAi::default();
    let (url, stop) = spawn_fake(fake.clone()).await;
    let app = TestApp::spawn_with(Options {
        ai_url: Some(url),
        ..Options::default()
    })
    .await;
    let request = app.submit_ok(&app.tenant()).await;

    let face_match = app.wait_for_face_match(&request.id, DEADLINE).await;
    assert_eq!(face_match.verdict, "MATCH");
    assert_eq!(face_match.score, Some(93));
    assert_eq!(face_match.model, "fake-face-match-1");
    assert_eq!(face_match.reasons.len(), 2);
    assert_eq!(attempts(&app, &request.id).await, 1);

    let received = fake.received.lock().await;
    assert_eq!(received.len(), 1, "one call, not repeated");
    let call = &received[0];
    assert_eq!(call.verification_request_id, request.id);
    let id_image = call.id_image.as_ref().unwrap();
    let face_scan = call.face_scan.as_ref().unwrap();
    assert_eq!(id_image.data, fixtures::JPEG_16_BASELINE);
    assert_eq!(id_image.mime_type, "image/jpeg");
    assert_eq!(face_scan.data, fixtures::PNG_16);
    assert_eq!(face_scan.mime_type, "image/png");
    drop(received);
    app.stop().await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_briefly_unavailable_orchestrator_is_retried_until_it_answers() {
    let fake = FakeAi {
        fail_first: 2,
        ..FakeAi::default()
    };
    let (url, stop) = spawn_fake(fake.clone()).await;
    let app = TestApp::spawn_with(Options {
        ai_url: Some(url),
        max_attempts: 5,
        backoff: Duration::from_millis(10),
        ..Options::default()
    })
    .await;
    let request = app.submit_ok(&app.tenant()).await;

    let face_match = app.wait_for_face_match(&request.id, DEADLINE).await;
    assert_eq!(face_match.verdict, "MATCH");
    assert_eq!(attempts(&app, &request.id).await, 3);
    assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
    app.stop().await;
    stop.cancel();
}
