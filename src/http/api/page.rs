//! One paging convention for every list: `?page=&per_page=` in, `{items, page, per_page, total}`
//! out; and the parsers for list filters, so that every bad value is a `400 invalid_field`.

use std::collections::HashMap;

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    http::{ApiError, ErrorCode},
    i18n::text::Text,
    store::{self, Db, Selection},
    tr,
};
use sea_orm::EntityTrait;

pub const DEFAULT_PER_PAGE: u64 = 50;
pub const MAX_PER_PAGE: u64 = 200;
/// The longest search term the number and portal lists take (their `max_length` says it too).
pub const MAX_SEARCH: usize = 100;

pub fn invalid_field(message: impl Into<Text>) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidField, message)
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// 1-based.
    pub page: u64,
    pub per_page: u64,
    /// How many items match in all pages.
    pub total: u64,
}

/// `?page=&per_page=`, as the OpenAPI document shows them (handlers read them with [`Paging::of`]).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page (default 50, at most 200).
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// Where a list's page starts and how long it is: `?page=&per_page=`, 1-based.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: u64,
    pub per_page: u64,
}

impl Paging {
    /// Reads `?page=&per_page=`, with clear errors for anything out of range.
    pub fn of(q: &HashMap<String, String>) -> Result<Self, ApiError> {
        let num = |name: &str, default: u64, max: u64| -> Result<u64, ApiError> {
            match q.get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        let name = name.to_string();
                        invalid_field(move |l| {
                            tr!(l, "error-field-not-in-range", name = &name, max = max)
                        })
                    }),
            }
        };
        Ok(Self {
            page: num("page", 1, 1_000_000)?,
            per_page: num("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)?,
        })
    }

    /// This page: `items`, of `total` in all pages.
    pub fn answer<T: Serialize>(self, items: Vec<T>, total: u64) -> HttpResponse {
        HttpResponse::Ok().json(Page {
            items,
            page: self.page,
            per_page: self.per_page,
            total,
        })
    }

    /// This page of a store's `rows` (of `total`), each shown as `view` shows it.
    pub fn views<R: IntoIterator, T: Serialize>(
        self,
        (rows, total): (R, u64),
        view: impl FnMut(R::Item) -> T,
    ) -> HttpResponse {
        self.answer(rows.into_iter().map(view).collect(), total)
    }

    /// This page of what `filter` selects in the store, each row shown as a `V`.
    pub async fn rows<V, F>(self, db: &Db, filter: &F) -> Result<HttpResponse, ApiError>
    where
        F: Selection,
        <F::Entity as EntityTrait>::Model: Sync,
        V: for<'a> From<&'a <F::Entity as EntityTrait>::Model> + Serialize,
    {
        let (rows, total) = store::page(db, filter, self.page, self.per_page).await?;
        Ok(self.views((&rows, total), V::from))
    }
}

/// A non-empty query parameter.
pub fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// `?name=true|false`, if given.
pub fn flag(q: &HashMap<String, String>, name: &str) -> Result<Option<bool>, ApiError> {
    match param(q, name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => {
            let name = name.to_string();
            Err(invalid_field(move |l| {
                tr!(l, "error-field-not-a-flag", name = &name)
            }))
        }
    }
}

/// `?name=<id>` (a positive integer), if given.
pub fn id(q: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    param(q, name)
        .map(|v| {
            v.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                let name = name.to_string();
                invalid_field(move |l| tr!(l, "error-field-not-an-id", name = &name))
            })
        })
        .transpose()
}

/// `?name=<text>` for a substring search, if given: at most `max` characters (a search term
/// longer than any stored value only costs a scan).
pub fn search(
    q: &HashMap<String, String>,
    name: &str,
    max: usize,
) -> Result<Option<String>, ApiError> {
    match param(q, name) {
        Some(v) if v.chars().count() > max => {
            let name = name.to_string();
            Err(invalid_field(move |l| {
                tr!(l, "error-field-too-long", name = &name, max = max)
            }))
        }
        v => Ok(v.map(str::to_string)),
    }
}

/// `YYYY-MM-DD` (UTC midnight) or an RFC 3339 time, as unix ms; a date given as `to` means the
/// end of that day.
pub fn time(
    q: &HashMap<String, String>,
    name: &str,
    end_of_day: bool,
) -> Result<Option<i64>, ApiError> {
    let Some(v) = param(q, name) else {
        return Ok(None);
    };
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let d = if end_of_day {
            d.succ_opt().unwrap_or(d)
        } else {
            d
        };
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis()));
    }
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| Some(t.timestamp_millis()))
        .map_err(|_| {
            let name = name.to_string();
            invalid_field(move |l| tr!(l, "error-field-not-a-time", name = &name))
        })
}

/// `?name=<one of allowed>`, if given.
pub fn one_of<'a>(
    q: &HashMap<String, String>,
    name: &str,
    allowed: &[&'a str],
) -> Result<Option<&'a str>, ApiError> {
    match param(q, name) {
        None => Ok(None),
        Some(v) => allowed
            .iter()
            .find(|a| **a == v)
            .copied()
            .map(Some)
            .ok_or_else(|| {
                let (name, allowed) = (name.to_string(), allowed.join(", "));
                invalid_field(move |l| {
                    tr!(
                        l,
                        "error-field-not-one-of",
                        name = &name,
                        allowed = &allowed
                    )
                })
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filters_parse_or_name_the_bad_field() {
        assert_eq!(flag(&q(&[("a", "true")]), "a").ok(), Some(Some(true)));
        assert_eq!(flag(&q(&[("a", " ")]), "a").ok(), Some(None));
        assert_eq!(
            flag(&q(&[("a", "yes")]), "a").err().map(|e| e.code()),
            Some("invalid_field")
        );
        assert_eq!(id(&q(&[("p", "7")]), "p").ok(), Some(Some(7)));
        assert!(id(&q(&[("p", "0")]), "p").is_err());
        assert!(id(&q(&[("p", "x")]), "p").is_err());
        assert_eq!(
            one_of(&q(&[("t", "cloud")]), "t", &["cloud", "gateway"]).ok(),
            Some(Some("cloud"))
        );
        assert!(one_of(&q(&[("t", "fax")]), "t", &["cloud", "gateway"]).is_err());
        assert!(search(&q(&[("s", "abcd")]), "s", 3).is_err());
        assert_eq!(
            search(&q(&[("s", " ab ")]), "s", 3).ok(),
            Some(Some("ab".to_string()))
        );
    }
}
