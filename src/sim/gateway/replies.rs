//! The gateway's answers (JSON, plain text, empty) and the validation of request bodies.

use actix_web::HttpResponse;

use super::*;
use crate::sim::server::status_code;

pub(super) enum Reply {
    Json(u16, Value),
    Text(u16, String),
    Empty,
}

impl Reply {
    pub(super) fn status(&self) -> u16 {
        match self {
            Reply::Json(s, _) | Reply::Text(s, _) => *s,
            Reply::Empty => 200,
        }
    }

    pub(super) fn into_response(self) -> HttpResponse {
        let code = status_code;
        match self {
            Reply::Json(s, v) => HttpResponse::build(code(s)).json(v),
            Reply::Text(s, t) => HttpResponse::build(code(s))
                .content_type("text/plain; charset=utf-8")
                .body(t),
            Reply::Empty => HttpResponse::Ok().finish(),
        }
    }
}

pub(super) fn text(status: u16, msg: impl Into<String>) -> Reply {
    Reply::Text(status, msg.into())
}

pub(super) fn invalid(detail: impl std::fmt::Display) -> Reply {
    text(400, format!("Validation failed. Details: {detail}"))
}

pub(super) fn ok_json(v: Value) -> Reply {
    Reply::Json(200, v)
}

pub(super) fn fault_reply(f: &GatewayFault, method: &str) -> Option<Reply> {
    match f {
        GatewayFault::Http5xx => Some(text(502, "Bad Gateway")),
        GatewayFault::RateLimited => Some(text(429, "Too Many Requests")),
        GatewayFault::QuotaExceeded => Some(Reply::Json(
            466,
            json!({"invokeStatus": {
                "method": method,
                "status": "QUOTE_ALLOWED_EXCEEDED",
                "description": "The plan's monthly quota for this method has been exceeded"
            }}),
        )),
        GatewayFault::NotAuthorized => Some(text(400, "instance account not authorized")),
        GatewayFault::Custom(s, t) => Some(text(*s, t.clone())),
        GatewayFault::Timeout(_) => None,
    }
}

pub(super) type Obj = Map<String, Value>;

pub(super) fn opt_str(b: &Obj, k: &str) -> Result<Option<String>, Reply> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("'{k}' must be a string"))),
    }
}

pub(super) fn req_str(b: &Obj, k: &str) -> Result<String, Reply> {
    match opt_str(b, k)? {
        None => Err(invalid(format!("'{k}' is required"))),
        Some(s) if s.is_empty() => Err(invalid(format!("'{k}' is not allowed to be empty"))),
        Some(s) => Ok(s),
    }
}

/// A text or caption of at most [`TEXT_LIMIT`] characters.
pub(super) fn within_text_limit(field: &str, s: &str) -> Result<(), Reply> {
    if s.chars().count() > TEXT_LIMIT {
        return Err(invalid(format!(
            "'{field}' length must be less than or equal to {TEXT_LIMIT} characters"
        )));
    }
    Ok(())
}

pub(super) fn valid_chat_id(c: &str) -> bool {
    c.strip_suffix("@c.us")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

pub(super) fn chat_id_of(b: &Obj) -> Result<String, Reply> {
    let c = req_str(b, "chatId")?;
    if valid_chat_id(&c) {
        Ok(c)
    } else {
        Err(invalid(format!(
            "'chatId' must be a person's chat id like 79001234567@c.us, got '{c}'"
        )))
    }
}

pub(super) fn digits(s: &str) -> String {
    s.split('@')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect()
}

pub(super) fn chat_of(from: &str) -> String {
    format!("{}@c.us", digits(from))
}

pub(super) fn extension(file_name: &str) -> Option<String> {
    let (stem, ext) = file_name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| ext.to_ascii_lowercase())
}

pub(super) fn kind_by_extension(file_name: &str) -> &'static str {
    match extension(file_name).as_deref() {
        Some("jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp") => "image",
        Some("mp4" | "3gp" | "mov" | "avi" | "mkv" | "webm") => "video",
        Some("mp3" | "ogg" | "oga" | "opus" | "aac" | "m4a" | "amr" | "wav") => "audio",
        _ => "document",
    }
}

pub(super) fn new_out_id() -> String {
    format!("BAE5{}", random_hex(6).to_uppercase())
}

pub(super) fn new_in_id() -> String {
    random_hex(16).to_uppercase()
}

pub(super) fn verb_of(method: &str) -> Option<&'static str> {
    match method {
        "getStateInstance" | "qr" | "getSettings" => Some("GET"),
        "setSettings" | "logout" | "reboot" | "sendMessage" | "sendFileByUrl" | "editMessage"
        | "deleteMessage" | "readChat" | "downloadFile" | "getAvatar" => Some("POST"),
        _ => None,
    }
}

/// Sends need a linked session.
pub(super) fn ready(st: &GatewayState, instance: u64) -> Result<String, Reply> {
    let state = st.instance(instance).state.clone();
    match state.as_str() {
        s if is_linked(s) => Ok(state),
        "starting" => Err(text(400, "instance in starting process try later")),
        _ => Err(text(400, "instance account not authorized")),
    }
}
