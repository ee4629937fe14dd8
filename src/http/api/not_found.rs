//! The `404` answers, one per kind of target the API names by id. Each is also the answer for
//! another tenant's target, so that its existence is not told.

use crate::{
    http::{ApiError, ErrorCode},
    tr,
};

/// `not_found`: no such tenant (or another tenant's).
pub fn tenant() -> ApiError {
    ApiError::not_found(ErrorCode::NotFound, |l| tr!(l, "error-no-such-tenant"))
}

/// `unknown_number`: no such number (or another tenant's).
pub fn number() -> ApiError {
    ApiError::not_found(ErrorCode::UnknownNumber, |l| tr!(l, "error-unknown-number"))
}

/// `unknown_number`: no Web gateway number with this id (or another tenant's).
pub fn gateway_number() -> ApiError {
    ApiError::not_found(ErrorCode::UnknownNumber, |l| {
        tr!(l, "error-unknown-gateway-number")
    })
}

/// `unknown_portal`: no installed portal with this member_id (or another tenant's).
pub fn portal() -> ApiError {
    ApiError::not_found(ErrorCode::UnknownPortal, |l| tr!(l, "error-unknown-portal"))
}
