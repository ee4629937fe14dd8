//! Admin API users. Emails are stored lower-cased; passwords as argon2 PHC strings (hashed by
//! the caller, see `auth::hash_password`).

use entity::users;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryOrder, SqlErr,
};

use super::{now_ms, query::edit_by_id};

/// The form every stored email has: trimmed, lower-case.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: String,
    /// `tenant_admin`, `support` or `billing`.
    pub role: &'a str,
    pub tenant_id: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("a user with this email exists")]
    EmailTaken,
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

pub async fn create<C: ConnectionTrait>(
    c: &C,
    u: NewUser<'_>,
) -> Result<users::Model, CreateError> {
    let email = normalize_email(u.email);
    if find_by_email(c, &email).await?.is_some() {
        return Err(CreateError::EmailTaken);
    }
    users::ActiveModel {
        email: Set(email),
        password_hash: Set(u.password_hash),
        role: Set(u.role.to_string()),
        tenant_id: Set(u.tenant_id),
        disabled: Set(false),
        created_at: Set(now_ms()),
        last_login_at: Set(None),
        ..Default::default()
    }
    .insert(c)
    .await
    .map_err(|e| match e.sql_err() {
        // Lost a race with another create of the same email.
        Some(SqlErr::UniqueConstraintViolation(_)) => CreateError::EmailTaken,
        _ => CreateError::Db(e),
    })
}

pub async fn find_by_email<C: ConnectionTrait>(
    c: &C,
    email: &str,
) -> Result<Option<users::Model>, DbErr> {
    super::query::one_by(c, users::Column::Email, normalize_email(email)).await
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find_by_id(id).one(c).await
}

/// How many users there are (none on a first start).
pub async fn count<C: ConnectionTrait>(c: &C) -> Result<u64, DbErr> {
    users::Entity::find().count(c).await
}

pub async fn list<C: ConnectionTrait>(c: &C) -> Result<Vec<users::Model>, DbErr> {
    users::Entity::find()
        .order_by_asc(users::Column::Id)
        .all(c)
        .await
}

pub async fn list_of_tenant<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
) -> Result<Vec<users::Model>, DbErr> {
    super::query::all_by(c, users::Column::TenantId, tenant_id).await
}

pub async fn touch_login<C: ConnectionTrait>(c: &C, id: i64) -> Result<(), DbErr> {
    let user = users::Column::Id.eq(id);
    super::query::set_where(c, users::Column::LastLoginAt, now_ms(), user).await
}

/// Enables or disables a user; returns the user before and after, or `None` if there is none.
pub async fn set_disabled<C: ConnectionTrait>(
    c: &C,
    id: i64,
    disabled: bool,
) -> Result<Option<(users::Model, users::Model)>, DbErr> {
    edit_by_id::<users::Entity, _>(c, id, |am| am.disabled = Set(disabled)).await
}
