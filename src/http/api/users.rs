//! Sessions (login, refresh, me), tenants and their users, and the audit log.
//!
//! Support staff see and manage every tenant (each change is audited in the same transaction);
//! billing reads every tenant and changes nothing; a tenant admin sees its own tenant only.

use std::collections::HashMap;

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use entity::{audit_log, tenants as tenant_rows, users as user_rows};
use sea_orm::{DatabaseConnection, TransactionTrait};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::auth::{
    hash_password, password_problem, verify_password, Caller, Role, TokenError, TokenType,
};
use super::numbers::PortalView;
use super::page::{invalid_field, paged, paging, Page, PageParams};
use crate::{
    http::{error::ErrorBody, ApiError, AppState},
    store::{audit, tenants, users},
};

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

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

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: i64,
    pub name: String,
    pub plan: String,
    pub created_at: i64,
}

impl From<&tenant_rows::Model> for TenantView {
    fn from(t: &tenant_rows::Model) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            plan: t.plan.clone(),
            created_at: t.created_at,
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// An error answer for the statuses `ApiError` has no case for (409, 429).
fn error_answer(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody::new(code, message))
}

fn blocking_failed(e: actix_web::error::BlockingError) -> ApiError {
    ApiError::Internal(format!("password hashing: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// A token pair and who it is for.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Only for `POST /api/v1/auth/refresh`.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
    pub user: UserView,
}

/// The longest email and password considered (longer ones cannot be right).
const MAX_EMAIL: usize = 254;
const MAX_PASSWORD: usize = 1024;

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "wrong email or password")
}

fn session_answer(
    state: &AppState,
    user: &user_rows::Model,
    role: Role,
) -> Result<HttpResponse, ApiError> {
    let pair = state
        .jwt
        .issue_pair(user.id, &user.email, role, user.tenant_id)
        .map_err(|e| ApiError::Internal(format!("sign token: {e}")))?;
    Ok(HttpResponse::Ok().json(SessionView {
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        token_type: pair.token_type.to_string(),
        expires_in: pair.expires_in,
        user: UserView::from(user),
    }))
}

/// Log in
///
/// `{email, password}`: a token pair, or `invalid_credentials` whichever part was wrong (an
/// unknown email costs the same hash check); `rate_limited` (429, Retry-After) after too many
/// failures for the account or from the IP.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = SessionView),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`: wrong email or password, or a disabled user", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed logins; wait `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security(())
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    let email = users::normalize_email(&email);
    let account: String = email.chars().take(MAX_EMAIL).collect();
    let ip = state.limits.client_ip(&req);
    if let Err(wait) = login_begin(&state, &account, ip).await {
        tracing::warn!(ip = ?ip, "login refused: too many failed attempts");
        return Err(ApiError::RateLimited {
            message: "too many failed logins; try again later".into(),
            retry_after_secs: crate::http::limits::retry_after_secs(wait),
        });
    }
    let user = if email.len() <= MAX_EMAIL {
        users::find_by_email(&state.ctx.db, &email).await?
    } else {
        None
    };
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok = if password.expose_secret().len() <= MAX_PASSWORD {
        web::block(move || verify_password(hash.as_deref(), password.expose_secret()))
            .await
            .map_err(blocking_failed)?
    } else {
        false
    };
    let Some(user) = user.filter(|u| ok && !u.disabled) else {
        tracing::info!(ip = ?ip, "login failed");
        return Err(invalid_credentials());
    };
    let role: Role = user
        .role
        .parse()
        .map_err(|e: String| ApiError::Internal(format!("user {}: {e}", user.id)))?;
    login_succeeded(&state, &account, ip).await;
    users::touch_login(&state.ctx.db, user.id).await?;
    tracing::info!(user = user.id, role = %role, "login");
    session_answer(&state, &user, role)
}

/// Counts a login attempt: in Redis when clustered (every node sees the same windows), else
/// (or while Redis does not answer) in this node's memory.
async fn login_begin(
    state: &AppState,
    account: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<(), std::time::Duration> {
    let local = state.jwt.logins();
    if let Some(cluster) = &state.ctx.cluster {
        let l = local.limits();
        match cluster
            .login_begin(account, ip, l.per_account, l.per_ip, l.window)
            .await
        {
            Ok(verdict) => return verdict,
            Err(e) => {
                tracing::warn!(error = %e, "login limits: Redis did not answer; counting on this node")
            }
        }
    }
    local.begin(account, ip)
}

async fn login_succeeded(state: &AppState, account: &str, ip: Option<std::net::IpAddr>) {
    if let Some(cluster) = &state.ctx.cluster {
        if let Err(e) = cluster.login_succeeded(account, ip).await {
            tracing::warn!(error = %e, "login limits: Redis did not answer");
        }
    }
    state.jwt.logins().succeeded(account, ip);
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Refresh a session
///
/// `{refresh_token}`: a new pair, with the user's current role and tenant (a disabled or
/// removed user gets `token_invalid`).
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = SessionView),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, description = "`token_expired`, `token_invalid` (not a refresh token, or the user is disabled or gone)", body = ErrorBody),
    ),
    security(())
)]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let claims = state
        .jwt
        .verify(body.refresh_token.trim(), TokenType::Refresh)?;
    let id: i64 = claims.sub.parse().map_err(|_| TokenError::Invalid)?;
    let user = users::get(&state.ctx.db, id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(TokenError::Invalid)?;
    let role: Role = user.role.parse().map_err(|_| TokenError::Invalid)?;
    session_answer(&state, &user, role)
}

