//! Admin API authentication: HS256 JWTs with a role claim.

use std::{future::Future, pin::Pin};

use actix_web::{web, FromRequest, HttpRequest};
use jsonwebtoken::{decode, encode, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::http::{ApiError, AppState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Support,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    secret: SecretString,
}

impl JwtKeys {
    pub fn new(secret: SecretString) -> Self {
        Self { secret }
    }

    pub fn issue(
        &self,
        sub: &str,
        role: Role,
        ttl_secs: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            sub: sub.to_string(),
            role,
            exp: chrono::Utc::now().timestamp() + ttl_secs,
        };
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(self.secret.expose_secret().as_bytes()),
        )
    }

    fn check(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        decode::<Claims>(
            token,
            &DecodingKey::from_secret(self.secret.expose_secret().as_bytes()),
            &Validation::default(),
        )
        .map(|d| d.claims)
    }
}

/// An authenticated admin-API caller.
#[derive(Debug)]
pub struct Caller(pub Claims);

impl Caller {
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                "this needs the admin role",
            ))
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no app state".into()))?;
            let token = header
                .as_deref()
                .and_then(|h| h.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "token_missing",
                        "Authorization: Bearer <token> is required",
                    )
                })?;
            let claims = state.jwt.check(token.trim()).map_err(|_| {
                ApiError::unauthorized("token_invalid", "the token is invalid or expired")
            })?;
            Ok(Caller(claims))
        })
    }
}
