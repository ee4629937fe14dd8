//! The HTTP boundary's error: a status and a stable machine-readable code per case.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub use super::codes::ErrorCode;

/// Every error answer of the JSON API: `{"error": {"code", "message"}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": "invalid_field", "message": "per_page must be a number from 1 to 200"}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: `code` is stable (clients branch on it), `message` is for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code, e.g. `invalid_field`, `token_missing`, `unknown_number`.
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    #[error("{message}")]
    Unauthorized { code: ErrorCode, message: String },
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    #[error("{message}")]
    NotFound { code: ErrorCode, message: String },
    /// Well-formed, but the provider refused what it carries (e.g. credentials).
    #[error("{message}")]
    Unprocessable { code: ErrorCode, message: String },
    /// A provider we depend on did not answer usefully.
    #[error("{message}")]
    BadGateway { code: ErrorCode, message: String },
    /// Not now: the sender should retry later (503; providers retry webhooks).
    #[error("{message}")]
    Unavailable { code: ErrorCode, message: String },
    /// Not now, and not before `retry_after_secs` (503 with `Retry-After`): refused before
    /// anything was stored, so the sender's retry is the only copy.
    #[error("{message}")]
    Busy {
        code: ErrorCode,
        message: String,
        retry_after_secs: u64,
    },
    /// It existed, and is no longer available (an expired link).
    #[error("{message}")]
    Gone { code: ErrorCode, message: String },
    /// The target's current state does not allow this (e.g. re-driving a job that did not fail).
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// Too many requests: wait `retry_after_secs` (sent as `Retry-After`).
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn unauthorized(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Unauthorized {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn unprocessable(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Unprocessable {
            code,
            message: message.into(),
        }
    }
    pub fn bad_gateway(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::BadGateway {
            code,
            message: message.into(),
        }
    }

    pub fn unavailable(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Unavailable {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn gone(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Gone {
            code,
            message: message.into(),
        }
    }

    /// The code the answer carries.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::BadGateway { code, .. }
            | ApiError::Gone { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unavailable { code, .. }
            | ApiError::Busy { code, .. } => *code,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The code's string, as it goes over the wire.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::Internal(format!("database: {e}"))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unavailable { .. } | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(detail) = self {
            // Details go to the log, not to the caller.
            tracing::error!(error = %detail, "request failed");
        }
        let mut answer = HttpResponse::build(self.status_code());
        if let ApiError::RateLimited {
            retry_after_secs, ..
        }
        | ApiError::Busy {
            retry_after_secs, ..
        } = self
        {
            answer.insert_header((actix_web::http::header::RETRY_AFTER, *retry_after_secs));
        }
        answer.json(ErrorBody::new(self.error_code(), self.to_string()))
    }
}
