//! The gRPC face of identity: parse, authorise, call the rules, answer.

use std::sync::Arc;
use std::time::Duration;

use rentory_auth::{
    Actor, RequestContext, Role, StaffPosition, TokenIssuer, TokenVerifier, UserStatus,
};
use rentory_proto::events::v1::UserRegistered;
use rentory_proto::identity::v1 as pb;
use rentory_proto::identity::v1::identity_service_server::IdentityService;
use sqlx::PgPool;
use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::accounts::{self, Account, NewAccount, NewProfile, ProfileChanges};
use crate::credentials::{Email, Password, Pin};
use crate::error::{Error, Result};
use crate::hashing::SecretHasher;
use crate::login::{self, LockoutPolicy, Secret, SprayPolicy};
use crate::profile_fields::{self, ProfileInput};
use crate::sessions::{self, Rotation};

pub const REGISTERED: &str = "rentory.identity.user.registered";

pub struct Identity {
    pub pool: PgPool,
    pub redis: deadpool_redis::Pool,
    pub hasher: SecretHasher,
    pub issuer: Arc<TokenIssuer>,
    pub verifier: TokenVerifier,
    pub refresh_ttl: Duration,
    pub lockout: LockoutPolicy,
    pub spray: SprayPolicy,
}

impl Identity {
    fn actor<T>(&self, request: &Request<T>) -> Result<Actor> {
        Ok(Actor::from_metadata(request.metadata(), &self.verifier)?)
    }

    fn auth_response(
        &self,
        account: &Account,
        session_id: Uuid,
        refresh_token: String,
    ) -> Result<pb::AuthResponse> {
        let issued = self.issuer.issue(
            account.id,
            account.role,
            account.status,
            account.position,
            session_id,
            OffsetDateTime::now_utc(),
        )?;
        Ok(pb::AuthResponse {
            user: Some(account.into()),
            access_token: issued.token,
            refresh_token,
            expires_in: i64::try_from(issued.expires_in.as_secs()).unwrap_or(i64::MAX),
        })
    }

    async fn me(&self, user_id: Uuid) -> Result<pb::Me> {
        let account = accounts::find(&self.pool, user_id).await?;
        let profile = accounts::profile(&self.pool, user_id).await?;
        Ok(pb::Me {
            user: Some((&account).into()),
            profile: Some(profile.into()),
        })
    }

