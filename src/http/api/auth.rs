//! The admin API's side of authentication: the `Caller` extractor (a valid access token in
//! `Authorization: Bearer`) and the role checks handlers make. Roles, tokens, passwords and
//! login limits themselves live in `crate::auth`.

use std::{future::Future, pin::Pin};

use actix_web::{web, FromRequest, HttpRequest};

pub use crate::auth::{Claims, JwtKeys, Role, TokenError, TokenType};
use crate::http::{ApiError, AppState, ErrorCode};
use crate::{i18n::text::Text, tr};

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => {
                ApiError::unauthorized(ErrorCode::TokenExpired, |l| tr!(l, "error-token-expired"))
            }
            TokenError::Invalid => {
                ApiError::unauthorized(ErrorCode::TokenInvalid, |l| tr!(l, "error-token-invalid"))
            }
        }
    }
}

/// An authenticated admin-API caller (a valid access token).
#[derive(Debug)]
pub struct Caller(pub Claims);

impl Caller {
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// The tenant of a tenant admin; `None` for support and billing.
    pub fn tenant(&self) -> Option<i64> {
        self.0.tenant
    }

    /// The user id, when the token came from a login.
    pub fn user_id(&self) -> Option<i64> {
        self.0.email.as_ref().and(self.0.sub.parse().ok())
    }

    /// Who the audit log says acted: the user's email, else the token's subject.
    pub fn actor(&self) -> &str {
        self.0.email.as_deref().unwrap_or(&self.0.sub)
    }

    /// Support staff only.
    pub fn require_support(&self) -> Result<(), ApiError> {
        if self.0.role == Role::Support {
            Ok(())
        } else {
            Err(ApiError::forbidden(ErrorCode::Forbidden, |l| {
                tr!(l, "error-needs-support-role")
            }))
        }
    }

    /// Views across all tenants: support and billing; a tenant admin is told `why` not.
    pub fn require_global(&self, why: impl Into<Text>) -> Result<(), ApiError> {
        if self.0.role.is_global() {
            Ok(())
        } else {
            Err(ApiError::forbidden(ErrorCode::Forbidden, why))
        }
    }

    /// Reading the tenant's data: support and billing see every tenant, a tenant admin only its
    /// own (another tenant's is `404`, so its existence is not told).
    pub fn require_tenant_access(&self, tenant_id: i64) -> Result<(), ApiError> {
        if self.0.role.is_global() || self.0.tenant == Some(tenant_id) {
            Ok(())
        } else {
            Err(super::not_found::tenant())
        }
    }

    /// Changing the tenant's data: support, or the tenant's own admin; billing never writes.
    pub fn require_write(&self, tenant_id: i64) -> Result<(), ApiError> {
        match self.0.role {
            Role::Billing => Err(ApiError::forbidden(ErrorCode::Forbidden, |l| {
                tr!(l, "error-billing-read-only")
            })),
            Role::Support => Ok(()),
            Role::TenantAdmin => self.require_tenant_access(tenant_id),
        }
    }

    /// Operational actions across tenants (the routes that are not tenant-scoped yet): support.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        self.require_support()
    }
}

/// The bearer token of a request, if any.
fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no app state".into()))?;
            let token = token.ok_or_else(|| {
                ApiError::unauthorized(ErrorCode::TokenMissing, |l| tr!(l, "error-token-missing"))
            })?;
            Ok(Caller(state.jwt.verify(&token, TokenType::Access)?))
        })
    }
}
