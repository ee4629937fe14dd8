//! One paging convention for every list: `?page=&per_page=` in, `{items, page, per_page, total}`
//! out.

use std::collections::HashMap;

use actix_web::HttpResponse;
use serde::Serialize;
use serde_json::json;

use crate::http::ApiError;

pub const DEFAULT_PER_PAGE: u64 = 50;
pub const MAX_PER_PAGE: u64 = 200;

pub fn invalid_field(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_field", message)
}

/// `(page, per_page)`, 1-based, with clear errors for anything out of range.
pub fn paging(q: &HashMap<String, String>) -> Result<(u64, u64), ApiError> {
    let num = |name: &str, default: u64, max: u64| -> Result<u64, ApiError> {
        match q.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| invalid_field(format!("{name} must be a number from 1 to {max}"))),
        }
    };
    Ok((
        num("page", 1, 1_000_000)?,
        num("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)?,
    ))
}

pub fn paged<T: Serialize>(items: Vec<T>, page: u64, per_page: u64, total: u64) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
    }))
}

/// A non-empty query parameter.
pub fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}
