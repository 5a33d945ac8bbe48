//! The chat REST routes against the fake chat service: what they forward and how the
//! answers map. The Socket.IO side is in `sockets.rs`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rentory_auth::metadata as md;
use rentory_auth::{Role, UserStatus};
use rentory_proto::chat::v1 as pb;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::backend::chat::{self, FakeChat, GUIDE_ID, OUTSIDER_ID, TENANT_ID};
use crate::backend::{LANDLORD_ID, PROPERTY_ID};
use crate::support::*;

async fn app() -> (TestApp, FakeChat) {
    let fake = FakeChat::new(&rentory_testkit::nats_url()).await;
    let url = chat::serve(&fake).await;
    let app = TestApp::new(|c| c.chat_url = url).await;
    (app, fake)
}

fn token(app: &TestApp, user: &str, role: Role) -> String {
    let user = Uuid::parse_str(user).expect("uuid");
    mint(
        &app.issuer,
        user,
        role,
        UserStatus::Active,
        OffsetDateTime::now_utc(),
    )
    .0
}

fn post_with_token(path: &str, token: &str, body: Value) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[tokio::test]
async fn sessions_messages_and_markers_map_to_the_api_bodies() {
    let (app, fake) = app().await;
    let tenant = token(&app, TENANT_ID, Role::Tenant);
    let landlord = token(&app, LANDLORD_ID, Role::Landlord);

    let response = app
        .send(post_with_token(
            "/chat/sessions",
            &tenant,
            json!({"property_id": PROPERTY_ID}),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let session = json(response).await;
    assert_eq!(session["id"], fake.session_id.as_str());
    assert_eq!(session["property_id"], PROPERTY_ID);
    assert_eq!(session["tenant_id"], TENANT_ID);
    assert_eq!(session["landlord_id"], LANDLORD_ID);
    assert_eq!(session["assigned_guide_id"], Value::Null);
    assert_eq!(session["contact_unlocked"], false);
    assert_eq!(session["created_at"], "2026-03-03T08:00:00Z");
    assert_eq!(
        fake.calls.get("OpenSession", md::AUTHORIZATION),
        Some(format!("Bearer {tenant}"))
    );
    let id = fake.session_id.clone();

    let response = app
        .send(post_with_token(
            &format!("/chat/sessions/{id}/messages"),
            &tenant,
            json!({"content": "Is it still available?", "client_id": "c-1"}),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let first = json(response).await;
    for field in [
        "id",
        "session_id",
        "sender_id",
        "content",
        "is_read",
        "is_admin_intervention",
        "created_at",
    ] {
        assert!(!first[field].is_null(), "{field} missing from {first}");
    }
    assert_eq!(first["session_id"], id.as_str());
    assert_eq!(first["sender_id"], TENANT_ID);
    assert_eq!(first["content"], "Is it still available?");
    assert_eq!(first["client_id"], "c-1");
    assert_eq!(first["sender_role"], "TENANT");
    let sent = fake
        .calls
        .message::<pb::SendMessageRequest>("SendMessage")
        .expect("forwarded");
    assert_eq!(
        (sent.session_id.as_str(), sent.client_id.as_str()),
        (id.as_str(), "c-1")
    );

    let second = json(
        app.send(post_with_token(
            &format!("/chat/sessions/{id}/messages"),
            &landlord,
            json!({"content": "Yes it is"}),
        ))
        .await,
    )
    .await;
    assert_eq!(second["client_id"], Value::Null);

    let page = json(
        app.send(get_with_token(
            &format!("/chat/sessions/{id}/messages"),
            &landlord,
        ))
        .await,
    )
    .await;
    let ids: Vec<&Value> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(ids, [&second["id"], &first["id"]], "newest first");
    assert_eq!(page["has_more"], false);

    let first_id = first["id"].as_str().expect("id");
    let after = json(
        app.send(get_with_token(
            &format!("/chat/sessions/{id}/messages?after={first_id}&limit=10"),
            &tenant,
        ))
        .await,
    )
    .await;
    assert_eq!(after["items"][0]["id"], second["id"]);
    let asked = fake
        .calls
        .message::<pb::HistoryRequest>("History")
        .expect("forwarded");
    assert_eq!(
        (asked.after_id.as_deref(), asked.before_id, asked.limit),
        (Some(first_id), None, 10)
    );

    let response = app
        .send(post_with_token(
            &format!("/chat/sessions/{id}/read"),
            &landlord,
            json!({"message_id": first_id}),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let marker = json(response).await;
    assert_eq!(marker["reader_id"], LANDLORD_ID);
    assert_eq!(marker["message_id"], first_id);
    assert_eq!(marker["session_id"], id.as_str());
    assert!(marker["at"].is_string());

    let list = json(
        app.send(get_with_token("/chat/sessions?limit=5", &tenant))
            .await,
    )
    .await;
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert_eq!(list["next_cursor"], "page-2");
    let listed = fake
        .calls
        .message::<pb::ListSessionsRequest>("ListSessions")
        .expect("forwarded");
    assert_eq!((listed.limit, listed.cursor.as_str()), (5, ""));

    let assigned = json(
        app.send(post_with_token(
            &format!("/chat/sessions/{id}/guide"),
            &landlord,
            json!({"guide_id": GUIDE_ID}),
        ))
        .await,
    )
    .await;
    assert_eq!(assigned["assigned_guide_id"], GUIDE_ID);
}

#[tokio::test]
async fn a_session_the_caller_may_not_see_is_404_and_bad_input_is_refused_before_any_call() {
    let (app, fake) = app().await;
    let outsider = token(&app, OUTSIDER_ID, Role::Tenant);
    let tenant = token(&app, TENANT_ID, Role::Tenant);
    let id = fake.session_id.clone();

    for path in [
        format!("/chat/sessions/{id}"),
        format!("/chat/sessions/{id}/messages"),
        format!("/chat/sessions/{}", Uuid::now_v7()),
    ] {
        problem(
            app.send(get_with_token(&path, &outsider)).await,
            404,
            "not-found",
        )
        .await;
    }
    problem(
        app.send(post_with_token(
            &format!("/chat/sessions/{id}/messages"),
            &outsider,
            json!({"content": "hi"}),
        ))
        .await,
        404,
        "not-found",
    )
    .await;
    problem(
        app.send(post_with_token(
            "/chat/sessions",
            &tenant,
            json!({"property_id": "no-such-property"}),
        ))
        .await,
        404,
        "not-found",
    )
    .await;
    problem(
        app.send(post_with_token(
            &format!("/chat/sessions/{id}/guide"),
            &tenant,
            json!({"guide_id": GUIDE_ID}),
        ))
        .await,
        403,
        "forbidden",
    )
    .await;

    let histories = fake.calls.count("History");
    let body = problem(
        app.send(get_with_token(
            &format!("/chat/sessions/{id}/messages?before=a&after=b"),
            &tenant,
        ))
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "after");
    problem(
        app.send(get_with_token(
            &format!("/chat/sessions/{id}/messages?limit=many"),
            &tenant,
        ))
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(
        fake.calls.count("History"),
        histories,
        "refused at the edge"
    );

    let body = problem(
        app.send(post_with_token(
            &format!("/chat/sessions/{id}/messages"),
            &tenant,
            json!({"client_id": "c"}),
        ))
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "content");
    let long = "x".repeat(chat::MAX_CONTENT_CHARS + 1);
    let body = problem(
        app.send(post_with_token(
            &format!("/chat/sessions/{id}/messages"),
            &tenant,
            json!({"content": long}),
        ))
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "content");

    problem(
        app.send(get(&format!("/chat/sessions/{id}"))).await,
        401,
        "unauthenticated",
    )
    .await;
}