/// Who the token says the caller is.
#[derive(Serialize, ToSchema)]
pub struct MeView {
    /// The user id (tokens from login) or a name (`b24wa token`).
    pub sub: String,
    pub role: Role,
    /// The tenant of a tenant admin; `null` for support and billing.
    pub tenant: Option<i64>,
    /// When the access token runs out (Unix seconds).
    pub expires_at: i64,
    /// The user, for a login's token.
    pub user: Option<UserView>,
}

/// The caller
///
/// Who the token says the caller is (and the user, for a login's token).
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    responses((status = 200, description = "The caller", body = MeView)),
    security(("bearer" = []))
)]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let user = match caller.user_id() {
        Some(id) => users::get(&state.ctx.db, id)
            .await?
            .map(|u| UserView::from(&u)),
        None => None,
    };
    Ok(HttpResponse::Ok().json(MeView {
        sub: caller.0.sub.clone(),
        role: caller.role(),
        tenant: caller.tenant(),
        expires_at: caller.0.exp,
        user,
    }))
}

// ---------------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------------

/// List tenants
///
/// Every tenant, by id, for support and billing.
#[utoipa::path(
    get,
    path = "/api/v1/tenants",
    tag = "tenants",
    params(PageParams),
    responses(
        (status = 200, description = "One page of tenants", body = Page<TenantView>),
        (status = 400, description = "`invalid_field`: a paging value out of range", body = ErrorBody),
        (status = 403, description = "`forbidden`: a tenant admin (use `GET /api/v1/tenants/{id}`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_tenants(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    caller.require_global("a tenant admin sees its own tenant only (GET /api/v1/tenants/{id})")?;
    let (page, per_page) = paging(&q)?;
    let (items, total) = tenants::page(&state.ctx.db, page, per_page).await?;
    let items: Vec<TenantView> = items.iter().map(TenantView::from).collect();
    Ok(paged(items, page, per_page, total))
}

#[derive(Deserialize, ToSchema)]
pub struct NewTenant {
    /// 1 to 200 characters.
    pub name: String,
    /// 1 to 64 of `[a-z0-9_-]`; `free` when left out.
    #[serde(default)]
    pub plan: Option<String>,
}

fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid_field("name must have 1 to 200 characters"));
    }
    Ok(name.to_string())
}

fn check_plan(plan: &str) -> Result<String, ApiError> {
    let plan = plan.trim();
    if plan.is_empty()
        || plan.len() > 64
        || !plan
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(invalid_field("plan must be 1 to 64 of [a-z0-9_-]"));
    }
    Ok(plan.to_string())
}

/// Create a tenant
///
/// `{name, plan?}` (support; audited).
#[utoipa::path(
    post,
    path = "/api/v1/tenants",
    tag = "tenants",
    request_body = NewTenant,
    responses(
        (status = 201, description = "Created", body = TenantView),
        (status = 400, description = "`invalid_field` (name, plan), `invalid_json`", body = ErrorBody),
        (status = 403, description = "`forbidden`: needs the support role", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewTenant>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let name = check_name(&body.name)?;
    let plan = match &body.plan {
        Some(p) => check_plan(p)?,
        None => tenants::DEFAULT_PLAN.to_string(),
    };
    let txn = state.ctx.db.begin().await?;
    let tenant = tenants::create(&txn, &name, &plan).await?;
    let view = TenantView::from(&tenant);
    audit::record(
        &txn,
        caller.actor(),
        "tenant.create",
        &format!("tenant:{}", tenant.id),
        None,
        Some(&to_json(&view)),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(view))
}

async fn tenant_or_404(db: &DatabaseConnection, id: i64) -> Result<tenant_rows::Model, ApiError> {
    tenants::get(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("not_found", "no such tenant"))
}

/// A tenant and its portals.
#[derive(Serialize, ToSchema)]
pub struct TenantDetailView {
    #[serde(flatten)]
    pub tenant: TenantView,
    pub portals: Vec<PortalView>,
}

/// A tenant
///
/// The tenant and its portals (a tenant admin: its own only, others 404).
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = i64, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant", body = TenantDetailView),
        (status = 404, description = "`not_found`: no such tenant (or another tenant's)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    caller.require_tenant_access(id)?;
    let tenant = tenant_or_404(&state.ctx.db, id).await?;
    let portals: Vec<PortalView> = tenants::portals_of(&state.ctx.db, id)
        .await?
        .iter()
        .map(PortalView::from)
        .collect();
    Ok(HttpResponse::Ok().json(TenantDetailView {
        tenant: TenantView::from(&tenant),
        portals,
    }))
}

/// What to change; what is left out stays.
#[derive(Deserialize, ToSchema)]
pub struct TenantChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
}

