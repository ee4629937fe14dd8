//! The HTTP boundary's error: a status and a stable machine-readable code per case, and a
//! message for people kept as a catalogue text (`i18n::text::Text`): English by default, and in
//! the caller's language once `localize` (the middleware below) has read `Accept-Language`.

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{header::CONTENT_TYPE, StatusCode},
    middleware::Next,
    HttpResponse, ResponseError,
};
use serde::Serialize;
use utoipa::ToSchema;

pub use super::codes::ErrorCode;
use crate::i18n::{text::Text, Lang};

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
    /// For people, in the language the request's `Accept-Language` asks for (English without
    /// one, or for a language the service does not speak; Russian and English held).
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

/// Every message is a catalogue text: `ApiError::not_found(ErrorCode::UnknownNumber, |l| tr!(l,
/// "error-unknown-number"))`; `Display` is its English (logs). `Internal`'s detail goes to the log
/// only.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// A refusal with its status and stable code (see the constructors below).
    #[error("{message}")]
    Status {
        status: StatusCode,
        code: ErrorCode,
        message: Text,
    },
    /// Not now, and not before `retry_after_secs` (503 with `Retry-After`): refused before
    /// anything was stored, so the sender's retry is the only copy.
    #[error("{message}")]
    Busy {
        code: ErrorCode,
        message: Text,
        retry_after_secs: u64,
    },
    /// Too many requests: wait `retry_after_secs` (sent as `Retry-After`).
    #[error("{message}")]
    RateLimited {
        message: Text,
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
                pub fn $name(code: ErrorCode, message: impl Into<Text>) -> Self {
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

    /// The message for people, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ApiError::Status { message, .. }
            | ApiError::Busy { message, .. }
            | ApiError::RateLimited { message, .. } => message.render(lang),
            ApiError::Internal(_) => crate::tr!(lang, "error-internal"),
        }
    }

    /// The answer's body in `lang`.
    pub fn body(&self, lang: Lang) -> ErrorBody {
        ErrorBody::new(self.error_code(), self.message(lang))
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
        self.log_internal();
        self.answer(Lang::en())
    }
}

impl ApiError {
    fn log_internal(&self) {
        if let ApiError::Internal(detail) = self {
            // Details go to the log, not to the caller.
            tracing::error!(error = %detail, "request failed");
        }
    }

    /// The answer, its message in `lang`.
    fn answer(&self, lang: Lang) -> HttpResponse {
        let mut answer = HttpResponse::build(self.status_code());
        // The message follows the request's language (`localize`).
        answer.insert_header((actix_web::http::header::VARY, "Accept-Language"));
        if let ApiError::RateLimited {
            retry_after_secs, ..
        }
        | ApiError::Busy {
            retry_after_secs, ..
        } = self
        {
            answer.insert_header((actix_web::http::header::RETRY_AFTER, *retry_after_secs));
        }
        answer.json(self.body(lang))
    }
}

/// An `ApiError` a middleware returned, to be answered in `.1` (see `localize`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct InLanguage(ApiError, Lang);

impl ResponseError for InLanguage {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log_internal();
        self.0.answer(self.1)
    }
}

/// Middleware: an `ApiError` answer re-rendered in the language of the request's
/// `Accept-Language` (English without one, as every error is written first). Only the message
/// changes: status, headers and `code` stay, and the error stays attached for the outer layers.
pub async fn localize(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let lang = super::lang::of_headers(req.headers());
    if lang == Lang::en() {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        // An error a middleware returned: the server answers it, in the caller's language.
        Err(e) => {
            return Err(match e.as_error::<ApiError>() {
                Some(api) => InLanguage(api.clone(), lang).into(),
                None => e,
            })
        }
    };
    // Only the JSON answer: a page that shows the error (Bitrix24's pages) is already in its
    // reader's language.
    let json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Some(body) = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .filter(|_| json)
        .and_then(|e| serde_json::to_vec(&e.body(lang)).ok())
    else {
        return Ok(res);
    };
    Ok(res.map_body(|_, _| BoxBody::new(body)))
}
