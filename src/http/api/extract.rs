//! What handlers take: a list's request, a JSON body, the one target a route names by `{id}`,
//! or a change only support makes, each with the state and the caller. Each extracts its parts as one tuple,
//! as a handler taking them separately would (same order, so the same error wins).

use std::collections::HashMap;

use actix_web::web;
use serde::de::DeserializeOwned;

use super::auth::Caller;
use crate::http::AppState;

/// Declares `FromRequest` for a type made from a tuple of extractors: the parts are extracted in
/// the tuple's order (the first failing one's error wins), bound to the pattern, then `make`
/// (which may `.await` and refuse with `?`) builds the value.
/// `from_parts! { impl [generics] for Type; (Parts, ...) as pattern => make }`.
macro_rules! from_parts {
    (impl $([$($generics:tt)*])? for $ty:ty; $parts_ty:ty as $parts:pat => $make:expr) => {
        impl $(<$($generics)*>)? actix_web::FromRequest for $ty {
            type Error = actix_web::Error;
            type Future = futures::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

            fn from_request(
                req: &actix_web::HttpRequest,
                payload: &mut actix_web::dev::Payload,
            ) -> Self::Future {
                let parts = <$parts_ty as actix_web::FromRequest>::from_request(req, payload);
                Box::pin(async move {
                    let $parts = parts.await?;
                    $make
                })
            }
        }
    };
}
pub(crate) use from_parts;

/// What a list handler takes: the state, the caller and the query. Paging is read from `q` with
/// [`super::page::Paging::of`] in the handler, after its role check, so that a caller without access
/// is told `403` whatever the query.
pub struct ListRequest {
    pub state: web::Data<AppState>,
    pub caller: Caller,
    pub q: HashMap<String, String>,
}

from_parts! {
    impl for ListRequest;
    (web::Data<AppState>, Caller, web::Query<HashMap<String, String>>) as (state, caller, q) =>
        Ok(Self { state, caller, q: q.into_inner() })
}

/// What a route that reads a JSON body takes (the body read last: a missing token is `401`
/// before a malformed body is `400`).
pub struct JsonRequest<T> {
    pub state: web::Data<AppState>,
    pub caller: Caller,
    pub body: T,
}

from_parts! {
    impl [T: DeserializeOwned + 'static] for JsonRequest<T>;
    (web::Data<AppState>, Caller, web::Json<T>) as (state, caller, body) =>
        Ok(Self { state, caller, body: body.into_inner() })
}

/// What a route on one `{id}` in its path takes.
pub struct ById {
    pub state: web::Data<AppState>,
    pub caller: Caller,
    pub id: i64,
}

from_parts! {
    impl for ById;
    (web::Data<AppState>, Caller, web::Path<i64>) as (state, caller, id) =>
        Ok(Self { state, caller, id: id.into_inner() })
}

/// A change only support staff make: the target's `{id}` from the path and the JSON body, read
/// first (a malformed body is `400` for anyone), then anyone else refused with `403`.
pub struct SupportChange<T> {
    pub state: web::Data<AppState>,
    pub caller: Caller,
    pub id: i64,
    pub body: T,
}

from_parts! {
    impl [T: DeserializeOwned + 'static] for SupportChange<T>;
    (ById, web::Json<T>) as (ById { state, caller, id }, body) => {
        caller.require_support()?;
        Ok(Self { state, caller, id, body: body.into_inner() })
    }
}
