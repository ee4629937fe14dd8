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
    /// A refusal with its status and stable code (see the constructors below).
    #[error("{message}")]
    Status {
        status: StatusCode,
        code: ErrorCode,
        message: String,
    },
    /// Not now, and not before `retry_after_secs` (503 with `Retry-After`): refused before
    /// anything was stored, so the sender's retry is the only copy.
    #[error("{message}")]
    Busy {
        code: ErrorCode,
        message: String,
        retry_after_secs: u64,
    },
    /// Too many requests: wait `retry_after_secs` (sent as `Retry-After`).
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    #[error("internal error")]
    Internal(String),
}

/// One constructor per status an `ApiError::Status` answers with.
macro_rules! status_constructors {
    ($($(#[$doc:meta])* $name:ident => $status:ident;)*) => {
        impl ApiError {
            $(
                $(#[$doc])*
                pub fn $name(code: ErrorCode, message: impl Into<String>) -> Self {
                    ApiError::Status {
                        status: StatusCode::$status,
                        code,
                        message: message.into(),
                    }
                }
            )*
        }
    };
}

status_constructors! {
    bad_request => BAD_REQUEST;
    unauthorized => UNAUTHORIZED;
    forbidden => FORBIDDEN;
    not_found => NOT_FOUND;
    /// Well-formed, but the provider refused what it carries (e.g. credentials).
    unprocessable => UNPROCESSABLE_ENTITY;
    /// A provider we depend on did not answer usefully.
    bad_gateway => BAD_GATEWAY;
    /// Not now: the sender should retry later (503; providers retry webhooks).
    unavailable => SERVICE_UNAVAILABLE;
    /// The target's current state does not allow this (e.g. re-driving a job that did not fail).
    conflict => CONFLICT;
    /// It existed, and is no longer available (an expired link).
    gone => GONE;
}

impl ApiError {
    /// The code the answer carries.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ApiError::Status { code, .. } | ApiError::Busy { code, .. } => *code,
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
            ApiError::Status { status, .. } => *status,
            ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
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
