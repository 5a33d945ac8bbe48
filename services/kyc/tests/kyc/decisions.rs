use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use prost::Message;
use rentory_auth::{Role, UserStatus};
use rentory_proto::events::v1::{VerificationApproved, VerificationRejected};
use rentory_proto::identity::v1::Role as PbRole;
use rentory_proto::kyc::v1 as pb;
use rentory_runtime::rpc_error::{Reason, decode};
use rentory_testkit::wait_until;
use tonic::Code;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_once_then_every_decision_is_invalid_state() {
    let app = TestApp::spawn().await;
    let request = app.submit_ok(&app.tenant()).await;
    let officer = app.officer();

    let approved = app.approve(&officer, &request.id).await.unwrap();
    assert_eq!(approved.status, pb::VerificationStatus::Approved as i32);
    assert_eq!(approved.reviewer_id, Some(officer.id.to_string()));
    assert!(approved.decided_at.is_some());
    assert!(approved.rejection_reason.is_none());

    let again = assert_reason(
        app.approve(&officer, &request.id).await,
        Code::FailedPrecondition,
        Reason::InvalidState,
    );
    assert!(again.message().contains("APPROVED"), "{}", again.message());
    let reject = assert_reason(
        app.reject(&app.admin(), &request.id, "changed my mind")
            .await,
        Code::FailedPrecondition,
        Reason::InvalidState,
    );
    assert!(reject.message().contains("APPROVED"));

    // Unknown and malformed ids.
    assert_reason(
        app.approve(&officer, &uuid::Uuid::now_v7().to_string())
            .await,
        Code::NotFound,
        Reason::NotFound,
    );
    assert_reason(
        app.approve(&officer, "42").await,
        Code::InvalidArgument,
        Reason::ValidationFailed,
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_needs_a_reason_and_records_it() {
    let app = TestApp::spawn().await;
    let request = app.submit_ok(&app.tenant()).await;
    let officer = app.officer();

    for blank in ["", "   ", &"x".repeat(501)] {
        let status = assert_reason(
            app.reject(&officer, &request.id, blank).await,
            Code::InvalidArgument,
            Reason::ValidationFailed,
        );
        assert_eq!(decode(&status).field_violations[0].0, "reason");
    }
    let rejected = app
        .reject(&officer, &request.id, "  the ID photo is blurred  ")
        .await
        .unwrap();
    assert_eq!(rejected.status, pb::VerificationStatus::Rejected as i32);
    assert_eq!(
        rejected.rejection_reason.as_deref(),
        Some("the ID photo is blurred")
    );
    let status = assert_reason(
        app.approve(&officer, &request.id).await,
        Code::FailedPrecondition,
        Reason::InvalidState,
    );
    assert!(status.message().contains("REJECTED"));

    let payload: Vec<u8> = sqlx::query_scalar(
        "SELECT payload FROM kyc.outbox WHERE subject = 'rentory.kyc.verification.rejected'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let event = VerificationRejected::decode(payload.as_slice()).unwrap();
    assert_eq!(event.verification_request_id, request.id);
    assert_eq!(event.reason, "the ID photo is blurred");
    assert_eq!(event.reviewer_id, officer.id.to_string());
    assert_eq!(event.role_requested, PbRole::Tenant as i32);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_may_not_decide_their_own_request() {
    let app = TestApp::spawn().await;
    // A user who submitted as a tenant and was later made a compliance officer.
    let applicant = app.tenant();
    let request = app.submit_ok(&applicant).await;
    let promoted = app.user_with_id(
        applicant.id,
        Role::Staff,
        UserStatus::Active,
        Some(rentory_auth::StaffPosition::ComplianceOfficer),
    );
    assert_reason(
        app.approve(&promoted, &request.id).await,
        Code::PermissionDenied,
        Reason::Forbidden,
    );
    assert_reason(
        app.reject(&promoted, &request.id, "mine").await,
        Code::PermissionDenied,
        Reason::Forbidden,
    );
    // Someone else may.
    app.approve(&app.admin(), &request.id).await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_publishes_exactly_one_approved_event_on_jetstream() {
    let app = TestApp::spawn().await;
    let owner = app.user(Role::Tenant, UserStatus::Pending, None);
    let request = app.submit(&owner, PbRole::Guide).await.unwrap();
    let officer = app.officer();
    app.approve(&officer, &request.id).await.unwrap();
    // A second attempt fails and must not publish anything.
    assert!(app.approve(&officer, &request.id).await.is_err());

    // The relay marks the row once JetStream has stored it.
    wait_until(
        Duration::from_secs(20),
        "the approved event to be relayed",
        || async {
            count(
                &app.pool,
                "SELECT count(*) FROM kyc.outbox
             WHERE subject = 'rentory.kyc.verification.approved' AND published_at IS NOT NULL",
            )
            .await
                == 1
        },
    )
    .await
    .unwrap();

    let js = jetstream::new(async_nats::connect(app.nats.url()).await.unwrap());
    let stream = js.get_stream("RENTORY").await.unwrap();
    let consumer: jetstream::consumer::PullConsumer = stream
        .create_consumer(pull::Config {
            filter_subject: "rentory.kyc.verification.approved".into(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut consumer = consumer;
    assert_eq!(
        consumer.info().await.unwrap().num_pending,
        1,
        "exactly one event"
    );

    let mut messages = consumer
        .fetch()
        .max_messages(10)
        .expires(Duration::from_secs(5))
        .messages()
        .await
        .unwrap();
    let message = messages.next().await.unwrap().unwrap();
    message.ack().await.unwrap();
    let event = VerificationApproved::decode(message.payload.clone()).unwrap();
    assert_eq!(event.verification_request_id, request.id);
    assert_eq!(event.user_id, owner.id.to_string());
    assert_eq!(event.role_granted, PbRole::Guide as i32);
    assert_eq!(event.reviewer_id, officer.id.to_string());
    assert!(event.at.is_some());
    let headers = message.headers.as_ref().unwrap();
    let msg_id: String = sqlx::query_scalar(
        "SELECT id::text FROM kyc.outbox WHERE subject = 'rentory.kyc.verification.approved'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(headers.get("Nats-Msg-Id").unwrap().as_str(), msg_id);
    assert_eq!(consumer.info().await.unwrap().num_pending, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_approvals_make_one_transition_and_one_audit_row() {
    let app = TestApp::spawn().await;
    let request = app.submit_ok(&app.tenant()).await;
    let id = uuid(&request.id);
    let reviewers: Vec<User> = (0..50)
        .map(|i| {
            if i % 2 == 0 {
                app.officer()
            } else {
                app.admin()
            }
        })
        .collect();

    let attempts = reviewers.iter().map(|r| app.approve(r, &request.id));
    let results = futures::future::join_all(attempts).await;
    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(succeeded, 1, "exactly one approval wins");
    for lost in results.into_iter().filter(|r| r.is_err()) {
        let status = assert_reason(lost, Code::FailedPrecondition, Reason::InvalidState);
        assert!(status.message().contains("APPROVED"));
    }

    let audit = "SELECT count(*) FROM kyc.audit_log WHERE verification_request_id = $1";
    assert_eq!(count_for(&app.pool, audit, id).await, 1);
    let events = count(
        &app.pool,
        "SELECT count(*) FROM kyc.outbox WHERE subject = 'rentory.kyc.verification.approved'",
    )
    .await;
    assert_eq!(events, 1);
    assert_eq!(kyc::verify_audit_chain(&app.pool).await.unwrap(), 1);
    app.stop().await;
}
