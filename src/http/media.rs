//! `GET /media/{token}/{name}`: a stored file, for Bitrix24 (which downloads a customer's file
//! itself) and for the Web gateway (`sendFileByUrl`). No auth: the 64-hex-digit token is the
//! capability, and the link stops working when it expires.

use actix_web::{body::SizedStream, http::header, web, HttpResponse};

use super::{ApiError, AppState, ErrorCode};
use crate::{
    store::{self, export, media},
    tr,
};

pub async fn serve(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (token, _name) = path.into_inner();
    let not_found =
        || ApiError::not_found(ErrorCode::UnknownMedia, |l| tr!(l, "error-unknown-media"));
    if token.len() != 64 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    // The file's own link (given to Bitrix24 or a gateway), else an export's link to it, each
    // with its own expiry.
    let found = match media::by_token(&state.ctx.db, &token).await? {
        Some(m) => {
            let expires_at = m.expires_at;
            Some((m, expires_at))
        }
        None => export::by_link(&state.ctx.db, &token).await?,
    };
    let (m, expires_at) = found
        .filter(|(m, _)| m.state == media::STORED)
        .ok_or_else(not_found)?;
    if expires_at < store::now_ms() {
        return Err(ApiError::gone(ErrorCode::MediaExpired, |l| {
            tr!(l, "error-media-expired")
        }));
    }
    let stream = state
        .ctx
        .media
        .stream(&m.storage_key)
        .await
        .map_err(|e| ApiError::Internal(format!("media {} unreadable: {e}", m.id)))?;
    let mime = if m.mime.is_empty() {
        "application/octet-stream".to_string()
    } else {
        m.mime.clone()
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime))
        .insert_header(header::ContentDisposition {
            disposition: header::DispositionType::Attachment,
            parameters: disposition_names(&m.file_name),
        })
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(SizedStream::new(m.size.max(0) as u64, stream)))
}

/// `filename=` for old clients (ASCII: other characters as `_`) and, when the name is not plain
/// ASCII, `filename*=UTF-8''…` (RFC 6266), which browsers and Bitrix24 prefer.
fn disposition_names(name: &str) -> Vec<header::DispositionParam> {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut params = vec![header::DispositionParam::Filename(ascii)];
    if !name.is_ascii() {
        params.push(header::DispositionParam::FilenameExt(
            header::ExtendedValue {
                charset: header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: name.as_bytes().to_vec(),
            },
        ));
    }
    params
}
