//! Sessions (login, refresh, me), tenants and their users, and the audit log.
//!
//! Support staff see and manage every tenant (each change is audited in the same transaction);
//! billing reads every tenant and changes nothing; a tenant admin sees its own tenant only.

use std::{collections::HashMap, time::Duration};

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use entity::{audit_log, tenants as tenant_rows, users as user_rows};
use sea_orm::{DatabaseConnection, TransactionTrait};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::{
    hash_password, password_problem, verify_password, Caller, Role, TokenError, TokenType,
};
use super::page::{invalid_field, paged, paging};
use crate::{
    http::{ApiError, AppState},
    store::{audit, tenants, users},
};

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: i64,
    pub email: String,
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

#[derive(Debug, Serialize)]
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
    HttpResponse::build(status).json(json!({"error": {"code": code, "message": message}}))
}

fn blocking_failed(e: actix_web::error::BlockingError) -> ApiError {
    ApiError::Internal(format!("password hashing: {e}"))
}

/// `?page=&per_page=` (1-based; 50 a page by default, at most 200).
// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: SecretString,
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
    Ok(HttpResponse::Ok().json(json!({
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
        "user": UserView::from(user),
    })))
}

/// `POST /auth/login` `{email, password}`: a token pair, or `invalid_credentials` whichever part
/// was wrong (an unknown email costs the same hash check); `rate_limited` (429, Retry-After)
/// after too many failures for the account or from the IP.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    let email = users::normalize_email(&email);
    let account: String = email.chars().take(MAX_EMAIL).collect();
    let ip = req.peer_addr().map(|a| a.ip());
    if let Err(wait) = state.jwt.logins().begin(&account, ip) {
        tracing::warn!(ip = ?ip, "login refused: too many failed attempts");
        let mut answer = error_answer(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many failed logins; try again later",
        );
        answer.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(retry_after_secs(wait)),
        );
        return Ok(answer);
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
    state.jwt.logins().succeeded(&account, ip);
    users::touch_login(&state.ctx.db, user.id).await?;
    tracing::info!(user = user.id, role = %role, "login");
    session_answer(&state, &user, role)
}

#[derive(Deserialize)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// `POST /auth/refresh` `{refresh_token}`: a new pair, with the user's current role and tenant
/// (a disabled or removed user gets `token_invalid`).
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

/// `GET /auth/me`: who the token says the caller is (and the user, for a login's token).
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let user = match caller.user_id() {
        Some(id) => users::get(&state.ctx.db, id)
            .await?
            .map(|u| UserView::from(&u)),
        None => None,
    };
    Ok(HttpResponse::Ok().json(json!({
        "sub": caller.0.sub,
        "role": caller.role(),
        "tenant": caller.tenant(),
        "expires_at": caller.0.exp,
        "user": user,
    })))
}

// ---------------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------------

/// `GET /tenants?page=&per_page=`: every tenant, for support and billing.
pub async fn list_tenants(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    if !caller.role().is_global() {
        return Err(ApiError::forbidden(
            "forbidden",
            "a tenant admin sees its own tenant only (GET /api/v1/tenants/{id})",
        ));
    }
    let (page, per_page) = paging(&q)?;
    let (items, total) = tenants::page(&state.ctx.db, page, per_page).await?;
    let items: Vec<TenantView> = items.iter().map(TenantView::from).collect();
    Ok(paged(items, page, per_page, total))
}

#[derive(Deserialize)]
pub struct NewTenant {
    pub name: String,
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

/// `POST /tenants` `{name, plan?}` (support; audited).
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

/// `GET /tenants/{id}`: the tenant and its portals (a tenant admin: its own only, others 404).
pub async fn get_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    caller.require_tenant_access(id)?;
    let tenant = tenant_or_404(&state.ctx.db, id).await?;
    let portals: Vec<Value> = tenants::portals_of(&state.ctx.db, id)
        .await?
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "domain": p.domain,
                "member_id": p.member_id,
                "installed": p.installed,
            })
        })
        .collect();
    let mut answer = to_json(&TenantView::from(&tenant));
    answer["portals"] = Value::Array(portals);
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize)]
pub struct TenantChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
}

/// `PATCH /tenants/{id}` `{name?, plan?}` (support; audited with before and after).
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

/// `GET /tenants/{id}/users` (a tenant admin: its own tenant only).
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

#[derive(Deserialize)]
pub struct NewTenantUser {
    pub email: String,
    pub password: SecretString,
    /// Only `tenant_admin` (the default) belongs to a tenant.
    #[serde(default)]
    pub role: Option<String>,
}

/// `POST /tenants/{id}/users` `{email, password, role?}`: a tenant admin (support; audited).
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

#[derive(Deserialize)]
pub struct UserChange {
    pub disabled: bool,
}

/// `PATCH /users/{id}` `{disabled}` (support; audited). A disabled user cannot log in or
/// refresh; access tokens already issued run out within their lifetime.
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

fn audit_view(r: &audit_log::Model) -> Value {
    let parse = |s: &Option<String>| {
        s.as_deref()
            .map(|t| serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string())))
    };
    json!({
        "id": r.id,
        "actor": r.actor,
        "action": r.action,
        "target": r.target,
        "before": parse(&r.before),
        "after": parse(&r.after),
        "at": r.at,
    })
}

/// `GET /audit?page=&per_page=&actor=&action=` (support): newest first.
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
    let items: Vec<Value> = items.iter().map(audit_view).collect();
    Ok(paged(items, page, per_page, total))
}

/// How long a rate-limited client is told to wait, in whole seconds (at least 1).
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}
