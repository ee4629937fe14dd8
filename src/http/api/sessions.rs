//! Sessions: log in (with the failed-login limits), refresh, who am I.

use actix_web::{web, HttpRequest, HttpResponse};
use entity::users as user_rows;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, Role, TokenError, TokenType};
use super::openapi::InvalidJson;
use crate::{
    auth::{
        users::{MAX_EMAIL, MAX_PASSWORD},
        verify_password, UserView,
    },
    http::{error::ErrorBody, ApiError, AppState, ErrorCode},
    i18n::text::Text,
    store::users,
    tr,
};

fn blocking_failed(e: actix_web::error::BlockingError) -> ApiError {
    ApiError::Internal(format!("password hashing: {e}"))
}

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

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(ErrorCode::InvalidCredentials, |l| {
        tr!(l, "error-wrong-credentials")
    })
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
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = SessionView),
        InvalidJson,
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
            message: Text::new(|l| tr!(l, "error-too-many-logins")),
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
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = SessionView),
        InvalidJson,
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
    responses((status = 200, description = "The caller", body = MeView)),
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
