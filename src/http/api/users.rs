//! A tenant's users (tenant admins) and users by id: list, add, disable or enable. The rules
//! for a new user are `crate::auth::users`, shared with `b24wa user create`.

use actix_web::{web, HttpResponse};
use sea_orm::TransactionTrait;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{audit, auth::Caller, page::invalid_field, tenants::tenant_or_404};
pub use crate::auth::{create_user, CreateUserError, NewUserSpec, UserView};
use crate::{
    auth::Role,
    http::{error::ErrorBody, ApiError, AppState, ErrorCode},
    store::users,
};

/// A tenant's users
///
/// A tenant admin: its own tenant only.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/users",
    tag = "tenants",
    params(("id" = i64, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant's users", body = Vec<UserView>),
        (status = 404, description = "`not_found`: no such tenant (or another tenant's)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_tenant_users(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    caller.require_tenant_access(id)?;
    tenant_or_404(&state.ctx.db, id).await?;
    let list: Vec<UserView> = users::list_of_tenant(&state.ctx.db, id)
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
    tag = "tenants",
    params(("id" = i64, Path, description = "The tenant's id")),
    request_body = NewTenantUser,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, description = "`invalid_field` (email, password, role), `invalid_json`", body = ErrorBody),
        (status = 403, description = "`forbidden`: needs the support role", body = ErrorBody),
        (status = 404, description = "`not_found`: no such tenant", body = ErrorBody),
        (status = 409, description = "`email_taken`: a user with this email exists", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_tenant_user(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    body: web::Json<NewTenantUser>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let tenant_id = path.into_inner();
    let b = body.into_inner();
    if b.role.as_deref().is_some_and(|r| r != "tenant_admin") {
        return Err(invalid_field(
            "role: only tenant_admin users belong to a tenant",
        ));
    }
    let spec = NewUserSpec {
        email: b.email,
        password: b.password,
        role: Role::TenantAdmin,
        tenant_id: Some(tenant_id),
    };
    match create_user(&state.ctx.db, caller.actor(), spec).await {
        Ok(user) => Ok(HttpResponse::Created().json(UserView::from(&user))),
        Err(CreateUserError::Invalid(m)) => Err(invalid_field(m)),
        Err(CreateUserError::NoTenant) => {
            Err(ApiError::not_found(ErrorCode::NotFound, "no such tenant"))
        }
        Err(CreateUserError::EmailTaken) => Err(ApiError::conflict(
            ErrorCode::EmailTaken,
            "a user with this email exists",
        )),
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
    tag = "tenants",
    params(("id" = i64, Path, description = "The user's id")),
    request_body = UserChange,
    responses(
        (status = 200, description = "The user after the change", body = UserView),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 403, description = "`forbidden`: needs the support role", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    body: web::Json<UserChange>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let id = path.into_inner();
    let txn = state.ctx.db.begin().await?;
    let Some((before, after)) = users::set_disabled(&txn, id, body.disabled).await? else {
        return Err(ApiError::not_found(ErrorCode::NotFound, "no such user"));
    };
    let after = UserView::from(&after);
    audit::commit_change(
        txn,
        &caller,
        "user.update",
        &format!("user:{id}"),
        Some(&UserView::from(&before)),
        &after,
    )
    .await?;
    Ok(HttpResponse::Ok().json(after))
}
