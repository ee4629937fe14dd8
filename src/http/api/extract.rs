//! What handlers take: a list's request, a JSON body, the one target a route names by `{id}`,
//! or a change only support makes, each with the state and the caller. Each extracts its parts as one tuple,
//! as a handler taking them separately would (same order, so the same error wins).

use std::collections::HashMap;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::auth::Caller;
use crate::http::AppState;

/// What a list handler takes: the state, the caller and the query. Paging is read from `q` with
/// [`super::page::Paging::of`] in the handler, after its role check, so that a caller without access
/// is told `403` whatever the query.
pub struct ListRequest {
    pub state: web::Data<AppState>,
    pub caller: Caller,
    pub q: HashMap<String, String>,
}

impl FromRequest for ListRequest {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parts = <(
            web::Data<AppState>,
            Caller,
            web::Query<HashMap<String, String>>,
        )>::from_request(req, payload);
        Box::pin(async move {
            let (state, caller, q) = parts.await?;
            Ok(Self {
                state,
                caller,
                q: q.into_inner(),
            })
        })
    }
}

/// What a route that reads a JSON body takes (the body read last: a missing token is `401`
/// before a malformed body is `400`).
pub struct JsonRequest<T> {
    pub state: web::Data<AppState>,
    pub caller: Caller,
    pub body: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonRequest<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parts = <(web::Data<AppState>, Caller, web::Json<T>)>::from_request(req, payload);
        Box::pin(async move {
            let (state, caller, body) = parts.await?;
            Ok(Self {
                state,
                caller,
                body: body.into_inner(),
            })
        })
    }
}

/// What a route on one `{id}` in its path takes.
pub struct ById {
    pub state: web::Data<AppState>,
    pub caller: Caller,
    pub id: i64,
}

impl FromRequest for ById {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parts = <(web::Data<AppState>, Caller, web::Path<i64>)>::from_request(req, payload);
        Box::pin(async move {
            let (state, caller, id) = parts.await?;
            Ok(Self {
                state,
                caller,
                id: id.into_inner(),
            })
        })
    }
}

/// A change only support staff make: the target's `{id}` from the path and the JSON body, read
/// first (a malformed body is `400` for anyone), then anyone else refused with `403`.
pub struct SupportChange<T> {
    pub state: web::Data<AppState>,
    pub caller: Caller,
    pub id: i64,
    pub body: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for SupportChange<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parts = <(ById, web::Json<T>)>::from_request(req, payload);
        Box::pin(async move {
            let (ById { state, caller, id }, body) = parts.await?;
            caller.require_support()?;
            Ok(Self {
                state,
                caller,
                id,
                body: body.into_inner(),
            })
        })
    }
}
