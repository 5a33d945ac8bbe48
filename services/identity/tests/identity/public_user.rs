//! GetPublicUser: what any authenticated caller may know of another user (a lease names its
//! parties): id, role, status and full name, never the e-mail or phone.

use rentory_auth::{Role, StaffPosition};
use rentory_proto::identity::v1 as pb;
use rentory_runtime::rpc_error::{Reason, decode};
use tonic::Code;
use uuid::Uuid;

use crate::support::*;

async fn public_user(
    app: &TestApp,
    token: Option<&str>,
    user_id: &str,
) -> Result<pb::PublicUser, tonic::Status> {
    app.client
        .clone()
        .get_public_user(with_token(
            token,
            pb::GetUserRequest {
                user_id: user_id.into(),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn any_authenticated_caller_reads_another_users_public_facts_and_no_contact() {
    let app = TestApp::spawn().await;
    let landlord = app.register("Adaeze Okafor", pb::Role::Landlord).await;
    let tenant = app.register("Tunde Bakare", pb::Role::Tenant).await;

    let callers = [
        tenant.token.clone(),
        landlord.token.clone(),
        app.token(Role::Guide, None),
        app.token(Role::Staff, Some(StaffPosition::ComplianceOfficer)),
        app.token(Role::Admin, None),
    ];
    for caller in &callers {
        let seen = public_user(&app, Some(caller), &landlord.user.id)
            .await
            .expect("readable");
        assert_eq!(
            seen,
            pb::PublicUser {
                id: landlord.user.id.clone(),
                role: pb::Role::Landlord as i32,
                status: pb::UserStatus::Pending as i32,
                full_name: "Adaeze Okafor".into(),
            }
        );
        // Nothing of the account's contact travels, however the message is printed.
        let printed = format!("{seen:?}");
        assert!(!printed.contains(&landlord.user.email), "{printed}");
        assert!(!printed.contains("+234"), "{printed}");
    }
    let other_way = public_user(&app, Some(&landlord.token), &tenant.user.id)
        .await
        .expect("readable");
    assert_eq!(other_way.role, pb::Role::Tenant as i32);
    assert_eq!(other_way.full_name, "Tunde Bakare");
    app.stop().await;
}

#[tokio::test]
async fn no_token_unknown_and_malformed_ids_are_refused() {
    let app = TestApp::spawn().await;
    let landlord = app.register("Adaeze Okafor", pb::Role::Landlord).await;

    let anonymous = public_user(&app, None, &landlord.user.id)
        .await
        .expect_err("refused");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    assert_eq!(decode(&anonymous).reason, Some(Reason::Unauthenticated));
    let forged = public_user(&app, Some("not.a.token"), &landlord.user.id)
        .await
        .expect_err("refused");
    assert_eq!(forged.code(), Code::Unauthenticated);

    let unknown = public_user(&app, Some(&landlord.token), &Uuid::now_v7().to_string())
        .await
        .expect_err("refused");
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(decode(&unknown).reason, Some(Reason::NotFound));

    for bad in ["", "42", "not-an-id"] {
        let refused = public_user(&app, Some(&landlord.token), bad)
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Code::InvalidArgument, "{bad:?}");
        let violations = decode(&refused).field_violations;
        assert_eq!(violations[0].0, "user_id", "{bad:?}");
    }
    app.stop().await;
}
