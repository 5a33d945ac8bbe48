//! Accounts, profiles and staff positions: creation and reading.

use rentory_auth::{Role, StaffPosition, UserStatus};
use rentory_proto::identity::v1 as pb;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::credentials::Email;
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub status: UserStatus,
    pub position: Option<StaffPosition>,
    pub created_at: OffsetDateTime,
}

pub struct NewAccount<'a> {
    pub id: Uuid,
    pub email: &'a Email,
    pub password_hash: String,
    pub pin_hash: String,
    pub role: Role,
    pub status: UserStatus,
    pub position: Option<StaffPosition>,
    pub profile: NewProfile<'a>,
}

pub struct NewProfile<'a> {
    pub full_name: &'a str,
    pub phone: &'a str,
    pub bio: &'a str,
}

pub struct Profile {
    pub full_name: String,
    pub avatar_url: Option<String>,
    pub phone: String,
    pub bio: String,
    pub preferences: serde_json::Value,
}

#[derive(Default)]
pub struct ProfileChanges {
    pub full_name: Option<String>,
    pub avatar_url: Option<String>,
    pub phone: Option<String>,
    pub bio: Option<String>,
}

/// Inserts user, profile and (for staff) position. A taken e-mail is a domain error.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut PgConnection, account: &NewAccount<'_>) -> Result<Account> {
    let created_at = sqlx::query_scalar!(
        r#"INSERT INTO identity.users (id, email, password_hash, pin_hash, role, status)
           VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING created_at"#,
        account.id,
        account.email.as_str(),
        account.password_hash,
        account.pin_hash,
        account.role.as_str(),
        account.status.as_str(),
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("users_email_key") => {
            Error::EmailTaken
        }
        _ => Error::Database(e),
    })?;
    sqlx::query!(
        r#"INSERT INTO identity.profiles (user_id, full_name, phone, bio) VALUES ($1, $2, $3, $4)"#,
        account.id,
        account.profile.full_name,
        account.profile.phone,
        account.profile.bio,
    )
    .execute(&mut *conn)
    .await?;
    if let Some(position) = account.position {
        sqlx::query!(
            r#"INSERT INTO identity.staff_metadata (user_id, position) VALUES ($1, $2)"#,
            account.id,
            position.as_str(),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(Account {
        id: account.id,
        email: account.email.as_str().to_owned(),
        role: account.role,
        status: account.status,
        position: account.position,
        created_at,
    })
}

struct AccountRow {
    id: Uuid,
    email: String,
    role: String,
    status: String,
    position: Option<String>,
    created_at: OffsetDateTime,
}

impl TryFrom<AccountRow> for Account {
    type Error = Error;
    fn try_from(row: AccountRow) -> Result<Self> {
        let corrupt = |e: rentory_auth::ParseEnumError| Error::Corrupt(e.to_string());
        Ok(Account {
            id: row.id,
            email: row.email,
            role: row.role.parse().map_err(corrupt)?,
            status: row.status.parse().map_err(corrupt)?,
            position: row
                .position
                .map(|p| p.parse())
                .transpose()
                .map_err(corrupt)?,
            created_at: row.created_at,
        })
    }
}

#[tracing::instrument(skip_all)]
pub async fn find(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<Account> {
    let row = sqlx::query_as!(
        AccountRow,
        r#"SELECT u.id, u.email, u.role, u.status, s.position AS "position?", u.created_at
           FROM identity.users u LEFT JOIN identity.staff_metadata s ON s.user_id = u.id
           WHERE u.id = $1"#,
        user_id,
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::UserNotFound)?;
    row.try_into()
}

#[tracing::instrument(skip_all)]
pub async fn profile(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<Profile> {
    sqlx::query_as!(
        Profile,
        r#"SELECT full_name, avatar_url, phone, bio, preferences FROM identity.profiles WHERE user_id = $1"#,
        user_id,
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::UserNotFound)
}

#[tracing::instrument(skip_all)]
pub async fn update_profile(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    changes: &ProfileChanges,
) -> Result<()> {
    let updated = sqlx::query!(
        r#"UPDATE identity.profiles SET
             full_name = COALESCE($2, full_name),
             avatar_url = COALESCE($3, avatar_url),
             phone = COALESCE($4, phone),
             bio = COALESCE($5, bio),
             updated_at = now()
           WHERE user_id = $1"#,
        user_id,
        changes.full_name,
        changes.avatar_url,
        changes.phone,
        changes.bio,
    )
    .execute(db)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::UserNotFound);
    }
    Ok(())
}

/// KYC approval: the user takes the role they asked for and becomes ACTIVE. A suspended
/// account stays suspended, and staff accounts are never changed by a KYC decision.
#[tracing::instrument(skip_all)]
pub async fn activate(conn: &mut PgConnection, user_id: Uuid, role: Role) -> Result<bool> {
    let updated = sqlx::query!(
        r#"UPDATE identity.users SET role = $2, status = 'ACTIVE', updated_at = now()
           WHERE id = $1 AND status <> 'SUSPENDED' AND role NOT IN ('ADMIN', 'STAFF')"#,
        user_id,
        role.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

impl From<&Account> for pb::User {
    fn from(account: &Account) -> Self {
        pb::User {
            id: account.id.to_string(),
            email: account.email.clone(),
            role: pb::Role::from(account.role).into(),
            status: pb::UserStatus::from(account.status).into(),
            position: account.position.map(|p| pb::StaffPosition::from(p).into()),
            created_at: Some(rentory_proto::timestamp(account.created_at)),
        }
    }
}

impl From<Profile> for pb::Profile {
    fn from(profile: Profile) -> Self {
        pb::Profile {
            full_name: profile.full_name,
            avatar_url: profile.avatar_url,
            phone: profile.phone,
            bio: profile.bio,
            preferences_json: profile.preferences.to_string(),
        }
    }
}
