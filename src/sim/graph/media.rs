//! Media: uploads (`POST /{version}/{phone_number_id}/media`), media info (`GET /{version}/{id}`,
//! also a number's own record) and downloads (`GET /media-dl/{id}`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::messages::pre_checks;
use super::replies::{bearer, gerr, param_err, respond, token_err};
use super::{lock, Data, GraphState, Media};
use crate::sim::server::content_type;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The `file` part of a multipart body: (mime, bytes).
fn multipart_file(content_type: &str, body: &[u8]) -> Option<(String, Vec<u8>)> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delim = format!("--{boundary}");
    let mut rest = body;
    let mut segments = Vec::new();
    while let Some(i) = find(rest, delim.as_bytes()) {
        if i > 0 {
            segments.push(&rest[..i]);
        }
        rest = &rest[i + delim.len()..];
    }
    for seg in segments {
        let seg = seg.strip_prefix(b"\r\n").unwrap_or(seg);
        let seg = seg.strip_suffix(b"\r\n").unwrap_or(seg);
        let Some(h) = find(seg, b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&seg[..h]).to_string();
        if !headers.to_ascii_lowercase().contains("name=\"file\"") {
            continue;
        }
        let mime = headers
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-type")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        return Some((mime, seg[h + 4..].to_vec()));
    }
    None
}

pub(super) async fn upload_handler(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    data: Data,
) -> HttpResponse {
    let (_version, pnid) = path.into_inner();
    let rpath = req.path().to_string();
    if let Some(r) = pre_checks(&data).await {
        lock(&data).record("POST", &rpath, Some(&pnid), Value::Null, r.0);
        return respond(r);
    }
    let token = bearer(&req);
    let ct = content_type(&req).to_string();
    let mut st = lock(&data);
    let reply = match st.numbers.get(&pnid) {
        Some(n) if token.as_deref() == Some(n.access_token.as_str()) => {
            match multipart_file(&ct, &body) {
                Some((mime, bytes)) => {
                    st.seq += 1;
                    let id = format!("{}", 900_000_000_000u64 + st.seq);
                    st.media.insert(id.clone(), Media { mime, bytes });
                    (200, json!({ "id": id }))
                }
                None => param_err("(#100) The parameter file is required."),
            }
        }
        Some(_) | None => token_err(),
    };
    st.record("POST", &rpath, Some(&pnid), Value::Null, reply.0);
    drop(st);
    respond(reply)
}

fn token_known(st: &GraphState, token: Option<&str>) -> bool {
    token.is_some_and(|t| st.numbers.values().any(|n| n.access_token == t))
}

pub(super) async fn info_handler(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    data: Data,
) -> HttpResponse {
    let (_version, id) = path.into_inner();
    let rpath = req.path().to_string();
    if let Some(r) = pre_checks(&data).await {
        lock(&data).record("GET", &rpath, None, Value::Null, r.0);
        return respond(r);
    }
    let token = bearer(&req);
    let mut st = lock(&data);
    let reply = if let Some(n) = st.numbers.get(&id) {
        // `GET /{phone_number_id}`: the number itself, for its own token only.
        if token.as_deref() == Some(n.access_token.as_str()) {
            (
                200,
                json!({"display_phone_number": n.display_phone, "verified_name": "Sim Business",
                       "id": id, "quality_rating": "GREEN"}),
            )
        } else {
            token_err()
        }
    } else if !token_known(&st, token.as_deref()) {
        token_err()
    } else if let Some(m) = st.media.get(&id) {
        (
            200,
            json!({
                "messaging_product": "whatsapp",
                "url": format!("{}/media-dl/{id}", st.base),
                "mime_type": m.mime,
                "sha256": hex::encode(Sha256::digest(&m.bytes)),
                "file_size": m.bytes.len(),
                "id": id
            }),
        )
    } else {
        gerr(
            400,
            100,
            "GraphMethodException",
            &format!("Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
            Some(33),
        )
    };
    st.record("GET", &rpath, None, Value::Null, reply.0);
    drop(st);
    respond(reply)
}

pub(super) async fn download_handler(
    req: HttpRequest,
    path: web::Path<String>,
    data: Data,
) -> HttpResponse {
    let id = path.into_inner();
    let token = bearer(&req);
    let mut st = lock(&data);
    let rpath = req.path().to_string();
    let resp = if !token_known(&st, token.as_deref()) {
        st.record("GET", &rpath, None, Value::Null, 401);
        return respond(token_err());
    } else {
        st.media.get(&id).cloned()
    };
    match resp {
        Some(m) => {
            st.record("GET", &rpath, None, Value::Null, 200);
            HttpResponse::Ok().content_type(m.mime).body(m.bytes)
        }
        None => {
            st.record("GET", &rpath, None, Value::Null, 404);
            HttpResponse::NotFound().finish()
        }
    }
}