    async fn register(&self, request: Request<pb::RegisterRequest>) -> Result<pb::AuthResponse> {
        let context = RequestContext::from_metadata(request.metadata());
        let r = request.into_inner();
        let mut errors = Vec::new();
        let email = collect(&mut errors, "email", Email::parse(&r.email));
        let password = collect(&mut errors, "password", Password::parse(&r.password));
        let pin = collect(&mut errors, "pin", Pin::parse(&r.pin));
        let profile = ProfileInput::for_registration(&r.full_name, &r.phone, &r.bio, &mut errors);
        let role = Role::from_proto_i32(r.role_requested)
            .ok()
            .filter(|r| r.is_self_service());
        if role.is_none() {
            errors.push((
                "role_requested",
                "choose TENANT, LANDLORD or GUIDE".to_owned(),
            ));
        }
        let (Some(email), Some(password), Some(pin), Some(role), true) =
            (email, password, pin, role, errors.is_empty())
        else {
            return Err(Error::Invalid(errors));
        };
        self.create_account(
            &email,
            &password,
            &pin,
            role,
            UserStatus::Pending,
            None,
            &profile,
            &context,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn create_account(
        &self,
        email: &Email,
        password: &Password,
        pin: &Pin,
        role: Role,
        status: UserStatus,
        position: Option<StaffPosition>,
        profile: &ProfileInput,
        context: &RequestContext,
    ) -> Result<pb::AuthResponse> {
        let (password_hash, pin_hash) = tokio::try_join!(
            self.hasher.hash(password.expose()),
            self.hasher.hash(pin.expose())
        )?;
        let mut tx = self.pool.begin().await?;
        let account = accounts::insert(
            &mut tx,
            &NewAccount {
                id: Uuid::now_v7(),
                email,
                password_hash,
                pin_hash,
                role,
                status,
                position,
                profile: NewProfile {
                    full_name: &profile.full_name,
                    phone: &profile.phone,
                    bio: &profile.bio,
                },
            },
        )
        .await?;
        let session = sessions::open(&mut tx, account.id, context, self.refresh_ttl).await?;
        let event = UserRegistered {
            user_id: account.id.to_string(),
            role: pb::Role::from(role).into(),
            at: Some(rentory_proto::timestamp(account.created_at)),
        };
        rentory_events::enqueue(&mut tx, REGISTERED, &event).await?;
        tx.commit().await?;
        tracing::info!(user_id = %account.id, role = %role, "account registered");
        self.auth_response(&account, session.session_id, session.refresh_token)
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Result<pb::AuthResponse> {
        let context = RequestContext::from_metadata(request.metadata());
        let r = request.into_inner();
        // A malformed e-mail or secret is answered like a wrong one: no hint either way.
        let email = Email::parse(&r.email).map_err(|_| Error::InvalidCredentials)?;
        let secret = match r.secret {
            Some(pb::login_request::Secret::Pin(pin)) => {
                Secret::Pin(Pin::for_login(&pin).map_err(|_| Error::InvalidCredentials)?)
            }
            Some(pb::login_request::Secret::Password(password)) => Secret::Password(
                Password::for_login(&password).map_err(|_| Error::InvalidCredentials)?,
            ),
            None => {
                return Err(Error::Invalid(vec![(
                    "pin",
                    "send a pin or a password".to_owned(),
                )]));
            }
        };
        let user_id = login::authenticate(
            &self.pool,
            &self.hasher,
            &self.lockout,
            &self.spray,
            &email,
            &secret,
            &context,
        )
        .await?;
        let mut conn = self.pool.acquire().await?;
        let session = sessions::open(&mut conn, user_id, &context, self.refresh_ttl).await?;
        let account = accounts::find(&mut *conn, user_id).await?;
        tracing::info!(%user_id, "login succeeded");
        self.auth_response(&account, session.session_id, session.refresh_token)
    }

    async fn refresh(&self, request: Request<pb::RefreshRequest>) -> Result<pb::AuthResponse> {
        let token = request.into_inner().refresh_token;
        match sessions::rotate(&self.pool, &token, self.refresh_ttl).await? {
            Rotation::Rotated {
                user_id,
                session_id,
                refresh_token,
            } => {
                let account = accounts::find(&self.pool, user_id).await?;
                if account.status == UserStatus::Suspended {
                    return Err(Error::Suspended);
                }
                self.auth_response(&account, session_id, refresh_token)
            }
            Rotation::Reused { session_id } => {
                tracing::warn!(%session_id, "refresh token reused; session revoked");
                sessions::deny_access_tokens(
                    &self.redis,
                    session_id,
                    self.issuer.settings().access_ttl,
                )
                .await?;
                Err(Error::RefreshRefused)
            }
            Rotation::Refused => Err(Error::RefreshRefused),
        }
    }

    async fn create_staff(&self, request: Request<pb::CreateStaffRequest>) -> Result<pb::User> {
        let actor = self.actor(&request)?;
        if !actor.is_admin() {
            return Err(Error::Forbidden("only an administrator may create staff"));
        }
        let context = actor.context.clone();
        let r = request.into_inner();
        let mut errors = Vec::new();
        let email = collect(&mut errors, "email", Email::parse(&r.email));
        let password = collect(&mut errors, "password", Password::parse(&r.password));
        let pin = collect(&mut errors, "pin", Pin::parse(&r.pin));
        let profile = ProfileInput::for_registration(&r.full_name, &r.phone, "", &mut errors);
        let position = StaffPosition::from_proto_i32(r.position).ok();
        if position.is_none() {
            errors.push(("position", "choose a staff position".to_owned()));
        }
        let (Some(email), Some(password), Some(pin), Some(position), true) =
            (email, password, pin, position, errors.is_empty())
        else {
            return Err(Error::Invalid(errors));
        };
        let created = self
            .create_account(
                &email,
                &password,
                &pin,
                Role::Staff,
                UserStatus::Active,
                Some(position),
                &profile,
                &context,
            )
            .await?;
        tracing::info!(admin = %actor.user_id, position = %position, "staff account created");
        created
            .user
            .ok_or_else(|| Error::Corrupt("created account without user".into()))
    }
}

fn may_read_account(caller: Uuid, caller_role: Role, account: Uuid) -> bool {
    caller == account || matches!(caller_role, Role::Admin | Role::Staff)
}

/// A landlord's contact is what the NGN 5,000 unlock sells, and listings decides who has
/// paid; identity only refuses what no unlock could justify: anyone else's contact.
fn may_read_contact(caller: Uuid, caller_role: Role, account: Uuid, account_role: Role) -> bool {
    may_read_account(caller, caller_role, account) || account_role == Role::Landlord
}

fn collect<T, E: std::fmt::Display>(
    errors: &mut Vec<(&'static str, String)>,
    field: &'static str,
    parsed: std::result::Result<T, E>,
) -> Option<T> {
    parsed.map_err(|e| errors.push((field, e.to_string()))).ok()
}

#[tonic::async_trait]
impl IdentityService for Identity {
    async fn register(
        &self,
        request: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::AuthResponse>, Status> {
        Ok(Response::new(Identity::register(self, request).await?))
    }

    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::AuthResponse>, Status> {
        Ok(Response::new(Identity::login(self, request).await?))
    }

    async fn refresh(
        &self,
        request: Request<pb::RefreshRequest>,
    ) -> Result<Response<pb::AuthResponse>, Status> {
        Ok(Response::new(Identity::refresh(self, request).await?))
    }

    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        let actor = self.actor(&request)?;
        sessions::revoke(
            &self.pool,
            &self.redis,
            actor.session_id,
            self.issuer.settings().access_ttl,
        )
        .await?;
        tracing::info!(user_id = %actor.user_id, session_id = %actor.session_id, "logged out");
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn get_me(&self, request: Request<pb::GetMeRequest>) -> Result<Response<pb::Me>, Status> {
        let actor = self.actor(&request)?;
        Ok(Response::new(self.me(actor.user_id).await?))
    }

    async fn update_profile(
        &self,
        request: Request<pb::UpdateProfileRequest>,
    ) -> Result<Response<pb::Me>, Status> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let changes: ProfileChanges = profile_fields::changes(r).map_err(Error::Invalid)?;
        accounts::update_profile(&self.pool, actor.user_id, &changes).await?;
        Ok(Response::new(self.me(actor.user_id).await?))
    }

    async fn create_staff(
        &self,
        request: Request<pb::CreateStaffRequest>,
    ) -> Result<Response<pb::User>, Status> {
        Ok(Response::new(Identity::create_staff(self, request).await?))
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let caller = self.actor(&request)?;
        let user_id = Uuid::parse_str(&request.get_ref().user_id)
            .map_err(|_| Error::Invalid(vec![("user_id", "not a valid id".to_owned())]))?;
        // Another person's account facts (e-mail among them) are for staff only; to anyone
        // else the account does not exist.
        if !may_read_account(caller.user_id, caller.role, user_id) {
            return Err(Error::UserNotFound.into());
        }
        let account = accounts::find(&self.pool, user_id).await?;
        Ok(Response::new((&account).into()))
    }

    async fn get_public_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::PublicUser>, Status> {
        // Any authenticated caller: these are the facts a counterparty sees anyway.
        self.actor(&request)?;
        let user_id = Uuid::parse_str(&request.get_ref().user_id)
            .map_err(|_| Error::Invalid(vec![("user_id", "not a valid id".to_owned())]))?;
        let (account, profile) = tokio::try_join!(
            accounts::find(&self.pool, user_id),
            accounts::profile(&self.pool, user_id)
        )?;
        Ok(Response::new(pb::PublicUser {
            id: account.id.to_string(),
            role: pb::Role::from(account.role).into(),
            status: pb::UserStatus::from(account.status).into(),
            full_name: profile.full_name,
        }))
    }

    async fn get_contact(
        &self,
        request: Request<pb::GetContactRequest>,
    ) -> Result<Response<pb::Contact>, Status> {
        let caller = self.actor(&request)?;
        let user_id = Uuid::parse_str(&request.get_ref().user_id)
            .map_err(|_| Error::Invalid(vec![("user_id", "not a valid id".to_owned())]))?;
        let (account, profile) = tokio::try_join!(
            accounts::find(&self.pool, user_id),
            accounts::profile(&self.pool, user_id)
        )?;
        if !may_read_contact(caller.user_id, caller.role, user_id, account.role) {
            return Err(Error::UserNotFound.into());
        }
        // Who learnt whose phone number, for disputes about leaked contacts.
        tracing::info!(caller = %caller.user_id, caller_role = %caller.role, landlord = %user_id, "contact disclosed");
        Ok(Response::new(pb::Contact {
            user_id: account.id.to_string(),
            full_name: profile.full_name,
            phone: profile.phone,
            email: account.email,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_account_itself_and_staff_read_an_account() {
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(may_read_account(me, Role::Tenant, me));
        assert!(!may_read_account(me, Role::Landlord, other));
        assert!(!may_read_account(me, Role::Guide, other));
        assert!(may_read_account(me, Role::Admin, other));
        assert!(may_read_account(me, Role::Staff, other));
    }

    #[test]
    fn contacts_are_served_for_landlords_only_unless_self_or_staff() {
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(may_read_contact(me, Role::Tenant, other, Role::Landlord));
        assert!(!may_read_contact(me, Role::Tenant, other, Role::Tenant));
        assert!(!may_read_contact(me, Role::Landlord, other, Role::Guide));
        assert!(may_read_contact(me, Role::Tenant, me, Role::Tenant));
        assert!(may_read_contact(me, Role::Admin, other, Role::Tenant));
        assert!(may_read_contact(me, Role::Staff, other, Role::Tenant));
    }
}
