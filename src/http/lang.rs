//! The reader's language for a request: its `Accept-Language` (English without one, or for a
//! language no catalogue holds; see `i18n::Lang::from_accept_language`).

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header::ACCEPT_LANGUAGE, FromRequest, HttpRequest};

use crate::i18n::Lang;

/// The language of the request's `Accept-Language`.
pub fn of_headers(headers: &actix_web::http::header::HeaderMap) -> Lang {
    headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|h| h.to_str().ok())
        .map_or_else(Lang::en, Lang::from_accept_language)
}

/// Extractor: the language a handler answers people in.
pub struct ReaderLang(pub Lang);

impl FromRequest for ReaderLang {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ReaderLang(of_headers(req.headers()))))
    }
}
