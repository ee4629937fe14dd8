//! A tenant's users (tenant admins) and users by id: list, add, disable or enable. The rules
//! for a new user are `crate::auth::users`, shared with `b24wa user create`.

use actix_web::HttpResponse;
use sea_orm::TransactionTrait;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use super::not_found;
use super::{
    audit,
    extract::SupportChange,
    openapi::{InvalidJson, NoSuchTenant, SupportOnly, TenantId, TenantNotFound},
    page::invalid_field,
    tenants::ReadableTenant,
};
pub use crate::auth::{create_user, CreateUserError, NewUserSpec, UserView};
use crate::auth::{users::MAX_PASSWORD, PasswordProblem, UserProblem, MIN_PASSWORD_LEN};

/// Why the user's details are refused, in `lang`.
fn user_problem(lang: Lang, problem: &UserProblem) -> String {
    match problem {
        UserProblem::NotAnEmail(email) => tr!(lang, "error-user-not-an-email", email = email),
        UserProblem::NoTenant => tr!(lang, "error-user-needs-tenant"),
        UserProblem::GlobalWithTenant(role) => {
            tr!(
                lang,
                "error-user-global-with-tenant",
                role = role.to_string()
            )
        }
        UserProblem::PasswordTooLong => {
            tr!(lang, "error-password-too-long", max = MAX_PASSWORD)
        }
        UserProblem::Password(PasswordProblem::TooShort(n)) => tr!(
            lang,
            "error-password-too-short",
            count = *n,
            min = MIN_PASSWORD_LEN
        ),
        UserProblem::Password(PasswordProblem::Repeated) => tr!(lang, "error-password-repeated"),
    }
}
use crate::{
    auth::Role,
    http::{error::ErrorBody, ApiError, ErrorCode},
    i18n::Lang,
    store::users,
    tr,
};

/// A tenant's users
///
/// A tenant admin: its own tenant only.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/users",
    params(TenantId),
    responses(
        (status = 200, description = "The tenant's users", body = Vec<UserView>),
        TenantNotFound,
    ),
)]
pub async fn list_tenant_users(
    ReadableTenant { state, tenant }: ReadableTenant,
) -> Result<HttpResponse, ApiError> {
    let list: Vec<UserView> = users::list_of_tenant(&state.ctx.db, tenant.id)
        .await?
        .iter()
        .map(UserView::from)
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Deserialize, ToSchema)]
pub struct NewTenantUser {
    pub email: String,
    /// Long enough and not trivial (the answer says what is wrong).
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    /// Only `tenant_admin` (the default) belongs to a tenant.
    #[serde(default)]
    pub role: Option<String>,
}

/// Add a tenant admin
///
/// `{email, password, role?}`: a tenant admin of the tenant (support; audited).
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/users",
    params(TenantId),
    request_body = NewTenantUser,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, description = "`invalid_field` (email, password, role), `invalid_json`", body = ErrorBody),
        SupportOnly,
        NoSuchTenant,
        (status = 409, description = "`email_taken`: a user with this email exists", body = ErrorBody),
    ),
)]
pub async fn create_tenant_user(
    SupportChange {
        state,
        caller,
        id: tenant_id,
        body: b,
    }: SupportChange<NewTenantUser>,
) -> Result<HttpResponse, ApiError> {
    if b.role.as_deref().is_some_and(|r| r != "tenant_admin") {
        return Err(invalid_field(|l| tr!(l, "error-user-role")));
    }
    let spec = NewUserSpec {
        email: b.email,
        password: b.password,
        role: Role::TenantAdmin,
        tenant_id: Some(tenant_id),
    };
    match create_user(&state.ctx.db, caller.actor(), spec).await {
        Ok(user) => Ok(HttpResponse::Created().json(UserView::from(&user))),
        Err(CreateUserError::Invalid(problem)) => {
            Err(invalid_field(move |l| user_problem(l, &problem)))
        }
        Err(CreateUserError::NoTenant) => Err(not_found::tenant()),
        Err(CreateUserError::EmailTaken) => Err(ApiError::conflict(ErrorCode::EmailTaken, |l| {
            tr!(l, "error-email-taken")
        })),
        Err(CreateUserError::Internal(m)) => Err(ApiError::Internal(m)),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct UserChange {
    pub disabled: bool,
}

/// Disable or enable a user
///
/// `{disabled}` (support; audited). A disabled user cannot log in or refresh; access tokens
/// already issued run out within their lifetime.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    params(("id" = i64, Path, description = "The user's id")),
    request_body = UserChange,
    responses(
        (status = 200, description = "The user after the change", body = UserView),
        InvalidJson,
        SupportOnly,
        (status = 404, description = "`not_found`: no such user", body = ErrorBody),
    ),
)]
pub async fn update_user(
    SupportChange {
        state,
        caller,
        id,
        body,
    }: SupportChange<UserChange>,
) -> Result<HttpResponse, ApiError> {
    let txn = state.ctx.db.begin().await?;
    let found = users::set_disabled(&txn, id, body.disabled).await?;
    audit::commit_found::<UserView, _>(txn, &caller, "update", found, || {
        ApiError::not_found(ErrorCode::NotFound, |l| tr!(l, "error-no-such-user"))
    })
    .await
}