/// Change a tenant
///
/// `{name?, plan?}` (support; audited with before and after).
#[utoipa::path(
    patch,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = i64, Path, description = "The tenant's id")),
    request_body = TenantChange,
    responses(
        (status = 200, description = "The tenant after the change", body = TenantView),
        (status = 400, description = "`invalid_field` (name, plan), `invalid_json`", body = ErrorBody),
        (status = 403, description = "`forbidden`: needs the support role", body = ErrorBody),
        (status = 404, description = "`not_found`: no such tenant", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    body: web::Json<TenantChange>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let id = path.into_inner();
    let name = body.name.as_deref().map(check_name).transpose()?;
    let plan = body.plan.as_deref().map(check_plan).transpose()?;
    let txn = state.ctx.db.begin().await?;
    let Some((before, after)) = tenants::update(&txn, id, name.as_deref(), plan.as_deref()).await?
    else {
        return Err(ApiError::not_found("not_found", "no such tenant"));
    };
    let after = TenantView::from(&after);
    audit::record(
        &txn,
        caller.actor(),
        "tenant.update",
        &format!("tenant:{id}"),
        Some(&to_json(&TenantView::from(&before))),
        Some(&to_json(&after)),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}

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

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

/// A user to create, checked: role and tenant agree (a tenant admin has a tenant, the others
/// none), the email looks like one, the password is strong enough.
pub struct NewUserSpec {
    pub email: String,
    pub password: SecretString,
    pub role: Role,
    pub tenant_id: Option<i64>,
}

impl NewUserSpec {
    pub fn check(&self) -> Result<(), String> {
        let email = users::normalize_email(&self.email);
        let well_formed = email.len() <= MAX_EMAIL
            && !email.chars().any(char::is_whitespace)
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        if !well_formed {
            return Err(format!("{:?} is not an email address", self.email.trim()));
        }
        match (self.role, self.tenant_id) {
            (Role::TenantAdmin, None) => {
                return Err("a tenant admin needs a tenant (--tenant ID)".into())
            }
            (Role::Support | Role::Billing, Some(_)) => {
                return Err(format!(
                    "a {} user sees every tenant and has none of its own",
                    self.role
                ))
            }
            _ => {}
        }
        if self.password.expose_secret().len() > MAX_PASSWORD {
            return Err(format!(
                "the password is too long (more than {MAX_PASSWORD} bytes)"
            ));
        }
        match password_problem(self.password.expose_secret()) {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("{0}")]
    Invalid(String),
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
        Some(&to_json(&UserView::from(&user))),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
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
        Err(CreateUserError::NoTenant) => Err(ApiError::not_found("not_found", "no such tenant")),
        Err(CreateUserError::EmailTaken) => Ok(error_answer(
            StatusCode::CONFLICT,
            "email_taken",
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
        return Err(ApiError::not_found("not_found", "no such user"));
    };
    let after = UserView::from(&after);
    audit::record(
        &txn,
        caller.actor(),
        "user.update",
        &format!("user:{id}"),
        Some(&to_json(&UserView::from(&before))),
        Some(&to_json(&after)),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}

// ---------------------------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------------------------

/// One audit record.
#[derive(Serialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    /// The user's email, or the token's subject.
    pub actor: String,
    /// E.g. `tenant.create`, `tenant.update`, `user.create`, `user.update`.
    pub action: String,
    /// E.g. `tenant:3`, `user:7`.
    pub target: String,
    /// The target's state before (JSON), if it existed.
    pub before: Option<Value>,
    /// The target's state after (JSON), if it still exists.
    pub after: Option<Value>,
    /// Unix milliseconds.
    pub at: i64,
}

impl From<&audit_log::Model> for AuditView {
    fn from(r: &audit_log::Model) -> Self {
        let parse = |s: &Option<String>| {
            s.as_deref()
                .map(|t| serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string())))
        };
        Self {
            id: r.id,
            actor: r.actor.clone(),
            action: r.action.clone(),
            target: r.target.clone(),
            before: parse(&r.before),
            after: parse(&r.after),
            at: r.at,
        }
    }
}

/// The filters of `GET /api/v1/audit` (with `page`, `per_page`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only records by this actor (exactly).
    pub actor: Option<String>,
    /// Only records of this action (exactly), e.g. `tenant.update`.
    pub action: Option<String>,
}

/// The audit log
///
/// Support: admin changes, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(PageParams, AuditQuery),
    responses(
        (status = 200, description = "One page of records", body = Page<AuditView>),
        (status = 400, description = "`invalid_field`: a paging value out of range", body = ErrorBody),
        (status = 403, description = "`forbidden`: needs the support role", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn audit_log(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let (page, per_page) = paging(&q)?;
    let filter = audit::Filter {
        actor: q.get("actor").filter(|s| !s.is_empty()).cloned(),
        action: q.get("action").filter(|s| !s.is_empty()).cloned(),
    };
    let (items, total) = audit::page(&state.ctx.db, &filter, page, per_page).await?;
    let items: Vec<AuditView> = items.iter().map(AuditView::from).collect();
    Ok(paged(items, page, per_page, total))
}
