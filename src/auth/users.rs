//! The rules for creating an admin-API user, shared by `POST /api/v1/tenants/{id}/users` and
//! `b24wa user create`.

use entity::users as user_rows;
use sea_orm::{DatabaseConnection, TransactionTrait};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use utoipa::ToSchema;

use super::{hash_password, password_problem, PasswordProblem, Role};
use crate::store::{audit, tenants, users};

/// The longest email and password considered (longer ones cannot be right).
pub const MAX_EMAIL: usize = 254;
pub const MAX_PASSWORD: usize = 1024;

// A user as the API shows it and the audit log records it (never its password hash); no doc
// comment, which would change the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub tenant_id: Option<i64>,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

impl From<&user_rows::Model> for UserView {
    fn from(u: &user_rows::Model) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            role: u.role.clone(),
            tenant_id: u.tenant_id,
            disabled: u.disabled,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
        }
    }
}

/// A user to create, checked: role and tenant agree (a tenant admin has a tenant, the others
/// none), the email looks like one, the password is strong enough.
pub struct NewUserSpec {
    pub email: String,
    pub password: SecretString,
    pub role: Role,
    pub tenant_id: Option<i64>,
}

impl NewUserSpec {
    pub fn check(&self) -> Result<(), UserProblem> {
        let email = users::normalize_email(&self.email);
        let well_formed = email.len() <= MAX_EMAIL
            && !email.chars().any(char::is_whitespace)
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        if !well_formed {
            return Err(UserProblem::NotAnEmail(self.email.trim().to_string()));
        }
        match (self.role, self.tenant_id) {
            (Role::TenantAdmin, None) => return Err(UserProblem::NoTenant),
            (Role::Support | Role::Billing, Some(_)) => {
                return Err(UserProblem::GlobalWithTenant(self.role))
            }
            _ => {}
        }
        if self.password.expose_secret().len() > MAX_PASSWORD {
            return Err(UserProblem::PasswordTooLong);
        }
        match password_problem(self.password.expose_secret()) {
            Some(problem) => Err(UserProblem::Password(problem)),
            None => Ok(()),
        }
    }
}

/// Why a user's details are refused (`Display` in English, for the CLI; the admin API says it
/// in the caller's language).
#[derive(Debug, Clone, thiserror::Error)]
pub enum UserProblem {
    #[error("{0:?} is not an email address")]
    NotAnEmail(String),
    #[error("a tenant admin needs a tenant (--tenant ID)")]
    NoTenant,
    #[error("a {0} user sees every tenant and has none of its own")]
    GlobalWithTenant(Role),
    #[error("the password is too long (more than {MAX_PASSWORD} bytes)")]
    PasswordTooLong,
    #[error(transparent)]
    Password(PasswordProblem),
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error(transparent)]
    Invalid(UserProblem),
    #[error("no such tenant")]
    NoTenant,
    #[error("a user with this email exists")]
    EmailTaken,
    #[error("{0}")]
    Internal(String),
}

impl From<sea_orm::DbErr> for CreateUserError {
    fn from(e: sea_orm::DbErr) -> Self {
        CreateUserError::Internal(format!("database: {e}"))
    }
}

/// Checks, hashes (off the caller's thread) and stores a user, with its audit record in the
/// same transaction. Used by the API and by `b24wa user create` (actor `cli`).
pub async fn create_user(
    db: &DatabaseConnection,
    actor: &str,
    spec: NewUserSpec,
) -> Result<user_rows::Model, CreateUserError> {
    spec.check().map_err(CreateUserError::Invalid)?;
    let password = spec.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(password.expose_secret()))
        .await
        .map_err(|e| CreateUserError::Internal(e.to_string()))?
        .map_err(|e| CreateUserError::Internal(format!("password hashing: {e}")))?;
    let txn = db.begin().await?;
    if let Some(t) = spec.tenant_id {
        if tenants::get(&txn, t).await?.is_none() {
            return Err(CreateUserError::NoTenant);
        }
    }
    let user = users::create(
        &txn,
        users::NewUser {
            email: &spec.email,
            password_hash: hash,
            role: spec.role.as_str(),
            tenant_id: spec.tenant_id,
        },
    )
    .await
    .map_err(|e| match e {
        users::CreateError::EmailTaken => CreateUserError::EmailTaken,
        users::CreateError::Db(e) => e.into(),
    })?;
    audit::record(
        &txn,
        actor,
        "user.create",
        &format!("user:{}", user.id),
        None,
        Some(&serde_json::to_value(UserView::from(&user)).unwrap_or_default()),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}
